import NIOConcurrencyHelpers
import WireProtocol

extension Endpoint {
    /// The guide's "Auth & JWT over WebSocket": browsers cannot set an Authorization header on a
    /// WebSocket, so the token travels another way.
    ///
    /// - `POST /auth/token` with `{"username","password"}` gives a signed token (HS256, 1 hour;
    ///   the lab's own `"expires_in":SECONDS` asks for less).
    /// - Method 1, `/ws?token=…`: checked before the upgrade; a bad token gets `401` and no `101`.
    ///   Simple, but the token is in the URL, and URLs end up in logs.
    /// - Method 2, `/ws/secure`: upgrade first, then the first message must be
    ///   `{"type":"auth","token":…}` within 5 s, answered `{"type":"auth_ok","user":NAME}`;
    ///   anything else closes with 1008 and a reason.
    /// Once in, each JSON message comes back as `{"from": user, "data": message, "timestamp"}`.
    /// A connection lasts no longer than its token: at expiry the lab closes it with 1008.
    /// Failed logins and token checks count per client address (``AuthThrottle``).
    static func auth(_ lab: LabContext) -> Endpoint {
        @Sendable func serve(_ session: WebSocketSession, as user: LabUser) async throws {
            for try await message in session.jsonMessages(reply: session.send) {
                try await session.send(.object([("from", .string(user.name)), ("data", message), ("timestamp", .string(lab.clock.timestamp()))]))
            }
        }
        return Endpoint(
            name: "auth",
            summary: "tokens: POST /auth/token, then /ws?token=… (checked before the upgrade) or /ws/secure (first message)",
            guideSection: "Auth & JWT over WebSocket",
            firstMessage: "send {\"msg\":\"hi\"}",
            webSocketRoutes: [
                WebSocketRoute("/ws", admit: { _, query, peer in await lab.admitToken(query, peer: peer) }) { session in
                    guard case .success(let verified) = await lab.auth.check(session.query["token"]) else { return }
                    try await session.untilExpiry(verified.expires) { try await serve(session, as: verified.user) }
                },
                WebSocketRoute("/ws/secure") { session in
                    let authenticated = NIOLockedValueBox(false)
                    let timeout = lab.limits.authTimeout
                    let timer = Task {
                        try await Task.sleep(for: timeout)
                        guard !authenticated.withLockedValue({ $0 }) else { return }
                        try? await session.send(.error("no auth message within \(timeout.formatted(.units(allowed: [.seconds, .milliseconds])))"))
                        try? await session.outbound.close(.policyViolation, reason: "authentication timeout")
                    }
                    defer { timer.cancel() }
                    var messages = session.messages().makeAsyncIterator()
                    guard let first = try await messages.next() else { return }
                    let refusal: String
                    if case .text(let text) = first, let json = try? JSON(parsing: text), json["type"]?.stringValue == "auth" {
                        switch await lab.authenticate(json["token"]?.stringValue, from: session.peer) {
                        case .success(let verified):
                            let user = verified.user
                            authenticated.withLockedValue { $0 = true }
                            timer.cancel()
                            try await session.send(.object([("type", "auth_ok"), ("user", .string(user.name))]))
                            try await session.untilExpiry(verified.expires) {
                                while let message = try await messages.next() {
                                    guard case .text(let text) = message, let json = try? JSON(parsing: text) else {
                                        try await session.send(.error("expected a JSON text message"))
                                        continue
                                    }
                                    try await session.send(.object([("from", .string(user.name)), ("data", json), ("timestamp", .string(lab.clock.timestamp()))]))
                                }
                            }
                            return
                        case .failure(let reason):
                            refusal = "invalid token: \(reason)"
                        }
                    } else {
                        refusal = "the first message must be {\"type\":\"auth\",\"token\":\"…\"}"
                    }
                    timer.cancel()
                    try await session.send(.error(refusal))
                    try await session.outbound.close(.policyViolation, reason: refusal.count > 120 ? "authentication failed" : refusal)
                },
            ],
            httpRoutes: [
                HTTPRoute(.post, "/auth/token") { exchange in
                    let body = try exchange.objectBody()
                    guard let username = body["username"]?.stringValue, let password = body["password"]?.stringValue else {
                        throw HTTPReply.badRequest("the body needs \"username\" and \"password\"")
                    }
                    let address = exchange.peer ?? "an unknown address"
                    if let refusal = lab.authThrottle.refusal(for: address) { throw HTTPReply(refusal: refusal) }
                    // Not in the guide: a shorter lifetime, so that expiry can be seen without waiting an hour.
                    var lifetime = Authenticator.lifetime
                    if let value = body["expires_in"] {
                        guard let seconds = value.numberValue, seconds >= 1, seconds <= Authenticator.lifetime, seconds.rounded() == seconds else {
                            throw HTTPReply.badRequest("\"expires_in\", if given, must be a whole number of seconds from 1 to \(Int(Authenticator.lifetime)), not \(value.text)")
                        }
                        lifetime = seconds
                    }
                    guard let token = try await lab.auth.login(username: username, password: password, lifetime: lifetime) else {
                        lab.authThrottle.recordFailure(address)
                        throw HTTPReply(.error("wrong username or password"), status: .unauthorized)
                    }
                    return HTTPReply(.object([
                        ("access_token", .string(token)), ("token_type", "bearer"),
                        ("expires_in", .number(lifetime)), ("user", .string(username)),
                    ]))
                }
            ]
        )
    }
}
