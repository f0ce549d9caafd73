import Foundation
import LabServer
import Testing
import WireProtocol

/// `GET /events`: the user's notifications as Server-Sent Events, read off a raw socket and
/// parsed with WireProtocol's `WireDissector` (chunk framing) and `SSEParser`.
@Suite struct EventsEndpointTests {
    @Test func theStreamHasTheSSEHeadersAndStartsWithRetry() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let token = try await Shop.login("alice", port: port)
        let stream = try await SSEStream.connect(port: port, path: "/events?token=\(token)")
        let snapshot = stream.snapshot
        let head = try #require(snapshot.head)
        #expect(head.lines.first == "HTTP/1.1 200 OK")
        #expect(head.field("Content-Type") == "text/event-stream", "\(head.lines)")
        #expect(head.field("Cache-Control") == "no-cache", "\(head.lines)")
        #expect(head.field("X-Accel-Buffering") == "no", "\(head.lines)")
        #expect(head.contentLength == nil, "a stream has no length: \(head.lines)")
        #expect(snapshot.undecodable.isEmpty, "\(snapshot.undecodable)")
        // The very first bytes of the body: the retry field and a blank line.
        #expect(snapshot.bodyText.hasPrefix("retry: 3000\n\n"), "\(snapshot.bodyText)")
        #expect(Array(snapshot.items.prefix(3)) == [
            .line(raw: "retry: 3000", ending: .lf, meaning: .field(.retry(3000))), .retry(3000),
            .line(raw: "", ending: .lf, meaning: .dispatchNothing),
        ])
        #expect(snapshot.events.isEmpty)
        await stream.close()
    }

    @Test func theRetryFollowsTheLabsLimit() async throws {
        let (lab, port) = try await startLab { $0.limits.sseRetry = 1234 }
        defer { Task { await lab.stop() } }
        let token = try await Shop.login("bob", port: port)
        let stream = try await SSEStream.connect(port: port, path: "/events?token=\(token)")
        #expect(stream.snapshot.bodyText.hasPrefix("retry: 1234\n\n"))
        await stream.close()
    }

    @Test func noTokenOrABadTokenIs401() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let (other, otherPort) = try await startLab()
        defer { Task { await other.stop() } }
        let foreign = try await Shop.login("alice", port: otherPort)
        let requests: [(String, [(String, String)], String)] = [
            ("/events", [], "no token"),
            ("/events?token=", [], "no token"),
            ("/events?token=abc", [], "not a JWT"),
            ("/events?token=\(foreign)", [], "signature"),
            ("/events", [("Authorization", "Bearer \(foreign)")], "signature"),
            ("/events", [("Authorization", "Bearer nonsense")], "not a JWT"),
            ("/events", [("Authorization", "Basic YWxpY2U6d29uZGVybGFuZA==")], "no token"),
        ]
        for (path, headers, reason) in requests {
            let answer = try await httpRequest("GET", path, port: port, headers: headers)
            #expect(answer.status == 401, "\(path) \(headers): \(answer)")
            #expect(answer.contentType == "application/json", "\(path): \(answer)")
            #expect(answer.json?["type"] == "error", "\(path): \(answer)")
            #expect(answer.json?["error"]?.stringValue?.contains(reason) == true, "\(path) \(headers): \(answer)")
        }
        #expect(lab.context.notifications.topic(for: "alice").receiverNames.isEmpty)
    }

    @Test func aBadLastEventIDIs400() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let token = try await Shop.login("alice", port: port)
        for value in ["abc", "-1", "1.5"] {
            let answer = try await httpRequest("GET", "/events?token=\(token)", port: port, headers: [("Last-Event-ID", value)])
            #expect(answer.status == 400, "\(value): \(answer)")
        }
    }

    @Test func eachNotificationIsOneEventWithAnID() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        let admin = try await Shop.login("admin", port: port)
        let stream = try await SSEStream.connect(port: port, path: "/events?token=\(alice)")

        try await Shop.shipAsAdmin(1, adminToken: admin, port: port)
        var events = try await stream.events(count: 1)
        #expect(events == [SSEParser.ParsedEvent(type: "message", data: Shop.notification(1).text, lastEventID: "1")])
        // On the wire: id first, then one data line, then a blank line.
        #expect(stream.snapshot.bodyText.contains("id: 1\ndata: \(Shop.notification(1).text)\n\n"), "\(stream.snapshot.bodyText)")

        try await Shop.shipAsAdmin(3, adminToken: admin, port: port)
        events = try await stream.events(count: 2)
        #expect(events.map(\.lastEventID) == ["1", "2"])
        #expect(jsonData(events) == [Shop.notification(1), Shop.notification(3)])
        await stream.close()
    }

    @Test func theUserCanComeFromAnAuthorizationHeader() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let bob = try await Shop.login("bob", port: port)
        let admin = try await Shop.login("admin", port: port)
        let stream = try await SSEStream.connect(port: port, path: "/events", headers: [("Authorization", "Bearer \(bob)")])
        #expect(lab.context.notifications.topic(for: "bob").receiverNames == ["bob"])
        try await Shop.shipAsAdmin(2, adminToken: admin, port: port)
        let events = try await stream.events(count: 1)
        #expect(jsonData(events) == [Shop.notification(2)])
        #expect(events.first?.lastEventID == "1")
        await stream.close()
    }

    @Test func heartbeatsComeAtTheConfiguredInterval() async throws {
        let (lab, port) = try await startLab { $0.limits.heartbeatInterval = .milliseconds(200) }
        defer { Task { await lab.stop() } }
        let token = try await Shop.login("alice", port: port)
        let stream = try await SSEStream.connect(port: port, path: "/events?token=\(token)")
        let snapshot = try await stream.wait("three heartbeats") { $0.comments.count >= 3 }
        #expect(snapshot.comments.allSatisfy { $0 == " heartbeat" }, "\(snapshot.comments)")
        #expect(snapshot.bodyText.contains(": heartbeat\n\n"), "\(snapshot.bodyText)")
        #expect(snapshot.events.isEmpty, "a comment dispatches nothing")
        await stream.close()
    }

    @Test func noHeartbeatBeforeTheInterval() async throws {
        let (lab, port) = try await startLab()  // 15 s
        defer { Task { await lab.stop() } }
        let token = try await Shop.login("alice", port: port)
        let stream = try await SSEStream.connect(port: port, path: "/events?token=\(token)")
        try await Task.sleep(for: .milliseconds(400))
        #expect(stream.snapshot.comments.isEmpty)
        await stream.close()
    }

    @Test func reconnectingWithLastEventIDResumesExactlyAfterIt() async throws {
        let (lab, port) = try await startLab { $0.limits.heartbeatInterval = .milliseconds(100) }
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        let admin = try await Shop.login("admin", port: port)
        let topic = lab.context.notifications.topic(for: "alice")

        let first = try await SSEStream.connect(port: port, path: "/events?token=\(alice)")
        try await Shop.shipAsAdmin(1, adminToken: admin, port: port)
        try await Shop.shipAsAdmin(3, adminToken: admin, port: port)
        let seen = try await first.events(count: 2)
        #expect(seen.map(\.lastEventID) == ["1", "2"])
        await first.close()
        #expect(await eventually { topic.receiverNames.isEmpty }, "the closed stream is still a receiver: \(topic.receiverNames)")

        // While disconnected, two more orders ship.
        let four = try await Shop.createOrder(item: "desk lamp", amount: 30, token: alice, port: port)
        let five = try await Shop.createOrder(item: "notebook", amount: 4.5, token: alice, port: port)
        try await Shop.shipAsAdmin(four, adminToken: admin, port: port)
        try await Shop.shipAsAdmin(five, adminToken: admin, port: port)

        let second = try await SSEStream.connect(port: port, path: "/events?token=\(alice)", headers: [("Last-Event-ID", "2")])
        let six = try await Shop.createOrder(item: "pen", amount: 1, token: alice, port: port)
        try await Shop.shipAsAdmin(six, adminToken: admin, port: port)
        let resumed = try await second.events(count: 3)
        try await Task.sleep(for: .milliseconds(200))  // nothing more should come
        let all = second.snapshot.events
        #expect(all.map(\.lastEventID) == ["3", "4", "5"], "none twice, none missing: \(all)")
        #expect(jsonData(all) == [Shop.notification(four), Shop.notification(five), Shop.notification(six)])
        #expect(resumed.count == 3)
        await second.close()
    }

    @Test func lastEventIDZeroReplaysEverything() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        let admin = try await Shop.login("admin", port: port)
        let first = try await SSEStream.connect(port: port, path: "/events?token=\(alice)")
        try await Shop.shipAsAdmin(1, adminToken: admin, port: port)
        _ = try await first.events(count: 1)
        let again = try await SSEStream.connect(port: port, path: "/events?token=\(alice)", headers: [("Last-Event-ID", "0")])
        let events = try await again.events(count: 1)
        #expect(jsonData(events) == [Shop.notification(1)])
        #expect(events.map(\.lastEventID) == ["1"])
        await first.close()
        await again.close()
    }

    @Test func withoutLastEventIDTheNotificationsSentWhileOfflineArrive() async throws {
        let (lab, port) = try await startLab { $0.limits.heartbeatInterval = .milliseconds(100) }
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        let admin = try await Shop.login("admin", port: port)
        let topic = lab.context.notifications.topic(for: "alice")

        let first = try await SSEStream.connect(port: port, path: "/events?token=\(alice)")
        try await Shop.shipAsAdmin(1, adminToken: admin, port: port)
        #expect(jsonData(try await first.events(count: 1)) == [Shop.notification(1)])
        await first.close()
        #expect(await eventually { topic.receiverNames.isEmpty })

        try await Shop.shipAsAdmin(3, adminToken: admin, port: port)
        let second = try await SSEStream.connect(port: port, path: "/events?token=\(alice)")
        let events = try await second.events(count: 1)
        try await Task.sleep(for: .milliseconds(200))
        #expect(second.snapshot.events == events, "only what was missed, not what the first stream had")
        #expect(jsonData(events) == [Shop.notification(3)])
        #expect(events.first?.lastEventID == "2")
        await second.close()
    }

    @Test func notificationsShippedBeforeTheFirstConnectionArriveOnIt() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        let admin = try await Shop.login("admin", port: port)
        try await Shop.shipAsAdmin(3, adminToken: admin, port: port)
        try await Shop.shipAsAdmin(1, adminToken: admin, port: port)
        let stream = try await SSEStream.connect(port: port, path: "/events?token=\(alice)")
        let events = try await stream.events(count: 2)
        #expect(jsonData(events) == [Shop.notification(3), Shop.notification(1)])
        #expect(events.map(\.lastEventID) == ["1", "2"])
        await stream.close()
    }

    // MARK: disconnects

    @Test func aClosedStreamLeavesTheTopicAtTheNextHeartbeat() async throws {
        let (lab, port) = try await startLab { $0.limits.heartbeatInterval = .milliseconds(200) }
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        let topic = lab.context.notifications.topic(for: "alice")
        let one = try await SSEStream.connect(port: port, path: "/events?token=\(alice)")
        let two = try await SSEStream.connect(port: port, path: "/events?token=\(alice)")
        #expect(topic.receiverNames == ["alice", "alice"])
        await one.close()
        #expect(await eventually { topic.receiverNames.count == 1 }, "\(topic.receiverNames)")
        await two.close()
        #expect(await eventually { topic.receiverNames.isEmpty }, "\(topic.receiverNames)")
    }

    /// A client that closes its stream must be noticed at once, not at the next write: with the
    /// default 15 s heartbeat the stream would otherwise stay a receiver that long, and a
    /// notification pushed meanwhile would be "delivered" to the dead stream and count as
    /// delivered, so the user's next connection without Last-Event-ID would never get it.
    @Test func aClosedStreamLeavesTheTopicWithoutWaitingForAHeartbeat() async throws {
        let (lab, port) = try await startLab { $0.limits.heartbeatInterval = .seconds(60) }
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        let topic = lab.context.notifications.topic(for: "alice")
        let stream = try await SSEStream.connect(port: port, path: "/events?token=\(alice)")
        #expect(topic.receiverNames == ["alice"])
        await stream.close()
        #expect(await eventually(timeout: .seconds(5)) { topic.receiverNames.isEmpty }, "still receivers 5 s after the client closed: \(topic.receiverNames)")
    }

    @Test func aNotificationShippedJustAfterTheClientLeftReachesItsNextStream() async throws {
        let (lab, port) = try await startLab()  // default heartbeat
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        let admin = try await Shop.login("admin", port: port)
        let first = try await SSEStream.connect(port: port, path: "/events?token=\(alice)")
        try await Shop.shipAsAdmin(1, adminToken: admin, port: port)
        _ = try await first.events(count: 1)
        await first.close()
        // The client has gone. (Not asserted here: the test above checks the server notices.)
        await eventually(timeout: .seconds(5)) { lab.context.notifications.topic(for: "alice").receiverNames.isEmpty }

        try await Shop.shipAsAdmin(3, adminToken: admin, port: port)
        let second = try await SSEStream.connect(port: port, path: "/events?token=\(alice)")
        let events = try await second.wait("the notification shipped while offline", timeout: .seconds(3)) { !$0.events.isEmpty }.events
        #expect(jsonData(events) == [Shop.notification(3)])
        await second.close()
    }
}
