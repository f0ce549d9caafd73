import LabServer
import Logging
import NIOConcurrencyHelpers
import Testing
import WireProtocol

/// Refused handshakes carry their real status on the wire, with a body that says why.
@Suite struct RefusedUpgradeTests {
    func response(to request: String, lab port: Int) async throws -> (status: String, head: HTTPHead?, body: String) {
        let connection = try await RawConnection(port: port)
        try await connection.write(request)
        let all = await connection.waitFor { _ in false }  // the lab closes after a refusal
        guard case .head(let head, let consumed) = HTTPHead.parse(all) else { return ("", nil, "") }
        return (head.lines.first ?? "", head, String(decoding: all[consumed...], as: UTF8.self))
    }

    func upgradeRequest(_ path: String, method: String = "GET", version: String? = "13", key: String? = Handshake.sampleKey) -> String {
        "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + (key.map { "Sec-WebSocket-Key: \($0)\r\n" } ?? "") + (version.map { "Sec-WebSocket-Version: \($0)\r\n" } ?? "") + "\r\n"
    }

    @Test func unknownPathIs404AndListsTheEndpoints() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let (status, head, body) = try await response(to: upgradeRequest("/ws/nope/deeper"), lab: port)
        #expect(status == "HTTP/1.1 404 Not Found")
        #expect(head?.contentLength == body.utf8.count)
        #expect(body.contains("No WebSocket endpoint at /ws/nope/deeper"))
        #expect(body.contains("/ws/echo"))
    }

    @Test func switchedOffEndpointIs503() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        try lab.registry.setEnabled("echo", false)
        let (status, _, body) = try await response(to: upgradeRequest("/ws/echo"), lab: port)
        #expect(status == "HTTP/1.1 503 Service Unavailable")
        #expect(body.contains("echo endpoint is switched off"))
    }

    @Test func wrongVersionIs426WithTheSupportedVersion() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let (status, head, _) = try await response(to: upgradeRequest("/ws/echo", version: "8"), lab: port)
        #expect(status == "HTTP/1.1 426 Upgrade Required")
        #expect(head?.field("Sec-WebSocket-Version") == "13")
    }

    @Test(arguments: [(nil as String?, "exactly one Sec-WebSocket-Key"), ("abc", "16 bytes in base64")])
    func missingOrBadKeyIs400(_ key: String?, _ reason: String) async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let (status, _, body) = try await response(to: upgradeRequest("/ws/echo", key: key), lab: port)
        #expect(status == "HTTP/1.1 400 Bad Request")
        #expect(body.contains(reason))
    }

    @Test func postUpgradeIs405() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let (status, head, _) = try await response(to: upgradeRequest("/ws/echo", method: "POST"), lab: port)
        #expect(status == "HTTP/1.1 405 Method Not Allowed")
        #expect(head?.field("Allow") == "GET")
    }

    @Test func plainGetOfWebSocketPathIs426AndUnknownPathIs404() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let connection = try await RawConnection(port: port)
        try await connection.write("GET /ws/echo HTTP/1.1\r\nHost: x\r\n\r\n")
        let first = await connection.readHead()
        #expect(first.head?.status == 426)
        let wsConnection = try await RawConnection(port: port)
        try await wsConnection.write("GET /elsewhere HTTP/1.1\r\nHost: x\r\n\r\n")
        let all = await wsConnection.waitFor { bytes in String(decoding: bytes, as: UTF8.self).contains("/ws/echo") }
        let text = String(decoding: all, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(text.contains("Nothing at /elsewhere"))
        await connection.close()
        await wsConnection.close()
    }

    /// NIO's parser refuses these before any upgrade handler sees a request; Hummingbird would
    /// then wait for that request for ever, with the connection open.
    @Test(arguments: ["garbage\r\n\r\n", "GET /ws/echo HTTP/9.9\r\nHost: x\r\n\r\n", "GET /ws/echo HTTP/1.1\r\nBad Header\r\n\r\n"])
    func aRequestThatIsNotHTTPGets400AndTheConnectionEnds(_ request: String) async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let connection = try await RawConnection(port: port)
        try await connection.write(request)
        let (head, _) = await connection.readHead()
        #expect(head?.status == 400, "\(String(decoding: connection.bytes, as: UTF8.self).debugDescription)")
        let text = String(decoding: await connection.waitFor { String(decoding: $0, as: UTF8.self).hasSuffix("CR LF.\n") }, as: UTF8.self)
        #expect(text.contains("could not be read as HTTP/1.1"), "\(text)")
        #expect(await eventually { connection.isClosed }, "the lab closes the connection")
    }

    @Test func aTLSHandshakeOnThePlainPortIsNamedInTheLog() async throws {
        let records = NIOLockedValueBox<[RecordingLogHandler.Record]>([])
        let (lab, port) = try await startLab { $0.logger = Logger(label: "test") { _ in RecordingLogHandler(records: records) } }
        defer { Task { await lab.stop() } }
        let connection = try await RawConnection(port: port)
        // The start of a TLS 1.2 ClientHello record: handshake (0x16), version 3.1, a length.
        try await connection.write([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03] + Array(repeating: 0, count: 32))
        #expect(await eventually { connection.isClosed }, "the lab answers 400 and closes")
        #expect(records.withLockedValue { $0 }.contains { $0.message.hasPrefix("a TLS handshake arrived (first byte 0x16)") })
    }
}
