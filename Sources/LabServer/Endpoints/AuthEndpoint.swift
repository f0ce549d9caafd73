import NIOConcurrencyHelpers
import WireProtocol

extension Endpoint {
    /// The guide's "Auth & JWT over WebSocket": browsers cannot set an Authorization header on a
    /// WebSocket, so the token travels another way.
    ///
    /// - `POST /auth/token` with `{"username","password"}` gives a signed token (HS256, 1 hour).
    /// - Method 1, `/ws?token=…`: checked before the upgrade; a bad token gets `401` and no `101`.
    ///   Simple, but the token is in the URL, and URLs end up in logs.
    /// - Method 2, `/ws/secure`: upgrade first, then the first message must be
    ///   `{"type":"auth","token":…}` within 5 s, answered `{"type":"auth_ok","user":NAME}`;
    ///   anything else closes with 1008 and a reason.
    /// Once in, each JSON message comes back as `{"from": user, "data": message, "timestamp"}`.
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
                WebSocketRoute("/ws", admit: { _, query in await lab.admitToken(query) }) { session in
                    guard case .success(let user) = await lab.auth.verify(session.query["token"]) else { return }
                    try await serve(session, as: user)
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
                        switch await lab.auth.verify(json["token"]?.stringValue) {
                        case .success(let user):
                            authenticated.withLockedValue { $0 = true }
                            timer.cancel()
                            try await session.send(.object([("type", "auth_ok"), ("user", .string(user.name))]))
                            while let message = try await messages.next() {
                                guard case .text(let text) = message, let json = try? JSON(parsing: text) else {
                                    try await session.send(.error("expected a JSON text message"))
                                    continue
                                }
                                try await session.send(.object([("from", .string(user.name)), ("data", json), ("timestamp", .string(lab.clock.timestamp()))]))
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
                    guard let token = try await lab.auth.login(username: username, password: password) else {
                        throw HTTPReply(.error("wrong username or password"), status: .unauthorized)
                    }
                    return HTTPReply(.object([
                        ("access_token", .string(token)), ("token_type", "bearer"),
                        ("expires_in", .number(Authenticator.lifetime)), ("user", .string(username)),
                    ]))
                }
            ]
        )
    }
}
