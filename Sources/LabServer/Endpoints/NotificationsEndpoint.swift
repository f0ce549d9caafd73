import WireProtocol

extension Endpoint {
    /// The guide's push notifications: `/ws/notifications` keeps a socket per user, and any
    /// route can push to it — here, shipping an order.
    ///
    /// - `/ws/notifications?token=…`: the text `ping` is answered `pong`; notifications arrive as
    ///   `{"type":"notification","title":"Your order shipped!","order_id":N}`. Notifications sent
    ///   while the user had no connection arrive on the next one.
    /// - `POST /orders` (any user) creates an order; `GET /orders` lists yours (all, for admin).
    /// - `POST /orders/{order_id}/ship` (admin only: others get 403) ships one and pushes the
    ///   notification to its owner on every WebSocket and SSE stream they have open.
    /// - `GET /http/notifications?since=ID[&wait=S]`: the same notifications by polling.
    static func notifications(_ lab: LabContext) -> Endpoint {
        Endpoint(
            name: "notifications",
            summary: "per-user push: ship an order (POST /orders/{id}/ship) and its owner is told at once",
            guideSection: "Server-Side Push Notifications",
            firstMessage: "send ping",
            webSocketRoutes: [
                WebSocketRoute("/ws/notifications", admit: { _, query in await lab.admitToken(query) }) { session in
                    guard case .success(let user) = await lab.auth.verify(session.query["token"]) else { return }
                    let me = Subscriber(name: user.name, session: session)
                    let topic = lab.notifications.topic(for: user.name)
                    let missed = topic.add(me, catchingUpAfter: nil)
                    try await me.run {
                        for entry in missed { await me.deliver(entry, mode: lab.broadcastMode) }
                        for try await message in session.messages() {
                            // Keep alive: the client can ping (an application-level ping, in text).
                            if case .text("ping") = message {
                                await me.deliver("pong", mode: lab.broadcastMode)
                            } else {
                                await me.send(.error("this socket only answers the text ping; notifications come by themselves"))
                            }
                        }
                    }
                    topic.remove(me)
                }
            ],
            httpRoutes: [
                HTTPRoute(.post, "/orders") { exchange in
                    let user = try await lab.requireUser(exchange)
                    let body = try exchange.objectBody()
                    guard let item = body["item"]?.stringValue, !item.isEmpty else { throw HTTPReply.badRequest("an order needs an \"item\"") }
                    guard let amount = body["amount"]?.numberValue, amount >= 0, amount < 1_000_000 else {
                        throw HTTPReply.badRequest("an order needs an \"amount\" from 0 to 999999.99")
                    }
                    let order = lab.orders.create(owner: user.name, item: item, amountCents: Int((amount * 100).rounded()))
                    return HTTPReply(order.json, status: .created)
                },
                HTTPRoute(.get, "/orders") { exchange in
                    let user = try await lab.requireUser(exchange)
                    let visible = lab.orders.all().filter { user.isAdmin || $0.owner == user.name }
                    return HTTPReply(.object([("orders", .array(visible.map(\.json)))]))
                },
                HTTPRoute(.post, "/orders/{order_id}/ship") { exchange in
                    let user = try await lab.requireUser(exchange)
                    guard user.isAdmin else {
                        throw HTTPReply(.error("only an admin may ship orders; \(user.name) is not one"), status: .forbidden)
                    }
                    guard let id = Int(exchange.parameters["order_id"] ?? "") else { throw HTTPReply.badRequest("the order id must be a number") }
                    switch lab.orders.ship(id) {
                    case .unknown:
                        throw HTTPReply(.error("no order \(id)"), status: .notFound)
                    case .alreadyShipped:
                        throw HTTPReply(.error("order \(id) has already shipped"), status: .conflict)
                    case .shipped(let order):
                        // Push notification to the customer in real time (the guide's push_to_user).
                        await lab.notifications.push(
                            .object([("type", "notification"), ("title", "Your order shipped!"), ("order_id", .number(Double(id)))]),
                            to: order.owner
                        )
                        return HTTPReply(order.json)
                    }
                },
                HTTPRoute(.get, "/http/notifications") { exchange in
                    let user = try await lab.requireUser(exchange)
                    let (since, wait) = try exchange.pollParameters()
                    return HTTPReply(await lab.notifications.topic(for: user.name).poll(since: since, wait: wait))
                },
            ]
        )
    }
}

extension LabContext {
    /// An upgrade whose `?token=…` is good, or a 401 that says what is wrong with it: checked
    /// before the 101, so a bad token never gets a WebSocket.
    func admitToken(_ query: [String: String]) async -> UpgradeVerdict {
        switch await auth.verify(query["token"]) {
        case .success: .accept
        case .failure(let refusal): .refuse(.unauthorized, body: "Not authenticated: \(refusal).\n")
        }
    }

    /// The user behind a request's token, or a 401 reply that says what was wrong with it.
    func requireUser(_ exchange: HTTPExchange) async throws -> LabUser {
        switch await auth.verify(exchange.bearerToken) {
        case .success(let user): return user
        case .failure(let refusal): throw HTTPReply(refusal.json, status: .unauthorized)
        }
    }
}
