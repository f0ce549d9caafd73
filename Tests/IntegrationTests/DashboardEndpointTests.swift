import Foundation
import LabServer
import NIOConcurrencyHelpers
import Testing
import WireProtocol

/// `/ws/dashboard` and `GET /http/dashboard`: every number is the lab's own state.
@Suite struct DashboardEndpointTests {
    static let keys = ["type", "active_users", "revenue", "error_rate", "model_accuracy", "timestamp"]

    /// The dashboard's rounding: 4 decimal places.
    static func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }

    static func dashboard(port: Int) async throws -> JSONClient {
        try await JSONClient.connect(port: port, path: "/ws/dashboard", name: "dashboard")
    }

    @Test func metricsArePushedRepeatedlyInTheGuidesShape() async throws {
        let (lab, port) = try await startLab { $0.limits.dashboardInterval = .milliseconds(200) }
        defer { Task { await lab.stop() } }
        let client = try await Self.dashboard(port: port)
        var snapshots: [JSON] = []
        for _ in 0..<3 { snapshots.append(try await client.next()) }
        for snapshot in snapshots {
            #expect(snapshot.keys == Self.keys, "\(snapshot.text)")
            #expect(snapshot["type"] == "metrics")
            #expect(snapshot["active_users"]?.intValue != nil, "\(snapshot.text)")
            #expect(snapshot["revenue"]?.numberValue != nil, "\(snapshot.text)")
            #expect(snapshot["error_rate"]?.numberValue != nil, "\(snapshot.text)")
            #expect(snapshot["model_accuracy"]?.numberValue != nil, "the model trains at start: \(snapshot.text)")
            #expect(isISOTimestamp(snapshot["timestamp"]), "\(snapshot.text)")
        }
        let stamps = snapshots.compactMap { $0["timestamp"]?.stringValue }
        #expect(stamps == stamps.sorted(), "\(stamps)")
        #expect(Set(stamps).count == 3, "three separate pushes: \(stamps)")
        await client.close()
    }

    @Test func anIdleLabShowsOnlyTheDashboardsOwnConnection() async throws {
        let (lab, port) = try await startLab { $0.limits.dashboardInterval = .milliseconds(200) }
        defer { Task { await lab.stop() } }
        let client = try await Self.dashboard(port: port)
        let first = try await client.next()
        #expect(first["active_users"] == 1, "\(first.text)")
        #expect(first["revenue"] == 0, "\(first.text)")
        #expect(first["error_rate"] == 0, "\(first.text)")
        await client.close()
    }

    @Test func activeUsersCountsOpenWebSockets() async throws {
        let (lab, port) = try await startLab { $0.limits.dashboardInterval = .milliseconds(200) }
        defer { Task { await lab.stop() } }
        let client = try await Self.dashboard(port: port)
        #expect(try await client.next()["active_users"] == 1)

        let one = try await JSONClient.connect(port: port, path: "/ws/echo")
        let two = try await JSONClient.connect(port: port, path: "/ws/echo")
        let risen = try await client.next { $0["active_users"] == 3 }
        #expect(risen["active_users"]?.intValue == lab.context.connections.count)

        await one.close()
        _ = try await client.next { $0["active_users"] == 2 }
        await two.close()
        let back = try await client.next { $0["active_users"] == 1 }
        #expect(back["active_users"] == 1)
        await client.close()
    }

    @Test func revenueIsTheSumOfShippedOrders() async throws {
        let (lab, port) = try await startLab { $0.limits.dashboardInterval = .milliseconds(200) }
        defer { Task { await lab.stop() } }
        let admin = try await Shop.login("admin", port: port)
        let client = try await Self.dashboard(port: port)
        #expect(try await client.next()["revenue"] == 0)

        try await Shop.shipAsAdmin(1, adminToken: admin, port: port)
        let after1 = try await client.next { $0["revenue"] != 0 }
        #expect(after1["revenue"] == 89, "\(after1.text)")

        try await Shop.shipAsAdmin(3, adminToken: admin, port: port)
        let after3 = try await client.next { $0["revenue"] != 89 }
        #expect(after3["revenue"] == 134, "\(after3.text)")

        // Shipping twice adds nothing; a refused ship adds nothing.
        #expect(try await Shop.ship(1, token: admin, port: port).status == 409)
        let polled = try await httpRequest("GET", "/http/dashboard", port: port)
        #expect(polled.json?["revenue"] == 134, "\(polled)")

        // Cents add up exactly.
        let bob = try await Shop.login("bob", port: port)
        let id = try await Shop.createOrder(item: "tape", amount: 0.1, token: bob, port: port)
        try await Shop.shipAsAdmin(2, adminToken: admin, port: port)
        try await Shop.shipAsAdmin(id, adminToken: admin, port: port)
        let total = try await client.next { $0["revenue"] != 134 && $0["revenue"] != .number(146.5) }
        #expect(total["revenue"] == .number(146.6), "\(total.text)")
        await client.close()
    }

    @Test func errorRateIsTheShareOfRequestsAndMessagesThatFailed() async throws {
        let (lab, port) = try await startLab { $0.limits.dashboardInterval = .milliseconds(200) }
        defer { Task { await lab.stop() } }
        let client = try await Self.dashboard(port: port)
        #expect(try await client.next()["error_rate"] == 0)

        // 1 request that succeeds.
        let token = try await Shop.login("alice", port: port)
        // 4 JSON messages, 3 of them not JSON.
        let auth = try await JSONClient.connect(port: port, path: "/ws?token=\(token)")
        for text in ["not json", "{", "[1,"] {
            try await auth.sendText(text)
            #expect(try await auth.next()["type"] == "error")
        }
        try await auth.send(.obj(("fine", true)))
        #expect(try await auth.next()["from"] == "alice")
        // 2 requests that end in a 401.
        for _ in 0..<2 {
            #expect(try await httpRequest("GET", "/orders", port: port).status == 401)
        }
        // 5 errors of 7.
        #expect(lab.context.metrics.errorRate == 5.0 / 7.0)
        let pushed = try await client.next { $0["error_rate"] == .number(Self.rounded(5.0 / 7.0)) }
        #expect(pushed["error_rate"] == .number(Self.rounded(5.0 / 7.0)), "\(pushed.text)")

        // The polled snapshot is taken before its own request is counted.
        let polled = try await httpRequest("GET", "/http/dashboard", port: port)
        #expect(polled.json?["error_rate"] == .number(Self.rounded(5.0 / 7.0)), "\(polled)")
        #expect(lab.context.metrics.errorRate == 5.0 / 8.0)
        await auth.close()
        await client.close()
    }

    @Test func everyHTTPRequestThatEndsInAnErrorStatusCounts() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        // A 404 for a path nobody serves and a 405 for a wrong method are errors too.
        #expect(try await httpRequest("GET", "/no/such/thing", port: port).status == 404)
        #expect(try await httpRequest("DELETE", "/http/dashboard", port: port).status == 405)
        let polled = try await httpRequest("GET", "/http/dashboard", port: port)
        #expect(polled.json?["error_rate"] == 1, "two errors and nothing else before this request: \(polled)")
        #expect(lab.context.metrics.errorRate == 2.0 / 3.0)
    }

    @Test func errorsOlderThanAMinuteNoLongerCount() async throws {
        let clock = ManualClock()
        let (lab, port) = try await startLab { $0.clock = clock.labClock }
        defer { Task { await lab.stop() } }
        #expect(try await httpRequest("GET", "/orders", port: port).status == 401)
        #expect(lab.context.metrics.errorRate == 1)
        clock.advance(by: 30)
        _ = try await Shop.login("bob", port: port)
        #expect(lab.context.metrics.errorRate == 0.5)
        clock.advance(by: 31)
        #expect(lab.context.metrics.errorRate == 0, "the 401 is 61 s old")
        let polled = try await httpRequest("GET", "/http/dashboard", port: port)
        #expect(polled.json?["error_rate"] == 0, "\(polled)")
    }

    @Test func modelAccuracyIsThePredictModelsHeldOutAccuracy() async throws {
        let (lab, port) = try await startLab { $0.limits.dashboardInterval = .milliseconds(200) }
        defer { Task { await lab.stop() } }
        let accuracy = try #require(lab.context.metrics.modelAccuracy, "the predict model trains when the lab is made")
        #expect(accuracy > 0 && accuracy <= 1)
        let client = try await Self.dashboard(port: port)
        let pushed = try await client.next()
        #expect(pushed["model_accuracy"] == .number(Self.rounded(accuracy)), "\(pushed.text) vs \(accuracy)")
        let polled = try await httpRequest("GET", "/http/dashboard", port: port)
        #expect(polled.json?["model_accuracy"] == .number(Self.rounded(accuracy)), "\(polled)")
        await client.close()
    }

    @Test func theHTTPTwinReturnsTheSameShape() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let admin = try await Shop.login("admin", port: port)
        try await Shop.shipAsAdmin(3, adminToken: admin, port: port)
        let echo = try await JSONClient.connect(port: port, path: "/ws/echo")
        #expect(await eventually { lab.context.connections.count == 1 })
        let answer = try await httpRequest("GET", "/http/dashboard", port: port)
        #expect(answer.status == 200, "\(answer)")
        #expect(answer.contentType == "application/json")
        let json = try #require(answer.json, "\(answer)")
        #expect(json.keys == Self.keys, "\(json.text)")
        #expect(json["type"] == "metrics")
        #expect(json["active_users"] == 1, "\(json.text)")
        #expect(json["revenue"] == 45, "\(json.text)")
        #expect(json["error_rate"] == 0, "\(json.text)")
        #expect(isISOTimestamp(json["timestamp"]))
        await echo.close()
    }

    @Test func theDashboardTakesNoMessages() async throws {
        let (lab, port) = try await startLab { $0.limits.dashboardInterval = .seconds(30) }
        defer { Task { await lab.stop() } }
        let client = try await Self.dashboard(port: port)
        #expect(try await client.next()["type"] == "metrics")
        try await client.sendText("hello")
        #expect(try await client.next()["type"] == "error")
        await client.close()
        #expect(await eventually { lab.context.connections.count == 0 })
    }
}

/// A lab clock a test moves by hand.
final class ManualClock: Sendable {
    private let now: NIOLockedValueBox<Date>

    init(start: Date = Date(timeIntervalSince1970: 1_790_000_000)) {
        now = NIOLockedValueBox(start)
    }

    var labClock: LabClock {
        let now = self.now
        return LabClock { now.withLockedValue { $0 } }
    }

    func advance(by seconds: TimeInterval) {
        now.withLockedValue { $0 += seconds }
    }
}
