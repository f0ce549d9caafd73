import LabServer
import Testing
import WireProtocol

/// Cross-site WebSocket hijacking: the lab refuses upgrades from pages it does not know.
@Suite struct OriginTests {
    @Test func thePolicyAllowsLoopbackPagesListedOriginsAndNonBrowsers() {
        let policy = OriginPolicy()
        #expect(policy.allows(nil))
        #expect(policy.allows("http://localhost:4200"))
        #expect(policy.allows("http://127.0.0.1"))
        #expect(policy.allows("https://[::1]:8443"))
        #expect(!policy.allows("https://evil.example"))
        #expect(!policy.allows("http://localhost.evil.example"))
        #expect(!policy.allows("null"))
        #expect(!policy.allows("file://localhost"))
        let listed = OriginPolicy(allowed: ["https://App.example.com/"])
        #expect(listed.allows("https://app.example.com"))
        #expect(!listed.allows("https://app.example.com:8443"))
        #expect(!listed.allows("http://app.example.com"))
        #expect(OriginPolicy(allowed: ["*"]).allows("https://anything.example"))
    }

    @Test func aForeignOriginIsRefusedWith403OnEveryEndpoint() async throws {
        let (lab, port) = try await startLab()
        for path in ["/ws/echo", "/ws/chat/ann", "/ws/dashboard"] {
            let refused = try await RawConnection(port: port)
            let head = try await refused.upgrade(path, extraHeaders: "Origin: https://evil.example\r\n")
            #expect(head?.status == 403, "\(path)")
            #expect(String(decoding: refused.bytes, as: UTF8.self).contains("cross-site WebSocket hijacking"))
            await refused.close()
        }
        let local = try await RawConnection(port: port)
        #expect(try await local.upgrade("/ws/echo", extraHeaders: "Origin: http://localhost:4200\r\n")?.status == 101)
        await local.close()
        await lab.stop()
    }

    @Test func anAllowedOriginPassesAndOthersStillDoNot() async throws {
        let (lab, port) = try await startLab { $0.allowedOrigins = ["https://app.example.com"] }
        let allowed = try await RawConnection(port: port)
        #expect(try await allowed.upgrade("/ws/echo", extraHeaders: "Origin: https://app.example.com\r\n")?.status == 101)
        let other = try await RawConnection(port: port)
        #expect(try await other.upgrade("/ws/echo", extraHeaders: "Origin: https://evil.example\r\n")?.status == 403)
        await allowed.close()
        await other.close()
        await lab.stop()
    }
}
