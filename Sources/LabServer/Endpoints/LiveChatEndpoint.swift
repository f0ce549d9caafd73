import NIOConcurrencyHelpers
import WireProtocol

extension Endpoint {
    /// The guide's end-to-end chat: `/ws/chat?username=NAME`.
    ///
    /// - The newcomer gets `{"type":"history","messages":[the last 50]}`.
    /// - Everyone gets `{"type":"system","text":"NAME joined","online":[…]}`.
    /// - `{"type":"message","text"}` is broadcast with `from`, cut to 500 characters, and kept.
    /// - `{"type":"typing"}` is broadcast as `{"type":"typing","user"}`.
    /// - Leaving broadcasts `{"type":"system","text":"NAME left","online":[…]}`.
    /// Every broadcast carries a `timestamp`, as the guide's `broadcast` adds one.
    static func liveChat(_ lab: LabContext) -> Endpoint {
        let chat = ChatManager(lab: lab)
        return Endpoint(
            name: "livechat",
            summary: "live chat with history (last 50), typing indicators and a 500-character limit",
            guideSection: "Live Chat App — End to End",
            firstMessage: "send {\"type\":\"message\",\"text\":\"hi\"}",
            webSocketRoutes: [
                WebSocketRoute("/ws/chat", admit: { _, query, _ in
                    guard let username = query["username"], !username.isEmpty else {
                        return .refuse(.badRequest, body: "The live chat needs a name: /ws/chat?username=NAME\n")
                    }
                    return chat.isOnline(username)
                        ? .refuse(.conflict, body: "\(username) is already in the live chat; pick another name.\n")
                        : .accept
                }) { session in
                    let username = session.query["username"] ?? ""
                    try await chat.session(session, username: username) { me in
                        for try await data in session.chatMessages(reply: me.send) {
                            switch data["type"]?.stringValue {
                            case "message":
                                guard let text = data["text"]?.stringValue else {
                                    await me.send(.error("a message needs a \"text\" string: {\"type\":\"message\",\"text\":\"hi\"}"))
                                    continue
                                }
                                await chat.message(text, from: username)
                            case "typing":
                                await chat.typing(username)
                            default:
                                await me.send(.error("unknown or missing \"type\"; the live chat takes \"message\" and \"typing\""))
                            }
                        }
                    }
                }
            ],
            httpRoutes: [
                HTTPRoute(.post, "/http/livechat") { exchange in
                    let body = try exchange.objectBody()
                    guard let username = body["username"]?.stringValue, !username.isEmpty else {
                        throw HTTPReply.badRequest("the body needs a \"username\"")
                    }
                    switch body["type"]?.stringValue {
                    case "message":
                        guard let text = body["text"]?.stringValue else { throw HTTPReply.badRequest("a message needs a \"text\" string") }
                        return HTTPReply(.object([("id", .number(Double(await chat.message(text, from: username))))]))
                    case "typing":
                        return HTTPReply(.object([("id", .number(Double(await chat.typing(username))))]))
                    default:
                        throw HTTPReply.badRequest("unknown or missing \"type\"; the live chat takes \"message\" and \"typing\"")
                    }
                },
                HTTPRoute(.get, "/http/livechat") { exchange in
                    let (since, wait) = try exchange.pollParameters()
                    return HTTPReply(await chat.topic.poll(since: since, wait: wait))
                },
                HTTPRoute(.get, "/http/livechat/history") { _ in
                    HTTPReply(chat.history())
                },
            ]
        )
    }
}

/// The guide's `ChatManager`: who is online, the topic, and the history of messages.
final class ChatManager: Sendable {
    static let historyLength = 50
    static let maxTextLength = 500

    let lab: LabContext
    let topic: Topic
    private let online = NIOLockedValueBox(Presence())

    init(lab: LabContext) {
        self.lab = lab
        self.topic = Topic(lab: lab)
    }

    func isOnline(_ username: String) -> Bool {
        online.withLockedValue { $0.isTaken(username) }
    }

    /// `{"type":"history","messages":[…]}`: the last 50 chat messages (joins and typing are not kept).
    func history() -> JSON {
        let messages = topic.entries(since: 0).map(\.message).filter { $0["type"]?.stringValue == "message" }
        return .object([("type", "history"), ("messages", .array(Array(messages.suffix(Self.historyLength))))])
    }

    func session(_ session: WebSocketSession, username: String, body: (Subscriber) async throws -> Void) async throws {
        let me = Subscriber(name: username, session: session)
        guard case .claimed(let closing) = online.withLockedValue({ $0.claim(username, by: me) }) else {
            try await session.outbound.close(.policyViolation, reason: "\(username) is already in the live chat")
            return
        }
        if let closing { await leave(closing, username: username) }
        do {
            try await me.run {
                await me.send(history())
                topic.add(me)
                await system("\(username) joined")
                try await body(me)
            }
        } catch {
            await leave(me, username: username)
            throw error
        }
        await leave(me, username: username)
    }

    private func leave(_ me: Subscriber, username: String) async {
        guard me.departOnce() else { return }
        topic.remove(me)
        online.withLockedValue { $0.release(username, by: me) }
        await system("\(username) left")
    }

    private func system(_ text: String) async {
        let names = online.withLockedValue { $0.names }
        _ = await broadcast([("type", "system"), ("text", .string(text)), ("online", .array(names.map { .string($0) }))])
    }

    @discardableResult
    func message(_ text: String, from username: String) async -> Int {
        // The guide's `text[:500]`: Python slices code points, and so does this.
        let cut = String(String.UnicodeScalarView(text.unicodeScalars.prefix(Self.maxTextLength)))
        return await broadcast([("type", "message"), ("from", .string(username)), ("text", .string(cut))])
    }

    @discardableResult
    func typing(_ username: String) async -> Int {
        await broadcast([("type", "typing"), ("user", .string(username))])
    }

    /// The guide's `broadcast`: stamps the message, then sends it to everyone.
    private func broadcast(_ members: [(String, JSON)]) async -> Int {
        await topic.publish(.object(members + [("timestamp", .string(lab.clock.timestamp()))]))
    }
}
