import Testing
import WireClient

@Suite("where a client connects")
struct WebSocketTargetTests {
    @Test("a path typed with characters a request line cannot carry goes percent-encoded, as a browser sends it")
    func percentEncoding() throws {
        let lab = (host: "127.0.0.1", port: 8000)
        let wide = try WebSocketTarget(parsing: "/ws/chat/日本", lab: lab)
        #expect(wide.path == "/ws/chat/%E6%97%A5%E6%9C%AC")
        #expect(wide.typedPath == "/ws/chat/日本")
        let spaced = try WebSocketTarget(parsing: "ws://example.com:9000/ws/room/big room/ann?x=a b", lab: nil)
        #expect(spaced.path == "/ws/room/big%20room/ann?x=a%20b")
        #expect(spaced.host == "example.com" && spaced.port == 9000)
        let plain = try WebSocketTarget(parsing: "/ws/chat/ann?token=a.b-c_d~e%20f", lab: lab)
        #expect(plain.path == "/ws/chat/ann?token=a.b-c_d~e%20f", "printable ASCII and escapes already there are kept")
        #expect(plain.typedPath == nil)
        #expect(WebSocketTarget.percentEncoded("\u{7F}\t") == "%7F%09")
        #expect(WebSocketTarget.percentEncoded(wide.path) == wide.path, "encoding twice changes nothing")
    }
}
