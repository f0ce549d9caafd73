import NIOConcurrencyHelpers
import WireProtocol

extension Endpoint {
    /// The guide's RoomManager: `/ws/room/{room_id}/{client_id}` talks to one room only.
    ///
    /// - Joining sends `{"type":"joined","user","members":[…]}` to the room, the newcomer included.
    /// - `{"text": …}` goes to the room as `{"type":"message","from","text"}`.
    /// - Leaving sends `{"type":"left","user"}`; the last one out removes the room.
    /// - An id already in the room is refused with 409 Conflict.
    static func room(_ lab: LabContext) -> Endpoint {
        let manager = RoomManager(lab: lab)
        return Endpoint(
            name: "room",
            summary: "rooms: joined, message and left go to the members of one room only",
            guideSection: "FastAPI WebSocket Server (RoomManager)",
            firstMessage: "send {\"text\":\"hi\"}",
            webSocketRoutes: [
                WebSocketRoute("/ws/room/{room_id}/{client_id}", admit: { parameters, _, _ in
                    let (room, client) = (parameters["room_id"] ?? "", parameters["client_id"] ?? "")
                    return manager.isTaken(client, in: room)
                        ? .refuse(.conflict, body: "\(client) is already in room \(room); pick another id.\n")
                        : .accept
                }) { session in
                    let (roomID, clientID) = (session.parameters["room_id"] ?? "", session.parameters["client_id"] ?? "")
                    try await manager.session(session, room: roomID, clientID: clientID) { me, room in
                        for try await data in session.chatMessages(reply: me.send) {
                            guard let text = data["text"]?.stringValue else {
                                await me.send(.error("a room message needs a \"text\" string, e.g. {\"text\":\"hi\"}"))
                                continue
                            }
                            await room.publish(.object([("type", "message"), ("from", .string(clientID)), ("text", .string(text))]))
                        }
                    }
                }
            ],
            httpRoutes: [
                HTTPRoute(.post, "/http/room/{room_id}/{client_id}") { exchange in
                    guard let text = try exchange.objectBody()["text"]?.stringValue else {
                        throw HTTPReply.badRequest("a room message needs a \"text\" string, e.g. {\"text\":\"hi\"}")
                    }
                    let room = manager.topic(for: exchange.parameters["room_id"] ?? "", create: true)!
                    let from = exchange.parameters["client_id"] ?? ""
                    let id = await room.publish(.object([("type", "message"), ("from", .string(from)), ("text", .string(text))]))
                    return HTTPReply(.object([("id", .number(Double(id)))]))
                },
                HTTPRoute(.get, "/http/room/{room_id}") { exchange in
                    let (since, wait) = try exchange.pollParameters()
                    let room = manager.topic(for: exchange.parameters["room_id"] ?? "", create: wait != nil)
                    guard let room else {
                        return HTTPReply(.object([("messages", .array([])), ("last_id", .number(Double(since))), ("outcome", "immediate")]))
                    }
                    return HTTPReply(await room.poll(since: since, wait: wait))
                },
            ]
        )
    }
}

/// The guide's `RoomManager`: room id → topic and members.
///
/// When the last member leaves, the room's members and messages are removed, as in the guide; its
/// topic object stays behind, empty, so that message ids keep rising (a poller's `since` must
/// never point past a re-created room) and a long poll held across the gap sees the next
/// members. The oldest of more than `maxEmptyRooms` empty rooms are forgotten entirely.
final class RoomManager: Sendable {
    static let maxEmptyRooms = 1000

    let lab: LabContext
    private struct Room {
        let topic: Topic
        var members = Presence()
    }
    private struct State {
        var rooms: [String: Room] = [:]
        /// Empty rooms, oldest first.
        var empty: [String] = []
    }
    private let state = NIOLockedValueBox(State())

    init(lab: LabContext) {
        self.lab = lab
    }

    func isTaken(_ client: String, in room: String) -> Bool {
        state.withLockedValue { $0.rooms[room]?.members.isTaken(client) ?? false }
    }

    func members(of room: String) -> [String] {
        state.withLockedValue { $0.rooms[room].map { $0.members.names } ?? [] }
    }

    /// A room's topic; HTTP posters and long pollers may create one.
    func topic(for room: String, create: Bool) -> Topic? {
        state.withLockedValue { state in
            if let existing = state.rooms[room] { return existing.topic }
            guard create else { return nil }
            let topic = Topic(lab: lab)
            state.rooms[room] = Room(topic: topic)
            state.empty.append(room)  // no member yet: it counts as empty
            if state.empty.count > Self.maxEmptyRooms {
                state.rooms.removeValue(forKey: state.empty.removeFirst())
            }
            return topic
        }
    }

    func session(_ session: WebSocketSession, room roomID: String, clientID: String, body: (Subscriber, Topic) async throws -> Void) async throws {
        let me = Subscriber(name: clientID, session: session)
        let joined: (topic: Topic, closing: Subscriber?)? = state.withLockedValue { state in
            var room = state.rooms[roomID] ?? Room(topic: Topic(lab: lab))
            guard case .claimed(let closing) = room.members.claim(clientID, by: me) else { return nil }
            state.rooms[roomID] = room
            state.empty.removeAll { $0 == roomID }
            return (room.topic, closing)
        }
        guard let (topic, closing) = joined else {
            try await session.outbound.close(.policyViolation, reason: "\(clientID) is already in room \(roomID)")
            return
        }
        if let closing { await leave(closing, room: roomID, clientID: clientID, topic: topic) }
        let members = state.withLockedValue { $0.rooms[roomID]?.members.names.sorted() ?? [clientID] }
        topic.add(me)
        do {
            try await me.run {
                await topic.publish(.object([("type", "joined"), ("user", .string(clientID)), ("members", .array(members.map { .string($0) }))]))
                try await body(me, topic)
            }
        } catch {
            await leave(me, room: roomID, clientID: clientID, topic: topic)
            throw error
        }
        await leave(me, room: roomID, clientID: clientID, topic: topic)
    }

    private func leave(_ me: Subscriber, room roomID: String, clientID: String, topic: Topic) async {
        guard me.departOnce() else { return }
        topic.remove(me)
        let empty = state.withLockedValue { state -> Bool in
            state.rooms[roomID]?.members.release(clientID, by: me)
            guard state.rooms[roomID]?.members.isEmpty ?? true else { return false }
            // Empty room cleanup, as in the guide: members and messages go.
            state.rooms[roomID]?.topic.clearLog()
            state.empty.append(roomID)
            if state.empty.count > Self.maxEmptyRooms {
                state.rooms.removeValue(forKey: state.empty.removeFirst())
            }
            return true
        }
        if !empty {
            await topic.publish(.object([("type", "left"), ("user", .string(clientID))]))
        }
    }
}
