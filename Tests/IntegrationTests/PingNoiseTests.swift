import NIOConcurrencyHelpers
import Testing
import WireClient

@testable import WirelabREPL

@Suite("the server's pings do not drown the lesson")
struct PingNoiseTests {
    static let request = "GET /ws/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    static let response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    /// A server ping with "hi", and the client's masked pong (key 37 fa 21 3d) answering it.
    static let ping: [UInt8] = [0x89, 0x02, 0x68, 0x69]
    static let pong: [UInt8] = [0x8A, 0x82, 0x37, 0xFA, 0x21, 0x3D, 0x68 ^ 0x37, 0x69 ^ 0xFA]

    /// The lines a client prints for the server's ping and its pong, after the handshake.
    func linesForPing(shown: Bool) throws -> [String] {
        let settings = SharedSettings()
        settings.pingsShown = shown
        let printed = NIOLockedValueBox<[String]>([])
        let connection = ClientConnection(
            name: "c1", target: try WebSocketTarget(parsing: "ws://127.0.0.1:1/ws/echo", lab: nil), requestKey: "dGhlIHNhbXBsZSBub25jZQ==",
            style: Styler(enabled: false), settings: settings, emit: { lines in printed.withLockedValue { $0 += lines } }
        )
        connection.observe(.bytes(.up, Array(Self.request.utf8)))
        connection.observe(.bytes(.down, Array(Self.response.utf8)))
        printed.withLockedValue { $0 = [] }
        connection.observe(.bytes(.down, Self.ping))
        connection.observe(.bytes(.up, Self.pong))
        return printed.withLockedValue { $0 }
    }

    @Test("by default one line for the ping, none for the automatic pong")
    func quiet() throws {
        let lines = try linesForPing(shown: false)
        #expect(lines.count == 1, "\(lines)")
        #expect(lines.first?.contains("ping from the server · 2 bytes of payload · answered with a pong") == true, "\(lines)")
    }

    @Test("set pings shown: both frames, every bit")
    func shown() throws {
        let lines = try linesForPing(shown: true)
        #expect(lines.contains { $0.contains("ping frame") }, "\(lines)")
        #expect(lines.contains { $0.contains("pong frame") }, "\(lines)")
        #expect(lines.count > 6)
    }
}
