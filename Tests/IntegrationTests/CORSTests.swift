import LabServer
import Logging
import NIOConcurrencyHelpers
import Testing
import WireProtocol

/// CORS on every HTTP route, with the upgrades' origin policy, checked on the wire.
@Suite struct CORSTests {
    static let page = "http://localhost:4200"

    static func recordingLab(_ configure: @escaping (inout LabConfiguration) -> Void = { _ in }) async throws
        -> (Lab, Int, NIOLockedValueBox<[RecordingLogHandler.Record]>)
    {
        let records = NIOLockedValueBox<[RecordingLogHandler.Record]>([])
        let (lab, port) = try await startLab {
            $0.logger = Logger(label: "test") { _ in RecordingLogHandler(records: records) }
            configure(&$0)
        }
        return (lab, port, records)
    }

    @Test func aPreflightFromALoopbackPageIsAnsweredWithEverythingTheBrowserChecks() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let answer = try await httpRequest(
            "OPTIONS", "/http/chat/ann", port: port,
            headers: [("Origin", Self.page), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "content-type, authorization")]
        )
        #expect(answer.status == 204, "\(answer)")
        #expect(answer.head.field("Access-Control-Allow-Origin") == Self.page)
        #expect(answer.head.field("Access-Control-Allow-Methods") == "POST, OPTIONS")
        let headers = answer.head.field("Access-Control-Allow-Headers")?.lowercased() ?? ""
        #expect(headers.contains("authorization") && headers.contains("content-type"), "\(headers)")
        #expect(answer.head.field("Access-Control-Max-Age") == "600")
        #expect(answer.head.field("Vary")?.contains("Origin") == true)
        // Credentials are deliberately not allowed: the lab uses bearer tokens, never cookies.
        #expect(answer.head.field("Access-Control-Allow-Credentials") == nil)
    }

    @Test func everyAnswerToAnAllowedPageEchoesItsOriginWithVary() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let dashboard = try await httpRequest("GET", "/http/dashboard", port: port, headers: [("Origin", Self.page)])
        #expect(dashboard.status == 200)
        #expect(dashboard.head.field("Access-Control-Allow-Origin") == Self.page)
        #expect(dashboard.head.field("Vary") == "Origin")
        let login = try await httpRequest(
            "POST", "/auth/token", port: port, headers: [("Origin", "http://127.0.0.1:4200")], body: #"{"username":"alice","password":"wonderland"}"#
        )
        #expect(login.status == 200, "\(login)")
        #expect(login.head.field("Access-Control-Allow-Origin") == "http://127.0.0.1:4200")
        // An error is readable by the page too: it needs the reason as much as the data.
        let missing = try await httpRequest("GET", "/nothing-here", port: port, headers: [("Origin", Self.page)])
        #expect(missing.status == 404)
        #expect(missing.head.field("Access-Control-Allow-Origin") == Self.page)
        // Without Origin (curl, the REPL) nothing is added.
        let plain = try await httpRequest("GET", "/http/dashboard", port: port)
        #expect(plain.head.field("Access-Control-Allow-Origin") == nil)
    }

    @Test func anEventStreamFromAnAllowedPageCarriesTheHeader() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let connection = try await RawConnection(port: port)
        try await connection.write("GET /http/chat/events HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: \(Self.page)\r\nAccept: text/event-stream\r\n\r\n")
        let head = await connection.readHead().head
        #expect(head?.status == 200)
        #expect(head?.field("Content-Type")?.hasPrefix("text/event-stream") == true)
        #expect(head?.field("Access-Control-Allow-Origin") == Self.page)
        await connection.close()
    }

    @Test func aForeignOriginGetsNoCORSHeadersAndTheLogSaysWhy() async throws {
        let (lab, port, records) = try await Self.recordingLab()
        defer { Task { await lab.stop() } }
        let preflight = try await httpRequest(
            "OPTIONS", "/http/chat/ann", port: port, headers: [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")]
        )
        #expect(preflight.status == 403)
        #expect(preflight.head.field("Access-Control-Allow-Origin") == nil)
        #expect(preflight.head.field("Access-Control-Allow-Methods") == nil)
        // A simple request still runs (the browser sends it without asking): CORS protects reading.
        let sent = try await httpRequest(
            "POST", "/http/chat/mallory", port: port, headers: [("Origin", "https://evil.example")], body: "hi from elsewhere",
            contentType: "text/plain"
        )
        #expect(sent.head.field("Access-Control-Allow-Origin") == nil)
        let log = records.withLockedValue { $0.map(\.message) }
        #expect(log.contains { $0.hasPrefix("CORS: refused the preflight for POST /http/chat/ann from https://evil.example") && $0.contains("--allowed-origin") }, "\(log)")
        #expect(log.contains { $0.hasPrefix("CORS: no Access-Control-Allow-Origin for POST /http/chat/mallory from https://evil.example") }, "\(log)")
    }

    @Test func anAllowedOriginListedAtStartGetsCORSAndAWrongPreflightIsRefused() async throws {
        let (lab, port, records) = try await Self.recordingLab { $0.allowedOrigins = ["https://app.example.com"] }
        defer { Task { await lab.stop() } }
        let listed = try await httpRequest("GET", "/http/dashboard", port: port, headers: [("Origin", "https://app.example.com")])
        #expect(listed.head.field("Access-Control-Allow-Origin") == "https://app.example.com")
        let wrongMethod = try await httpRequest(
            "OPTIONS", "/http/dashboard", port: port, headers: [("Origin", Self.page), ("Access-Control-Request-Method", "DELETE")]
        )
        #expect(wrongMethod.status == 403)
        #expect(wrongMethod.head.field("Access-Control-Allow-Origin") == nil)
        let oddHeader = try await httpRequest(
            "OPTIONS", "/http/dashboard", port: port,
            headers: [("Origin", Self.page), ("Access-Control-Request-Method", "GET"), ("Access-Control-Request-Headers", "x-custom")]
        )
        #expect(oddHeader.status == 403)
        let log = records.withLockedValue { $0.map(\.message) }
        #expect(log.contains { $0.contains("/http/dashboard takes GET, POST, not DELETE") }, "\(log)")
        #expect(log.contains { $0.contains("does not take the header x-custom") }, "\(log)")
    }

    @Test func theDecisionIsPure() {
        let policy = OriginPolicy()
        #expect(CrossOrigin.decide(origin: nil, policy: policy) == .notFromAPage)
        #expect(CrossOrigin.decide(origin: "http://localhost:4200", policy: policy) == .allowed("http://localhost:4200"))
        guard case .refused = CrossOrigin.decide(origin: "https://evil.example", policy: policy) else {
            Issue.record("a foreign origin must be refused")
            return
        }
        #expect(CrossOrigin.unknownHeaders(in: "Content-Type, AUTHORIZATION,last-event-id") == [])
        #expect(CrossOrigin.unknownHeaders(in: "x-a, content-type") == ["x-a"])
    }
}
