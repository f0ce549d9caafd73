import Foundation
import NIOConcurrencyHelpers
import Testing
import WireProtocol

@testable import LabServer

/// Authentication over time: failures throttled per address, and a connection that does not
/// outlive its token.
@Suite("auth limits")
struct AuthLimitsTests {
    static func login(_ user: String, _ password: String, port: Int) async throws -> HTTPAnswer {
        try await httpRequest("POST", "/auth/token", port: port, body: JSON.obj(("username", .string(user)), ("password", .string(password))).text)
    }

    @Test("after N failures from an address, logins and token checks get 429 with Retry-After until the window moves on")
    func failuresAreThrottled() async throws {
        let now = NIOLockedValueBox(Date(timeIntervalSince1970: 1_767_225_600))
        let (lab, port) = try await startLab(only: ["auth", "notifications"]) {
            $0.clock = LabClock { now.withLockedValue { $0 } }
            $0.limits.authFailures = 3
            $0.limits.authFailureWindow = .seconds(60)
        }
        defer { Task { await lab.stop() } }
        let good = try #require(try await Self.login("alice", "wonderland", port: port).json?["access_token"]?.stringValue)

        // Three failures of different kinds: a wrong password, a forged token, a malformed one.
        #expect(try await Self.login("alice", "guess", port: port).status == 401)
        let forged = try await AuthEndpointTests.refusedUpgrade(port: port, path: "/ws?token=\(AuthEndpointTests.tampered(good))")
        #expect(forged.statusLine == "HTTP/1.1 401 Unauthorized", "\(forged.raw)")
        // A missing token is not a guess: it does not count.
        #expect(try await httpRequest("GET", "/http/notifications", port: port).status == 401)
        #expect(try await httpRequest("GET", "/http/notifications", port: port, headers: [("Authorization", "Bearer x.y")]).status == 401)

        // Now even the right password and a good token are refused, with the reason.
        let refused = try await Self.login("alice", "wonderland", port: port)
        #expect(refused.status == 429, "\(refused)")
        #expect(refused.head.field("Retry-After") == "60", "\(refused)")
        #expect(refused.json?["error"]?.stringValue == "too many failed authentications from 127.0.0.1 (3 in 60 s); try again in 60 s", "\(refused)")
        let upgrade = try await AuthEndpointTests.refusedUpgrade(port: port, path: "/ws?token=\(good)")
        #expect(upgrade.statusLine == "HTTP/1.1 429 Too Many Requests", "\(upgrade.raw)")
        #expect(upgrade.raw.contains("Retry-After: 60"), "\(upgrade.raw)")
        let polled = try await httpRequest("GET", "/http/notifications", port: port, headers: [("Authorization", "Bearer \(good)")])
        #expect(polled.status == 429, "\(polled)")
        // /ws/secure upgrades anyone, then refuses the auth message with 1008 and the reason.
        let secure = try await JSONClient.connect(port: port, path: "/ws/secure")
        try await secure.send(.obj(("type", "auth"), ("token", .string(good))))
        #expect(try await secure.next()["error"]?.stringValue?.contains("too many failed authentications") == true)
        #expect(await eventually { secure.closeCode == 1008 })

        // 45 s later the oldest failure is 15 s from leaving the window; after it, logins work.
        now.withLockedValue { $0 += 45 }
        #expect(try await Self.login("alice", "wonderland", port: port).head.field("Retry-After") == "15")
        now.withLockedValue { $0 += 16 }
        #expect(try await Self.login("alice", "wonderland", port: port).status == 200)
    }

    @Test("a WebSocket opened with a token is closed with 1008 when the token expires, after an error that says so", arguments: ["/ws", "/ws/secure", "/ws/notifications"])
    func expiredTokenClosesTheConnection(path: String) async throws {
        let (lab, port) = try await startLab(only: ["auth", "notifications"])
        defer { Task { await lab.stop() } }
        // JWT expiry is in whole seconds: four leave at least three to connect and authenticate,
        // even on a machine busy with the rest of the suite.
        let token = try await lab.context.auth.issue(for: LabUser.demo[0], lifetime: 4)
        let client: JSONClient
        if path == "/ws/secure" {
            client = try await JSONClient.connect(port: port, path: path)
            try await client.send(.obj(("type", "auth"), ("token", .string(token))))
            #expect(try await client.next()["type"] == "auth_ok")
        } else {
            client = try await JSONClient.connect(port: port, path: "\(path)?token=\(token)")
        }
        let error = try await client.next(type: "error", timeout: .seconds(8))
        #expect(error["error"]?.stringValue?.hasPrefix("your token expired at ") == true, "\(error.text)")
        #expect(await eventually { client.closeCode != nil })
        #expect(client.closeCode == 1008)
        #expect(client.closeReason == "token expired")
    }
}
