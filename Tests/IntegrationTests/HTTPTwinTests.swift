import LabServer
import Testing
import WireProtocol

/// The HTTP twins of chat, room and livechat: one source of truth shared with the WebSocket side.
@Suite struct HTTPTwinTests {
    static func json(_ answer: HTTPAnswer) throws -> JSON {
        #expect(answer.status == 200, "\(answer)")
        #expect(answer.contentType == "application/json", "\(answer)")
        return try #require(answer.json, "\(answer)")
    }

    static func post(_ path: String, _ body: JSON, port: Int) async throws -> Int {
        let answer = try json(try await httpRequest("POST", path, port: port, body: body.text))
        #expect(answer.keys == ["id"], "\(answer.text)")
        return try #require(answer["id"]?.intValue, "\(answer.text)")
    }

    static func poll(_ path: String, port: Int, timeout: Duration = .seconds(10)) async throws -> JSON {
        let answer = try json(try await httpRequest("GET", path, port: port, timeout: timeout))
        #expect(answer.keys == ["messages", "last_id", "outcome"], "\(answer.text)")
        return answer
    }

    // MARK: chat

    @Test func aPostedChatMessageReachesWebSocketMembersAsANormalMessage() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await JSONClient.connect(port: port, path: "/ws/chat/alice")
        try await alice.syncWithSession()

        let id = try await Self.post("/http/chat/web", .obj(("text", "from HTTP")), port: port)
        #expect(id >= 1)
        let message = try await alice.next()
        #expect(message.keys == ["type", "from", "text", "timestamp"], "\(message.text)")
        #expect(message.removing("timestamp") == .obj(("type", "message"), ("from", "web"), ("text", "from HTTP")))
        #expect(isISOTimestamp(message["timestamp"]))
        await alice.close()
    }

    @Test func shortPollsReturnOnlyNewerMessagesWithIdsFirst() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let empty = try await Self.poll("/http/chat", port: port)
        #expect(empty == .obj(("messages", []), ("last_id", 0), ("outcome", "immediate")))

        var ids: [Int] = []
        for text in ["one", "two", "three"] {
            ids.append(try await Self.post("/http/chat/poster", .obj(("text", .string(text))), port: port))
        }
        #expect(ids == [ids[0], ids[0] + 1, ids[0] + 2], "ids go up by one")

        let first = try await Self.poll("/http/chat?since=0", port: port)
        #expect(first["outcome"] == "immediate")
        let messages = try #require(first["messages"]?.arrayValue)
        #expect(messages.map { $0["id"]?.intValue } == ids.map { $0 })
        #expect(messages.map { $0["text"]?.stringValue } == ["one", "two", "three"])
        for message in messages {
            #expect(message.keys == ["id", "type", "from", "text", "timestamp"], "\(message.text)")
            #expect(message["type"] == "message" && message["from"] == "poster")
            #expect(isISOTimestamp(message["timestamp"]))
        }
        let lastID = try #require(first["last_id"]?.intValue)
        #expect(lastID == ids.last)

        // Nothing new: nothing returned, and last_id stays.
        #expect(try await Self.poll("/http/chat?since=\(lastID)", port: port) == .obj(("messages", []), ("last_id", .number(Double(lastID))), ("outcome", "immediate")))

        // Only what is newer than since.
        let four = try await Self.post("/http/chat/poster", .obj(("text", "four")), port: port)
        let five = try await Self.post("/http/chat/poster", .obj(("text", "five")), port: port)
        let second = try await Self.poll("/http/chat?since=\(lastID)", port: port)
        #expect(second["messages"]?.arrayValue?.map { $0["id"]?.intValue } == [four, five])
        #expect(second["last_id"]?.intValue == five)
        let middle = try await Self.poll("/http/chat?since=\(ids[1])", port: port)
        #expect(middle["messages"]?.arrayValue?.compactMap { $0["text"]?.stringValue } == ["three", "four", "five"])
    }

    /// How `compare`'s helpers learn where the log is without downloading it.
    @Test func sinceLatestAnswersTheLastIDWithoutTheLog() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        var lastID = 0
        for number in 1...3 { lastID = try await Self.post("/http/chat/web", .obj(("text", .string("message \(number)"))), port: port) }
        #expect(try await Self.poll("/http/chat?since=latest", port: port) == .obj(("messages", []), ("last_id", .number(Double(lastID))), ("outcome", "immediate")))
        // An id past the newest means "from now" too: the next message is not missed.
        #expect(try await Self.poll("/http/chat?since=\(lastID + 100)", port: port)["last_id"] == .number(Double(lastID)))
        let next = try await Self.post("/http/chat/web", .obj(("text", "after")), port: port)
        let answer = try await Self.poll("/http/chat?since=latest&wait=0", port: port)
        #expect(answer["last_id"] == .number(Double(next)))
        let bad = try await httpRequest("GET", "/http/chat?since=newest", port: port)
        #expect(bad.status == 400)
        #expect(bad.body.contains("since must be a message id (0 or more) or latest"), "\(bad)")
    }

    @Test func successivePollsWithLastIDLoseAndRepeatNothing() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let total = 60
        // A writer posts while the poller polls; the poller must see each message exactly once.
        let writer = Task {
            for index in 0..<total {
                _ = try await Self.post("/http/chat/writer", .obj(("text", .string("n\(index)"))), port: port)
            }
        }
        var seen: [String] = []
        var since = 0
        let deadline = ContinuousClock.now + .seconds(30)
        while seen.count < total && ContinuousClock.now < deadline {
            let answer = try await Self.poll("/http/chat?since=\(since)&wait=5", port: port)
            seen += answer["messages"]?.arrayValue?.compactMap { $0["text"]?.stringValue } ?? []
            since = try #require(answer["last_id"]?.intValue)
        }
        try await writer.value
        #expect(seen == (0..<total).map { "n\($0)" })
    }

    @Test func aLongPollIsHeldUntilAMessageArrives() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let start = try await Self.post("/http/chat/early", .obj(("text", "before")), port: port)
        let poll = Task { try await Self.poll("/http/chat?since=\(start)&wait=20", port: port, timeout: .seconds(30)) }
        // Held: the lab is waiting on it (a fixed sleep lost the race on a busy machine).
        #expect(await eventually(timeout: .seconds(10)) { lab.context.heldPollCount == 1 })
        let id = try await Self.post("/http/chat/late", .obj(("text", "after")), port: port)
        let answer = try await poll.value
        #expect(answer["outcome"] == "new_messages", "\(answer.text)")
        let messages = try #require(answer["messages"]?.arrayValue)
        #expect(messages.count == 1)
        #expect(messages.first?.removing("timestamp") == .obj(("id", .number(Double(id))), ("type", "message"), ("from", "late"), ("text", "after")))
        #expect(answer["last_id"]?.intValue == id)
    }

    @Test func aLongPollWithNothingNewEndsWithTimeout() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let answer = try await Self.poll("/http/chat?since=0&wait=0.5", port: port)
        #expect(answer == .obj(("messages", []), ("last_id", 0), ("outcome", "timeout")))
    }

    @Test func aLongPollWithSomethingAlreadyNewAnswersAtOnce() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        _ = try await Self.post("/http/chat/x", .obj(("text", "waiting already")), port: port)
        let answer = try await Self.poll("/http/chat?since=0&wait=30", port: port, timeout: .seconds(5))
        #expect(answer["outcome"] == "immediate")
        #expect(answer["messages"]?.arrayValue?.count == 1)
    }

    @Test func aWebSocketClientAndAnHTTPPollerSeeEachOthersMessages() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let ws = try await JSONClient.connect(port: port, path: "/ws/chat/wsuser")
        try await ws.syncWithSession()
        let start = try #require(try await Self.poll("/http/chat", port: port)["last_id"]?.intValue)

        try await ws.send(.obj(("text", "hello from WebSocket")))
        let own = try await ws.next(type: "message")
        let polled = try await Self.poll("/http/chat?since=\(start)&wait=5", port: port)
        let entries = try #require(polled["messages"]?.arrayValue)
        #expect(entries.count == 1)
        // The poller sees exactly what the WebSocket members were sent, with its id in front.
        #expect(entries.first?.removing("id") == own)
        #expect(entries.first?.keys?.first == "id")

        _ = try await Self.post("/http/chat/httpuser", .obj(("text", "hello from HTTP")), port: port)
        #expect(try await ws.next().removing("timestamp") == .obj(("type", "message"), ("from", "httpuser"), ("text", "hello from HTTP")))
        let next = try await Self.poll("/http/chat?since=\(try #require(polled["last_id"]?.intValue))", port: port)
        #expect(next["messages"]?.arrayValue?.compactMap { $0["text"]?.stringValue } == ["hello from HTTP"])
        await ws.close()
    }

    @Test func chatPostWithoutTextIsABadRequest() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        for body in [#"{"msg":"x"}"#, "not json", "[1]", #"{"text":1}"#] {
            let answer = try await httpRequest("POST", "/http/chat/x", port: port, body: body)
            #expect(answer.status == 400, "\(body): \(answer)")
            #expect(answer.json?.keys == ["type", "error"], "\(body): \(answer)")
        }
        let noBody = try await httpRequest("POST", "/http/chat/x", port: port)
        #expect(noBody.status == 400, "\(noBody)")
        #expect(try await Self.poll("/http/chat", port: port)["messages"] == [], "nothing was posted")
    }

    // MARK: room

    @Test func roomTwinsShareTheRoomWithWebSocketMembers() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await JSONClient.connect(port: port, path: "/ws/room/den/alice")
        let joined = try await alice.next(type: "joined")
        let other = try await JSONClient.connect(port: port, path: "/ws/room/hall/zoe")
        _ = try await other.next(type: "joined")

        let id = try await Self.post("/http/room/den/web", .obj(("text", "hi den")), port: port)
        #expect(try await alice.next() == .obj(("type", "message"), ("from", "web"), ("text", "hi den")))

        try await alice.send(.obj(("text", "hi web")))
        let echoed = try await alice.next(type: "message")
        let poll = try await Self.poll("/http/room/den?since=0", port: port)
        let entries = try #require(poll["messages"]?.arrayValue)
        #expect(entries.map { $0.removing("id") } == [joined, .obj(("type", "message"), ("from", "web"), ("text", "hi den")), echoed])
        #expect(entries.map { $0.keys?.first } == ["id", "id", "id"])
        #expect(entries[1]["id"]?.intValue == id)
        #expect(poll["outcome"] == "immediate")
        #expect(poll["last_id"]?.intValue == entries.last?["id"]?.intValue)

        // The other room heard none of it.
        let hall = try await Self.poll("/http/room/hall?since=0", port: port)
        #expect(hall["messages"]?.arrayValue?.map { $0["type"]?.stringValue } == ["joined"])
        #expect(try await other.unread(after: .milliseconds(200)).isEmpty)
        await alice.close()
        await other.close()
    }

    @Test func aRoomLongPollIsHeldUntilAMessageArrives() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let poll = Task { try await Self.poll("/http/room/quiet?since=0&wait=20", port: port, timeout: .seconds(30)) }
        try await Task.sleep(for: .seconds(1))  // time for the poll to arrive, even on a loaded machine
        let alice = try await JSONClient.connect(port: port, path: "/ws/room/quiet/alice")
        _ = try await alice.next(type: "joined")
        let answer = try await poll.value
        #expect(answer["outcome"] == "new_messages", "\(answer.text)")
        #expect(answer["messages"]?.arrayValue?.first?.removing("id") == .obj(("type", "joined"), ("user", "alice"), ("members", ["alice"])))
        let timeout = try await Self.poll("/http/room/quiet?since=\(try #require(answer["last_id"]?.intValue))&wait=0.3", port: port)
        #expect(timeout["outcome"] == "timeout")
        #expect(timeout["messages"] == [])
        await alice.close()
    }

    /// A poller that keeps its last_id across the room emptying (and so being removed) and filling
    /// again must still see the new room's messages: "nothing lost between successive polls".
    @Test func aPollerKeepsSeeingARoomThatEmptiedAndFilledAgain() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await JSONClient.connect(port: port, path: "/ws/room/cafe/alice")
        _ = try await alice.next(type: "joined")
        for text in ["a", "b", "c"] {
            try await alice.send(.obj(("text", .string(text))))
            _ = try await alice.next(type: "message")
        }
        let before = try await Self.poll("/http/room/cafe?since=0", port: port)
        let since = try #require(before["last_id"]?.intValue)  // 4: joined + three messages
        await alice.close()
        #expect(await eventually { lab.registry.connections.count(endpoint: "room") == 0 })

        let bob = try await JSONClient.connect(port: port, path: "/ws/room/cafe/bob")
        _ = try await bob.next(type: "joined")
        try await bob.send(.obj(("text", "anyone here?")))
        _ = try await bob.next(type: "message")
        let after = try await Self.poll("/http/room/cafe?since=\(since)", port: port)
        let texts = after["messages"]?.arrayValue?.compactMap { $0["text"]?.stringValue } ?? []
        #expect(texts.contains("anyone here?"), "the poller with last_id \(since) got \(after.text)")
        await bob.close()
    }

    /// The same, for a long poll held while the room empties and fills again.
    @Test func aLongPollHeldAcrossARoomEmptyingSeesTheNextMembers() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await JSONClient.connect(port: port, path: "/ws/room/bar/alice")
        _ = try await alice.next(type: "joined")
        let since = try #require(try await Self.poll("/http/room/bar?since=0", port: port)["last_id"]?.intValue)
        let poll = Task { try await Self.poll("/http/room/bar?since=\(since)&wait=3", port: port, timeout: .seconds(15)) }
        try await Task.sleep(for: .milliseconds(300))

        await alice.close()
        #expect(await eventually { lab.registry.connections.count(endpoint: "room") == 0 })
        let bob = try await JSONClient.connect(port: port, path: "/ws/room/bar/bob")
        _ = try await bob.next(type: "joined")
        try await bob.send(.obj(("text", "hello bar")))
        _ = try await bob.next(type: "message")

        let answer = try await poll.value
        #expect(answer["outcome"] == "new_messages", "\(answer.text)")
        #expect(answer["messages"]?.arrayValue?.isEmpty == false, "\(answer.text)")
        await bob.close()
    }

    // MARK: livechat

    @Test func liveChatTwinsShareTheChatWithWebSocketMembers() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let (ann, _) = try await LiveChatEndpointTests.join("ann", port: port)

        let id = try await Self.post("/http/livechat", .obj(("username", "web"), ("type", "message"), ("text", "hi ann")), port: port)
        let message = try await ann.next()
        #expect(message.keys == ["type", "from", "text", "timestamp"], "\(message.text)")
        #expect(message.removing("timestamp") == .obj(("type", "message"), ("from", "web"), ("text", "hi ann")))

        _ = try await Self.post("/http/livechat", .obj(("username", "web"), ("type", "typing")), port: port)
        #expect(try await ann.next().removing("timestamp") == .obj(("type", "typing"), ("user", "web")))

        try await ann.send(.obj(("type", "message"), ("text", "hi web")))
        let reply = try await ann.next(type: "message")
        let poll = try await Self.poll("/http/livechat?since=\(id - 1)", port: port)
        let entries = try #require(poll["messages"]?.arrayValue)
        #expect(entries.first == .object([("id", .number(Double(id)))] + (message.members ?? [])))
        #expect(entries.last?.removing("id") == reply)
        #expect(entries.map { $0["type"]?.stringValue } == ["message", "typing", "message"])

        // HTTP messages are kept in the history too.
        let history = try #require(try await httpRequest("GET", "/http/livechat/history", port: port).json)
        #expect(history == .obj(("type", "history"), ("messages", [message, reply])))
        await ann.close()
    }

    @Test func liveChatPostsThatAreIncompleteAreBadRequests() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        for body in [#"{"type":"message","text":"x"}"#, #"{"username":"","type":"message","text":"x"}"#, #"{"username":"u","type":"dance"}"#, #"{"username":"u","type":"message"}"#] {
            let answer = try await httpRequest("POST", "/http/livechat", port: port, body: body)
            #expect(answer.status == 400, "\(body): \(answer)")
            #expect(answer.json?.keys == ["type", "error"], "\(body): \(answer)")
        }
    }

    // MARK: bad query values

    @Test(arguments: [
        "/http/chat?since=-1", "/http/chat?wait=abc", "/http/chat?since=abc", "/http/chat?since=1.5", "/http/chat?wait=-1", "/http/chat?wait=61",
        "/http/room/r?since=-1", "/http/room/r?wait=abc",
        "/http/livechat?since=-1", "/http/livechat?wait=abc",
    ])
    func badQueryValuesAreBadRequestsWithAJSONError(_ path: String) async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let answer = try await httpRequest("GET", path, port: port)
        #expect(answer.status == 400, "\(path): \(answer)")
        #expect(answer.statusLine == "HTTP/1.1 400 Bad Request")
        #expect(answer.contentType == "application/json")
        let json = try #require(answer.json, "\(path): \(answer)")
        #expect(json.keys == ["type", "error"])
        #expect(json["type"] == "error")
        #expect(json["error"]?.stringValue?.isEmpty == false)
    }
}

extension JSON {
    fileprivate var members: [(String, JSON)]? {
        if case .object(let members) = self { return members }
        return nil
    }
}
