import Foundation
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
                WebSocketRoute("/ws/notifications", admit: { _, query, peer in await lab.admitToken(query, peer: peer) }) { session in
                    guard case .success(let verified) = await lab.auth.check(session.query["token"]) else { return }
                    let user = verified.user
                    let me = Subscriber(name: user.name, session: session)
                    let topic = lab.notifications.topic(for: user.name)
                    let missed = topic.add(me, catchingUpAfter: nil)
                    defer { topic.remove(me) }
                    try await session.untilExpiry(verified.expires) {
                        try await me.run {
                            for entry in missed { await me.deliver(entry, mode: lab.broadcastMode) }
                            for try await message in session.messages() {
                                // Keep alive: the client can ping (an application-level ping, in text).
                                if case .text("ping") = message {
                                    await me.send(text: "pong")
                                } else {
                                    await me.send(.error("this socket only answers the text ping; notifications come by themselves"))
                                }
                            }
                        }
                    }
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
    /// Checks a token that `peer` presented, against the ``AuthThrottle`` first: an address with
    /// too many recent failures is refused whatever it sends, and each failure counts (a missing
    /// token does not: nothing was guessed).
    func authenticate(_ token: String?, from peer: String?) async -> Result<(user: LabUser, expires: Date), Authenticator.Refusal> {
        let address = peer ?? "an unknown address"
        if let refusal = authThrottle.refusal(for: address) { return .failure(refusal) }
        let result = await auth.check(token)
        if case .failure(let refusal) = result, refusal != .missing { authThrottle.recordFailure(address) }
        return result
    }

    /// An upgrade whose `?token=…` is good, or a 401 that says what is wrong with it (429 when
    /// the address has failed too often): checked before the 101, so a bad token never gets a
    /// WebSocket.
    func admitToken(_ query: [String: String], peer: String?) async -> UpgradeVerdict {
        switch await authenticate(query["token"], from: peer) {
        case .success: .accept
        case .failure(let refusal):
            if case .tooManyFailures(_, _, _, let wait) = refusal {
                .refuse(.tooManyRequests, headers: [("Retry-After", String(wait))], body: "Not authenticated: \(refusal).\n")
            } else {
                .refuse(.unauthorized, body: "Not authenticated: \(refusal).\n")
            }
        }
    }

    /// The user behind a request's token, or a 401 reply that says what was wrong with it (429
    /// with `Retry-After` when the address has failed too often).
    func requireUser(_ exchange: HTTPExchange) async throws -> LabUser {
        switch await authenticate(exchange.bearerToken, from: exchange.peer) {
        case .success(let verified): return verified.user
        case .failure(let refusal): throw HTTPReply(refusal: refusal)
        }
    }
}

extension HTTPReply {
    /// 401 with the reason, or 429 with `Retry-After` for an address that failed too often.
    init(refusal: Authenticator.Refusal) {
        if case .tooManyFailures(_, _, _, let wait) = refusal {
            self.init(refusal.json, status: .tooManyRequests)
            headers = [("Retry-After", String(wait))]
        } else {
            self.init(refusal.json, status: .unauthorized)
        }
    }
}

extension WebSocketSession {
    /// Runs `body`; if the token the connection was opened with expires first, the client is
    /// told in an error message and the connection is closed with 1008 "token expired". A token
    /// is checked when the connection opens, and the connection must not outlive it.
    func untilExpiry(_ expires: Date, _ body: () async throws -> Void) async throws {
        let lab = self.lab
        let watch = Task {
            let left = expires.timeIntervalSince(lab.clock.now())
            try await Task.sleep(for: .milliseconds(Int64(max(0, left) * 1000)))
            lab.announce("closing a connection with 1008: its token expired")
            try? await send(.error("your token expired at \(expires.formatted(Date.ISO8601FormatStyle())); log in again (POST /auth/token) and reconnect"))
            try? await outbound.close(.policyViolation, reason: "token expired")
        }
        defer { watch.cancel() }
        try await body()
    }
}
