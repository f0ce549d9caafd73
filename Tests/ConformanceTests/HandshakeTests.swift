import Testing
import WireProtocol

/// RFC 6455 §4.2: an opening handshake the server cannot accept is refused with an HTTP status
/// that says why, and no 101; the server then closes the connection.
@Suite("Handshake") struct HandshakeTests {
    /// Sends `request` on a fresh connection and checks a refusal: the status, a body saying
    /// why, and the connection closed by the server.
    func expectRefusal(_ request: String, status: Int, port: Int) async throws -> HTTPHead {
        let (head, body, serverClosed) = try await RawHTTP.exchange(request, port: port)
        #expect(head.status == status, "\(head.lines.first ?? "")")
        #expect(!body.isEmpty, "a refusal should say why")
        #expect(serverClosed, "the server should close the connection after refusing")
        return head
    }

    @Test("without Sec-WebSocket-Key: 400", arguments: Target.allCases)
    func missingKey(_ target: Target) async throws {
        let lab = try await Labs.shared.lab(.standard)
        let path = try await target.path(for: "conf\(SessionNumbers.next())", on: lab)
        _ = try await expectRefusal(RawHTTP.upgradeRequest(path: path, key: nil, port: lab.port), status: 400, port: lab.port)
    }

    @Test("a Sec-WebSocket-Key that is not 16 bytes in base64: 400", arguments: Target.allCases)
    func badKey(_ target: Target) async throws {
        let lab = try await Labs.shared.lab(.standard)
        let path = try await target.path(for: "conf\(SessionNumbers.next())", on: lab)
        _ = try await expectRefusal(RawHTTP.upgradeRequest(path: path, key: "c2hvcnQ=", port: lab.port), status: 400, port: lab.port)
    }

    @Test("another version, or none: 426 with Sec-WebSocket-Version: 13", arguments: Target.allCases, ["8", "14", nil])
    func wrongVersion(_ target: Target, version: String?) async throws {
        let lab = try await Labs.shared.lab(.standard)
        let path = try await target.path(for: "conf\(SessionNumbers.next())", on: lab)
        let head = try await expectRefusal(RawHTTP.upgradeRequest(path: path, port: lab.port, version: version), status: 426, port: lab.port)
        #expect(head.field("Sec-WebSocket-Version") == "13")
        // RFC 9110 §15.5.22 and §7.8: a 426 says what to upgrade to, and lists Upgrade in Connection.
        #expect(head.field("Upgrade") == "websocket")
        #expect(head.field("Connection") == "Upgrade, close")
    }

    @Test("POST instead of GET: 405 with Allow: GET", arguments: Target.allCases)
    func wrongMethod(_ target: Target) async throws {
        let lab = try await Labs.shared.lab(.standard)
        let path = try await target.path(for: "conf\(SessionNumbers.next())", on: lab)
        let head = try await expectRefusal(RawHTTP.upgradeRequest(path: path, port: lab.port, method: "POST"), status: 405, port: lab.port)
        #expect(head.field("Allow") == "GET")
    }

    @Test("without Connection: Upgrade: 400", arguments: Target.allCases)
    func missingConnectionUpgrade(_ target: Target) async throws {
        let lab = try await Labs.shared.lab(.standard)
        let path = try await target.path(for: "conf\(SessionNumbers.next())", on: lab)
        _ = try await expectRefusal(RawHTTP.upgradeRequest(path: path, port: lab.port, connection: "keep-alive"), status: 400, port: lab.port)
    }

    @Test("an unknown path: 404", arguments: ["/ws/nope/deeper", "/ws/echo/extra", "/ws/room/only-one", "/nowhere", "/ws/jobs/999999"])
    func unknownPath(_ path: String) async throws {
        let lab = try await Labs.shared.lab(.standard)
        _ = try await expectRefusal(RawHTTP.upgradeRequest(path: path, port: lab.port), status: 404, port: lab.port)
    }
}
