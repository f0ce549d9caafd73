import Foundation
import LabServer
import NIOConcurrencyHelpers
import Testing
import WireProtocol

/// The auth endpoint: `POST /auth/token`, `/ws?token=…` (checked before the upgrade) and
/// `/ws/secure` (the first message authenticates).
@Suite struct AuthEndpointTests {
    /// Sends an upgrade for `path` over a raw socket. - Returns: the status line and the body of
    /// a refusal, read as bytes, and everything that came back.
    static func refusedUpgrade(port: Int, path: String) async throws -> (statusLine: String, body: String, raw: String) {
        let connection = try await RawConnection(port: port)
        defer { Task { await connection.close() } }
        let head = try #require(try await connection.upgrade(path), "no response head for \(path)")
        let length = head.contentLength ?? 0
        let all = await connection.waitFor { bytes in
            guard case .head(_, let consumed) = HTTPHead.parse(bytes) else { return false }
            return bytes.count - consumed >= length
        }
        let body = Array(all[head.byteCount...].prefix(length))
        return (head.lines.first ?? "", String(decoding: body, as: UTF8.self), String(decoding: all, as: UTF8.self))
    }

    /// The refusal must be a 401 with a reason, and nothing that looks like a 101.
    static func expectUnauthorized(
        port: Int, path: String, mentioning reason: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let refusal = try await refusedUpgrade(port: port, path: path)
        #expect(refusal.statusLine == "HTTP/1.1 401 Unauthorized", "\(refusal.raw)", sourceLocation: sourceLocation)
        #expect(!refusal.raw.contains(" 101 ") && !refusal.raw.contains("Switching Protocols"), "\(refusal.raw)", sourceLocation: sourceLocation)
        #expect(!refusal.raw.lowercased().contains("sec-websocket-accept"), "\(refusal.raw)", sourceLocation: sourceLocation)
        #expect(refusal.body.hasPrefix("Not authenticated: "), "\(refusal.raw)", sourceLocation: sourceLocation)
        #expect(refusal.body.contains(reason), "expected the reason to mention \"\(reason)\": \(refusal.body)", sourceLocation: sourceLocation)
    }

    /// A token whose signature has one character changed in the middle (so the decoded bytes
    /// surely change, unlike the last base64url character).
    static func tampered(_ token: String) -> String {
        var parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var signature = Array(parts[2])
        let middle = signature.count / 2
        signature[middle] = signature[middle] == "A" ? "B" : "A"
        parts[2] = String(signature)
        return parts.joined(separator: ".")
    }

    // MARK: POST /auth/token

    @Test func loginGivesABearerTokenForAnHour() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        for (user, password) in [("alice", "wonderland"), ("bob", "builder"), ("admin", "admin")] {
            let answer = try await httpRequest("POST", "/auth/token", port: port, body: JSON.obj(("username", .string(user)), ("password", .string(password))).text)
            #expect(answer.status == 200, "\(answer)")
            #expect(answer.contentType == "application/json", "\(answer)")
            let json = try #require(answer.json, "\(answer)")
            #expect(json.keys == ["access_token", "token_type", "expires_in", "user"], "\(json.text)")
            #expect(json["token_type"] == "bearer")
            #expect(json["expires_in"] == 3600)
            #expect(json["user"] == .string(user))
            let token = try #require(json["access_token"]?.stringValue)
            #expect(token.split(separator: ".", omittingEmptySubsequences: false).count == 3, "a JWT has three parts: \(token)")
            // The lab itself accepts it, for the right user.
            let verified = await lab.context.auth.verify(token)
            #expect(try verified.get().name == user)
        }
    }

    @Test func aWrongPasswordOrUnknownUserIs401() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        for body in [JSON.obj(("username", "alice"), ("password", "builder")), .obj(("username", "mallory"), ("password", "x")), .obj(("username", "ALICE"), ("password", "wonderland"))] {
            let answer = try await httpRequest("POST", "/auth/token", port: port, body: body.text)
            #expect(answer.status == 401, "\(body.text): \(answer)")
            #expect(answer.contentType == "application/json", "\(answer)")
            #expect(answer.json?.keys == ["type", "error"], "\(answer)")
            #expect(answer.json?["type"] == "error", "\(answer)")
            #expect(answer.json?["access_token"] == nil)
        }
    }

    @Test func missingFieldsAre400() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        for body in [#"{"username":"alice"}"#, #"{"password":"wonderland"}"#, "{}", #"{"username":"alice","password":1}"#, "[1]", "not json"] {
            let answer = try await httpRequest("POST", "/auth/token", port: port, body: body)
            #expect(answer.status == 400, "\(body): \(answer)")
            #expect(answer.json?["type"] == "error", "\(body): \(answer)")
        }
        let noBody = try await httpRequest("POST", "/auth/token", port: port)
        #expect(noBody.status == 400, "\(noBody)")
    }

    // MARK: /ws?token=…

    @Test func aGoodTokenUpgradesAndMessagesComeBackSigned() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let token = try await Shop.login("alice", port: port)
        let connection = try await RawConnection(port: port)
        let head = try #require(try await connection.upgrade("/ws?token=\(token)"))
        #expect(head.lines.first == "HTTP/1.1 101 Switching Protocols")
        await connection.close()

        let client = try await JSONClient.connect(port: port, path: "/ws?token=\(token)")
        try await client.send(.obj(("msg", "hi")))
        let reply = try await client.next()
        #expect(reply.keys == ["from", "data", "timestamp"], "\(reply.text)")
        #expect(reply.removing("timestamp") == .obj(("from", "alice"), ("data", .obj(("msg", "hi")))))
        #expect(isISOTimestamp(reply["timestamp"]), "\(reply.text)")
        // Any JSON value is data, and not-JSON gets an error without closing.
        try await client.sendText("[1,2]")
        #expect(try await client.next()["data"] == [1, 2])
        try await client.sendText("not json")
        #expect(try await client.next()["type"] == "error")
        try await client.send(.obj(("n", 3)))
        #expect(try await client.next()["data"] == .obj(("n", 3)))
        await client.close()
    }

    @Test func aMissingOrEmptyTokenIs401BeforeTheUpgrade() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        try await Self.expectUnauthorized(port: port, path: "/ws", mentioning: "no token")
        try await Self.expectUnauthorized(port: port, path: "/ws?token=", mentioning: "no token")
        try await Self.expectUnauthorized(port: port, path: "/ws?other=1", mentioning: "no token")
        #expect(lab.context.connections.count == 0)
    }

    @Test func aMalformedTokenIs401() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        for token in ["abc", "a.b.c", "not-a-jwt-at-all", "eyJhbGciOiJIUzI1NiJ9"] {
            try await Self.expectUnauthorized(port: port, path: "/ws?token=\(token)", mentioning: "not a JWT")
        }
    }

    @Test func aTokenSignedByAnotherLabIs401() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let (other, otherPort) = try await startLab()
        defer { Task { await other.stop() } }
        let foreign = try await Shop.login("alice", port: otherPort)
        try await Self.expectUnauthorized(port: port, path: "/ws?token=\(foreign)", mentioning: "signature does not match")
        // The same token is fine where it was made.
        let client = try await JSONClient.connect(port: otherPort, path: "/ws?token=\(foreign)")
        await client.close()
    }

    @Test func anAlteredSignatureIs401() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let token = try await Shop.login("alice", port: port)
        try await Self.expectUnauthorized(port: port, path: "/ws?token=\(Self.tampered(token))", mentioning: "signature does not match")
    }

    @Test func anAlteredPayloadIs401() async throws {
        // alice's token with the payload swapped for admin's: the signature no longer matches.
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port).split(separator: ".").map(String.init)
        let admin = try await Shop.login("admin", port: port).split(separator: ".").map(String.init)
        let forged = [alice[0], admin[1], alice[2]].joined(separator: ".")
        try await Self.expectUnauthorized(port: port, path: "/ws?token=\(forged)", mentioning: "signature does not match")
    }

    @Test func aTokenExpiresWhenTheLabsClockPassesItsExpiry() async throws {
        let now = NIOLockedValueBox(Date(timeIntervalSince1970: 1_790_000_000))
        let (lab, port) = try await startLab { $0.clock = LabClock { now.withLockedValue { $0 } } }
        defer { Task { await lab.stop() } }
        let token = try await Shop.login("bob", port: port)

        now.withLockedValue { $0 += 3599 }
        let stillValid = try await JSONClient.connect(port: port, path: "/ws?token=\(token)")
        try await stillValid.send(.obj(("msg", "just in time")))
        #expect(try await stillValid.next()["from"] == "bob")
        await stillValid.close()

        now.withLockedValue { $0 += 2 }
        try await Self.expectUnauthorized(port: port, path: "/ws?token=\(token)", mentioning: "expired")
        #expect(await lab.context.auth.verify(token) == .failure(.expired(at: Date(timeIntervalSince1970: 1_790_000_000 + 3600))))
    }

    @Test func aTokenIssuedWithANegativeLifetimeIsExpired() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try #require(lab.context.auth.user(named: "alice"))
        let token = try await lab.context.auth.issue(for: alice, lifetime: -60)
        try await Self.expectUnauthorized(port: port, path: "/ws?token=\(token)", mentioning: "expired")
        try await Self.expectUnauthorized(port: port, path: "/ws/notifications?token=\(token)", mentioning: "expired")
        let events = try await httpRequest("GET", "/events?token=\(token)", port: port)
        #expect(events.status == 401, "\(events)")
    }

    // MARK: /ws/secure

    @Test func secureAuthenticatesWithTheFirstMessage() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let token = try await Shop.login("bob", port: port)
        let client = try await JSONClient.connect(port: port, path: "/ws/secure")
        try await client.send(.obj(("type", "auth"), ("token", .string(token))))
        let ok = try await client.next()
        #expect(ok == .obj(("type", "auth_ok"), ("user", "bob")), "\(ok.text)")
        try await client.send(.obj(("msg", "hello")))
        let reply = try await client.next()
        #expect(reply.keys == ["from", "data", "timestamp"], "\(reply.text)")
        #expect(reply.removing("timestamp") == .obj(("from", "bob"), ("data", .obj(("msg", "hello")))))
        #expect(isISOTimestamp(reply["timestamp"]))
        await client.close()
    }

    @Test func secureStaysOpenPastTheTimeoutOnceAuthenticated() async throws {
        // Long enough for the auth exchange on a machine busy with the whole suite (300 ms was not).
        let (lab, port) = try await startLab { $0.limits.authTimeout = .seconds(2) }
        defer { Task { await lab.stop() } }
        let token = try await Shop.login("alice", port: port)
        let client = try await JSONClient.connect(port: port, path: "/ws/secure")
        try await client.send(.obj(("type", "auth"), ("token", .string(token))))
        #expect(try await client.next()["type"] == "auth_ok")
        try await Task.sleep(for: .milliseconds(2500))
        #expect(client.closeCode == nil, "closed with \(client.closeCode.map(String.init) ?? "")")
        try await client.send(.obj(("still", "here")))
        #expect(try await client.next()["from"] == "alice")
        await client.close()
    }

    @Test func secureClosesWith1008WhenTheFirstMessageIsNotAuth() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let token = try await Shop.login("alice", port: port)
        for first in [#"{"type":"hello"}"#, "hello", #"{"token":"\#(token)"}"#, #"{"type":"AUTH","token":"\#(token)"}"#] {
            let client = try await JSONClient.connect(port: port, path: "/ws/secure")
            try await client.sendText(first)
            let error = try await client.next()
            #expect(error["type"] == "error", "\(first): \(error.text)")
            #expect(await client.waitForClose() == 1008, "\(first)")
            #expect(client.closeReason.contains("first message must be"), "\(first): \(client.closeReason)")
            #expect(!client.received.contains { $0.contains("auth_ok") })
            await client.close()
        }
    }

    @Test func secureClosesWith1008ForABadToken() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let (other, otherPort) = try await startLab()
        defer { Task { await other.stop() } }
        let foreign = try await Shop.login("alice", port: otherPort)
        let expired = try await lab.context.auth.issue(for: try #require(lab.context.auth.user(named: "alice")), lifetime: -1)
        let cases: [(token: JSON, words: String)] = [
            (.string(foreign), "signature"), (.string(Self.tampered(try await Shop.login("bob", port: port))), "signature"),
            (.string(expired), "expired"), (.string("abc"), "not a JWT"), (.null, "no token"), (.string(""), "no token"),
        ]
        for (token, words) in cases {
            let client = try await JSONClient.connect(port: port, path: "/ws/secure")
            try await client.send(.obj(("type", "auth"), ("token", token)))
            let error = try await client.next()
            #expect(error["type"] == "error", "\(token.text): \(error.text)")
            #expect(error["error"]?.stringValue?.contains(words) == true, "\(token.text): \(error.text)")
            #expect(await client.waitForClose() == 1008, "\(token.text)")
            #expect(!client.closeReason.isEmpty, "a 1008 close says why")
            #expect(client.closeReason.utf8.count <= 123, "a close reason fits a control frame")
            await client.close()
        }
    }

    @Test func secureClosesWith1008WhenNoAuthMessageComesInTime() async throws {
        let (lab, port) = try await startLab { $0.limits.authTimeout = .milliseconds(300) }
        defer { Task { await lab.stop() } }
        let client = try await JSONClient.connect(port: port, path: "/ws/secure")
        #expect(await client.waitForClose(timeout: .seconds(5)) == 1008)
        #expect(client.closeReason == "authentication timeout", "\(client.closeReason)")
        #expect(client.received.first.flatMap { try? JSON(parsing: $0) }?["type"] == "error", "\(client.received)")
        await client.close()
    }
}
