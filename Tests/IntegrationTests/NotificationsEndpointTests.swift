import Foundation
import LabServer
import Testing
import WireProtocol

/// Orders and per-user push: `/ws/notifications`, `POST /orders/{id}/ship`, `POST /orders`,
/// `GET /orders` and `GET /http/notifications`.
@Suite struct NotificationsEndpointTests {
    /// A notifications socket whose session has subscribed (it answered `ping`), having read any
    /// catch-up messages that came before the `pong`. - Returns: the socket and those messages.
    static func subscribe(port: Int, token: String, name: String) async throws -> (JSONClient, [JSON]) {
        let client = try await JSONClient.connect(port: port, path: "/ws/notifications?token=\(token)", name: name)
        try await client.sendText("ping")
        var before: [JSON] = []
        while true {
            let text = try await client.nextText()
            if text == "pong" { return (client, before) }
            before.append(try JSON(parsing: text))
        }
    }

    static func get(_ path: String, token: String?, port: Int) async throws -> HTTPAnswer {
        try await httpRequest("GET", path, port: port, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [])
    }

    // MARK: /ws/notifications

    @Test func pingIsAnsweredPongAndAnythingElseWithAnError() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let token = try await Shop.login("alice", port: port)
        let (client, missed) = try await Self.subscribe(port: port, token: token, name: "alice")
        #expect(missed.isEmpty)
        try await client.sendText("ping")
        #expect(try await client.nextText() == "pong")
        try await client.sendText("hello")
        let error = try await client.next()
        #expect(error["type"] == "error", "\(error.text)")
        try await client.sendText("ping")
        #expect(try await client.nextText() == "pong", "the socket stays open after an error")
        await client.close()
    }

    @Test func noTokenIs401BeforeTheUpgrade() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        try await AuthEndpointTests.expectUnauthorized(port: port, path: "/ws/notifications", mentioning: "no token")
        try await AuthEndpointTests.expectUnauthorized(port: port, path: "/ws/notifications?token=x.y.z", mentioning: "not a JWT")
        let token = try await Shop.login("alice", port: port)
        try await AuthEndpointTests.expectUnauthorized(
            port: port, path: "/ws/notifications?token=\(AuthEndpointTests.tampered(token))", mentioning: "signature"
        )
    }

    @Test func aShippedOrderIsPushedAsANotification() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        let admin = try await Shop.login("admin", port: port)
        let (client, _) = try await Self.subscribe(port: port, token: alice, name: "alice")
        try await Shop.shipAsAdmin(3, adminToken: admin, port: port)
        let text = try await client.nextText()
        #expect(text == #"{"type":"notification","title":"Your order shipped!","order_id":3}"#)
        await client.close()
    }

    @Test func notificationsSentWhileOfflineArriveOnTheNextWebSocket() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        let admin = try await Shop.login("admin", port: port)
        let topic = lab.context.notifications.topic(for: "alice")

        let (first, _) = try await Self.subscribe(port: port, token: alice, name: "first")
        try await Shop.shipAsAdmin(1, adminToken: admin, port: port)
        #expect(try await first.next() == Shop.notification(1))
        await first.close()
        #expect(await eventually { topic.receiverNames.isEmpty }, "\(topic.receiverNames)")

        try await Shop.shipAsAdmin(3, adminToken: admin, port: port)
        let (second, missed) = try await Self.subscribe(port: port, token: alice, name: "second")
        #expect(missed == [Shop.notification(3)], "only what was missed: \(missed.map(\.text))")
        #expect(try await second.unread(after: .milliseconds(200)).isEmpty)
        await second.close()
    }

    @Test func aClosedWebSocketLeavesTheTopic() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let bob = try await Shop.login("bob", port: port)
        let topic = lab.context.notifications.topic(for: "bob")
        let (one, _) = try await Self.subscribe(port: port, token: bob, name: "one")
        let (two, _) = try await Self.subscribe(port: port, token: bob, name: "two")
        #expect(topic.receiverNames == ["bob", "bob"])
        await one.close()
        #expect(await eventually { topic.receiverNames.count == 1 }, "\(topic.receiverNames)")
        await two.client.drop()  // no close handshake: the TCP connection just ends
        #expect(await eventually { topic.receiverNames.isEmpty }, "\(topic.receiverNames)")
    }

    // MARK: fan-out

    @Test func shippingPushesToEveryOpenConnectionOfTheOwnerAndNoOneElse() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        let bob = try await Shop.login("bob", port: port)
        let admin = try await Shop.login("admin", port: port)

        let (aliceWS1, _) = try await Self.subscribe(port: port, token: alice, name: "alice ws 1")
        let (aliceWS2, _) = try await Self.subscribe(port: port, token: alice, name: "alice ws 2")
        let aliceSSE1 = try await SSEStream.connect(port: port, path: "/events?token=\(alice)")
        let aliceSSE2 = try await SSEStream.connect(port: port, path: "/events", headers: [("Authorization", "Bearer \(alice)")])
        let (bobWS, _) = try await Self.subscribe(port: port, token: bob, name: "bob ws")
        let bobSSE = try await SSEStream.connect(port: port, path: "/events?token=\(bob)")
        let (adminWS, _) = try await Self.subscribe(port: port, token: admin, name: "admin ws")
        #expect(lab.context.notifications.topic(for: "alice").receiverNames.count == 4)

        try await Shop.shipAsAdmin(1, adminToken: admin, port: port)
        try await Shop.shipAsAdmin(3, adminToken: admin, port: port)

        for socket in [aliceWS1, aliceWS2] {
            #expect(try await socket.next() == Shop.notification(1), "\(socket.name)")
            #expect(try await socket.next() == Shop.notification(3), "\(socket.name)")
        }
        for stream in [aliceSSE1, aliceSSE2] {
            let events = try await stream.events(count: 2)
            #expect(jsonData(events) == [Shop.notification(1), Shop.notification(3)], "\(stream.path)")
            #expect(events.map(\.lastEventID) == ["1", "2"])
        }
        try await Task.sleep(for: .milliseconds(300))
        for socket in [aliceWS1, aliceWS2] {
            #expect(try await socket.unread(after: .zero).isEmpty, "none twice: \(socket.name)")
        }
        #expect(aliceSSE1.snapshot.events.count == 2 && aliceSSE2.snapshot.events.count == 2, "none twice")
        #expect(try await bobWS.unread(after: .zero).isEmpty, "bob was told about alice's order")
        #expect(try await adminWS.unread(after: .zero).isEmpty, "admin was told about alice's order")
        #expect(bobSSE.snapshot.events.isEmpty, "bob's stream was told about alice's order")

        // Bob's own order reaches only bob.
        try await Shop.shipAsAdmin(2, adminToken: admin, port: port)
        #expect(try await bobWS.next() == Shop.notification(2))
        #expect(jsonData(try await bobSSE.events(count: 1)) == [Shop.notification(2)])
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await aliceWS1.unread(after: .zero).isEmpty)
        #expect(aliceSSE1.snapshot.events.count == 2)

        for socket in [aliceWS1, aliceWS2, bobWS, adminWS] { await socket.close() }
        for stream in [aliceSSE1, aliceSSE2, bobSSE] { await stream.close() }
    }

    // MARK: orders

    @Test func shippingNeedsAnAdminAndAKnownPendingOrder() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        let admin = try await Shop.login("admin", port: port)

        let anonymous = try await Shop.ship(1, token: nil, port: port)
        #expect(anonymous.status == 401, "\(anonymous)")
        #expect(anonymous.json?["type"] == "error")
        let bad = try await Shop.ship(1, token: "abc", port: port)
        #expect(bad.status == 401, "\(bad)")
        let notAdmin = try await Shop.ship(1, token: alice, port: port)
        #expect(notAdmin.status == 403, "\(notAdmin)")
        #expect(notAdmin.json?["type"] == "error")
        let unknown = try await Shop.ship(99, token: admin, port: port)
        #expect(unknown.status == 404, "\(unknown)")
        let notANumber = try await httpRequest("POST", "/orders/abc/ship", port: port, headers: [("Authorization", "Bearer \(admin)")])
        #expect(notANumber.status == 400, "\(notANumber)")
        #expect(lab.context.orders.order(1)?.shipped == false, "refused requests shipped nothing")

        let shipped = try await Shop.ship(1, token: admin, port: port)
        #expect(shipped.status == 200, "\(shipped)")
        #expect(shipped.contentType == "application/json")
        #expect(shipped.json == .obj(("order_id", 1), ("owner", "alice"), ("item", "mechanical keyboard"), ("amount", 89), ("status", "shipped")), "\(shipped)")
        let twice = try await Shop.ship(1, token: admin, port: port)
        #expect(twice.status == 409, "\(twice)")
        #expect(twice.json?["type"] == "error")
        // Only one notification for the two attempts.
        #expect(lab.context.notifications.topic(for: "alice").entries(since: 0).count == 1)
        // The token may come in the query too.
        let byQuery = try await httpRequest("POST", "/orders/3/ship?token=\(admin)", port: port)
        #expect(byQuery.status == 200, "\(byQuery)")
    }

    @Test func creatingAndListingOrders() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        let bob = try await Shop.login("bob", port: port)
        let admin = try await Shop.login("admin", port: port)

        let created = try await httpRequest(
            "POST", "/orders", port: port, headers: [("Authorization", "Bearer \(bob)")], body: #"{"item":"spirit level","amount":19.99}"#
        )
        #expect(created.status == 201, "\(created)")
        #expect(created.json == .obj(("order_id", 4), ("owner", "bob"), ("item", "spirit level"), ("amount", .number(19.99)), ("status", "pending")), "\(created)")
        #expect(lab.context.orders.order(4)?.amountCents == 1999)

        func ids(_ answer: HTTPAnswer) -> [Int] {
            answer.json?["orders"]?.arrayValue?.compactMap { $0["order_id"]?.intValue } ?? []
        }
        let alices = try await Self.get("/orders", token: alice, port: port)
        #expect(alices.status == 200, "\(alices)")
        #expect(alices.json?.keys == ["orders"])
        #expect(ids(alices) == [1, 3])
        #expect(alices.json?["orders"]?.arrayValue?.allSatisfy { $0["owner"] == "alice" } == true)
        #expect(ids(try await Self.get("/orders", token: bob, port: port)) == [2, 4])
        #expect(ids(try await Self.get("/orders", token: admin, port: port)) == [1, 2, 3, 4])
        #expect(try await Self.get("/orders", token: nil, port: port).status == 401)

        // Shipping bob's new order tells bob.
        let (bobWS, _) = try await Self.subscribe(port: port, token: bob, name: "bob")
        try await Shop.shipAsAdmin(4, adminToken: admin, port: port)
        #expect(try await bobWS.next() == Shop.notification(4))
        let listed = try await Self.get("/orders", token: bob, port: port)
        #expect(listed.json?["orders"]?.arrayValue?.last?["status"] == "shipped")
        await bobWS.close()
    }

    @Test func badOrdersAre400AndAnonymousOnes401() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        for body in [#"{"amount":3}"#, #"{"item":"","amount":3}"#, #"{"item":"x"}"#, #"{"item":"x","amount":-1}"#, #"{"item":"x","amount":"3"}"#, #"{"item":"x","amount":1000000}"#, "[]", "nope"] {
            let answer = try await httpRequest("POST", "/orders", port: port, headers: [("Authorization", "Bearer \(alice)")], body: body)
            #expect(answer.status == 400, "\(body): \(answer)")
        }
        let anonymous = try await httpRequest("POST", "/orders", port: port, body: #"{"item":"x","amount":1}"#)
        #expect(anonymous.status == 401, "\(anonymous)")
        #expect(lab.context.orders.all().count == 3, "nothing was created")
    }

    // MARK: GET /http/notifications

    @Test func pollingSeesTheSameEntriesAndIDsAsTheStream() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        let admin = try await Shop.login("admin", port: port)
        let stream = try await SSEStream.connect(port: port, path: "/events?token=\(alice)")
        try await Shop.shipAsAdmin(1, adminToken: admin, port: port)
        try await Shop.shipAsAdmin(3, adminToken: admin, port: port)
        let events = try await stream.events(count: 2)

        let poll = try await Self.get("/http/notifications?since=0", token: alice, port: port)
        #expect(poll.status == 200, "\(poll)")
        let json = try #require(poll.json, "\(poll)")
        #expect(json.keys == ["messages", "last_id", "outcome"])
        #expect(json["outcome"] == "immediate")
        #expect(json["last_id"] == 2)
        let messages = try #require(json["messages"]?.arrayValue)
        #expect(messages.map { message in message["id"]?.intValue.map { String($0) } ?? "" } == events.map(\.lastEventID))
        #expect(messages.map { $0.removing("id") } == jsonData(events).compactMap { $0 })
        #expect(messages.first?.keys == ["id", "type", "title", "order_id"])

        let since1 = try await httpRequest("GET", "/http/notifications?since=1&token=\(alice)", port: port)
        #expect(since1.json?["messages"]?.arrayValue?.compactMap { $0["order_id"]?.intValue } == [3])
        let nothingNew = try await Self.get("/http/notifications?since=2", token: alice, port: port)
        #expect(nothingNew.json == .obj(("messages", []), ("last_id", 2), ("outcome", "immediate")))
        // Bob's log is his own.
        let bob = try await Shop.login("bob", port: port)
        let bobs = try await Self.get("/http/notifications", token: bob, port: port)
        #expect(bobs.json == .obj(("messages", []), ("last_id", 0), ("outcome", "immediate")), "\(bobs)")
        await stream.close()
    }

    @Test func aLongPollIsHeldUntilAnOrderShips() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        let admin = try await Shop.login("admin", port: port)
        let poll = Task { try await Self.get("/http/notifications?since=0&wait=20", token: alice, port: port) }
        // Held: the lab is waiting on it (a fixed sleep lost the race on a busy machine).
        #expect(await eventually(timeout: .seconds(10)) { lab.context.heldPollCount == 1 })
        try await Shop.shipAsAdmin(3, adminToken: admin, port: port)
        let answer = try await poll.value
        #expect(answer.status == 200, "\(answer)")
        #expect(answer.json?["outcome"] == "new_messages", "\(answer)")
        #expect(answer.json?["messages"]?.arrayValue?.map { $0.removing("id") } == [Shop.notification(3)])
        #expect(answer.json?["last_id"] == 1)
    }

    @Test func aLongPollWithNothingNewTimesOut() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let bob = try await Shop.login("bob", port: port)
        let answer = try await Self.get("/http/notifications?since=0&wait=0.3", token: bob, port: port)
        #expect(answer.json == .obj(("messages", []), ("last_id", 0), ("outcome", "timeout")), "\(answer)")
    }

    @Test func pollingNeedsAToken() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let answer = try await Self.get("/http/notifications?since=0", token: nil, port: port)
        #expect(answer.status == 401, "\(answer)")
        let bad = try await Self.get("/http/notifications", token: "abc", port: port)
        #expect(bad.status == 401, "\(bad)")
        let alice = try await Shop.login("alice", port: port)
        let badSince = try await Self.get("/http/notifications?since=x", token: alice, port: port)
        #expect(badSince.status == 400, "\(badSince)")
    }
}
