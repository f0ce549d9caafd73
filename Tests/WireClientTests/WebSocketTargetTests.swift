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

    @Test("wss:// and https:// speak TLS, on 443 unless a port is given")
    func tlsSchemes() throws {
        let secure = try WebSocketTarget(parsing: "wss://example.com/ws/echo", lab: nil)
        #expect(secure.secure && secure.port == 443 && secure.hostHeader == "example.com")
        #expect(secure.description == "wss://example.com/ws/echo")
        let https = try WebSocketTarget(parsing: "https://localhost:8443/events", lab: nil)
        #expect(https.secure && https.port == 8443 && https.hostHeader == "localhost:8443")
        let plain = try WebSocketTarget(parsing: "ws://example.com:443/x", lab: nil)
        #expect(!plain.secure && plain.hostHeader == "example.com:443", "443 is only the default for TLS")
        #expect(throws: WebSocketTarget.BadURL.self) { try WebSocketTarget(parsing: "ftp://example.com/", lab: nil) }
    }
}
