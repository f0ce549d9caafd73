import NIOConcurrencyHelpers
import WireProtocol

extension Endpoint {
    /// The guide's ConnectionManager: `/ws/chat/{client_id}` broadcasts every message to all.
    ///
    /// - On connect the others get `{"type":"user_joined","client_id","online_count"}`.
    /// - Each `{"text": …}` goes to everyone as `{"type":"message","from","text","timestamp"}`.
    /// - On disconnect the others get `{"type":"user_left","client_id"}`.
    /// - A second connection with an id already online is refused with 409 Conflict (the guide
    ///   would silently replace the first one's entry and leave it connected but deaf).
    static func chat(_ lab: LabContext) -> Endpoint {
        let manager = ConnectionManager(lab: lab)
        return Endpoint(
            name: "chat",
            summary: "broadcast chat: user_joined, message and user_left go to everyone online",
            guideSection: "FastAPI WebSocket Server (ConnectionManager)",
            firstMessage: "send {\"text\":\"hi\"}",
            webSocketRoutes: [
                WebSocketRoute("/ws/chat/{client_id}", admit: { parameters, _, _ in
                    manager.isOnline(parameters["client_id"] ?? "")
                        ? .refuse(.conflict, body: "Client id \(parameters["client_id"] ?? "") is already connected to the chat; pick another id.\n")
                        : .accept
                }) { session in
                    let clientID = session.parameters["client_id"] ?? ""
                    try await manager.session(session, clientID: clientID) { me in
                        for try await data in session.chatMessages(reply: me.send) {
                            guard let text = data["text"]?.stringValue else {
                                await me.send(.error("a chat message needs a \"text\" string, e.g. {\"text\":\"hi\"}"))
                                continue
                            }
                            await manager.post(text, from: clientID)
                        }
                    }
                }
            ],
            httpRoutes: [
                // The same chat over HTTP: post a message, then poll for what is new.
                HTTPRoute(.post, "/http/chat/{client_id}") { exchange in
                    guard let text = try exchange.objectBody()["text"]?.stringValue else {
                        throw HTTPReply.badRequest("a chat message needs a \"text\" string, e.g. {\"text\":\"hi\"}")
                    }
                    let id = await manager.post(text, from: exchange.parameters["client_id"] ?? "")
                    return HTTPReply(.object([("id", .number(Double(id)))]))
                },
                HTTPRoute(.get, "/http/chat") { exchange in
                    let (since, wait) = try exchange.pollParameters()
                    return HTTPReply(await manager.topic.poll(since: since, wait: wait))
                },
                // The same log as Server-Sent Events (SSE down, POST up: how SignalR and Engine.IO
                // pair them): from now on, or after `Last-Event-ID`.
                HTTPRoute(.get, "/http/chat/events") { exchange in
                    let topic = manager.topic
                    return await topic.eventStream(for: "chat stream", after: try exchange.lastEventID() ?? topic.lastID, lab: lab)
                },
            ]
        )
    }
}

/// The guide's `ConnectionManager`: who is online in the chat, and the chat's one topic.
final class ConnectionManager: Sendable {
    let lab: LabContext
    let topic: Topic
    private let online = NIOLockedValueBox(Presence())

    init(lab: LabContext) {
        self.lab = lab
        self.topic = Topic(lab: lab)
    }

    func isOnline(_ clientID: String) -> Bool {
        online.withLockedValue { $0.isTaken(clientID) }
    }

    /// Connects, runs `body` while the client is online, then disconnects and tells the others.
    func session(_ session: WebSocketSession, clientID: String, body: (Subscriber) async throws -> Void) async throws {
        let me = Subscriber(name: clientID, session: session)
        guard case .claimed(let closing) = online.withLockedValue({ $0.claim(clientID, by: me) }) else {
            // Two upgrades for one id raced past the 409 check; the later one goes.
            try await session.outbound.close(.policyViolation, reason: "client id \(clientID) is already connected")
            return
        }
        if let closing { await disconnect(closing, clientID: clientID) }
        topic.add(me)
        do {
            try await me.run {
                let count = online.withLockedValue { $0.count }
                await topic.publish(
                    .object([("type", "user_joined"), ("client_id", .string(clientID)), ("online_count", .number(Double(count)))]),
                    excluding: me
                )
                try await body(me)
            }
        } catch {
            await disconnect(me, clientID: clientID)
            throw error
        }
        await disconnect(me, clientID: clientID)
    }

    private func disconnect(_ me: Subscriber, clientID: String) async {
        guard me.departOnce() else { return }
        topic.remove(me)
        online.withLockedValue { $0.release(clientID, by: me) }
        await topic.publish(.object([("type", "user_left"), ("client_id", .string(clientID))]))
    }

    @discardableResult
    func post(_ text: String, from clientID: String) async -> Int {
        await topic.publish(
            .object([("type", "message"), ("from", .string(clientID)), ("text", .string(text)), ("timestamp", .string(lab.clock.timestamp()))])
        )
    }
}
