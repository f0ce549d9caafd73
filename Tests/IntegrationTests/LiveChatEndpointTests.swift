import LabServer
import Testing
import WireProtocol

/// `/ws/chat?username=NAME`: the guide's end-to-end live chat.
@Suite struct LiveChatEndpointTests {
    /// Joins and reads the history and the own "joined" line. - Returns: the client and the history.
    static func join(_ name: String, port: Int) async throws -> (JSONClient, JSON) {
        let client = try await JSONClient.connect(port: port, path: "/ws/chat?username=\(name)", name: name)
        let history = try await client.next()
        _ = try await client.next { $0["type"] == "system" && $0["text"]?.stringValue == "\(name) joined" }
        return (client, history)
    }

    @Test func newcomerGetsHistoryThenEveryoneGetsTheJoinedLine() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let ann = try await JSONClient.connect(port: port, path: "/ws/chat?username=ann")
        let history = try await ann.next()
        #expect(history == .obj(("type", "history"), ("messages", [])))
        #expect(history.keys == ["type", "messages"])
        let joined = try await ann.next()
        #expect(joined.keys == ["type", "text", "online", "timestamp"], "\(joined.text)")
        #expect(joined.removing("timestamp") == .obj(("type", "system"), ("text", "ann joined"), ("online", ["ann"])))
        #expect(isISOTimestamp(joined["timestamp"]), "\(joined.text)")

        let bob = try await JSONClient.connect(port: port, path: "/ws/chat?username=bob")
        #expect(try await bob.next()["type"] == "history")
        let expected = JSON.obj(("type", "system"), ("text", "bob joined"), ("online", ["ann", "bob"]))
        for client in [ann, bob] {
            let line = try await client.next()
            #expect(line.removing("timestamp") == expected, "\(client.name): \(line.text)")
            #expect(isISOTimestamp(line["timestamp"]))
        }
        await ann.close()
        await bob.close()
    }

    @Test func messagesAreBroadcastAndKeptInHistory() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let (ann, _) = try await Self.join("ann", port: port)
        let (bob, _) = try await Self.join("bob", port: port)
        _ = try await ann.next(type: "system")  // bob joined

        try await ann.send(.obj(("type", "message"), ("text", "hello, live chat")))
        var broadcast: [JSON] = []
        for client in [ann, bob] {
            let message = try await client.next()
            #expect(message.keys == ["type", "from", "text", "timestamp"], "\(client.name): \(message.text)")
            #expect(message.removing("timestamp") == .obj(("type", "message"), ("from", "ann"), ("text", "hello, live chat")))
            #expect(isISOTimestamp(message["timestamp"]))
            broadcast.append(message)
        }
        #expect(broadcast[0] == broadcast[1], "everyone gets the same bytes, timestamp included")

        // Typing is broadcast but not kept.
        try await bob.send(.obj(("type", "typing")))
        _ = try await ann.next(type: "typing")

        let (_, history) = try await Self.join("carol", port: port)
        #expect(history == .obj(("type", "history"), ("messages", [broadcast[0]])), "\(history.text)")

        let overHTTP = try await httpRequest("GET", "/http/livechat/history", port: port)
        #expect(overHTTP.status == 200, "\(overHTTP)")
        #expect(overHTTP.json == history)
        await ann.close()
        await bob.close()
    }

    @Test func historyKeepsTheLastFiftyMessages() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        for index in 1...55 {
            let answer = try await httpRequest(
                "POST", "/http/livechat", port: port, body: JSON.obj(("username", "poster"), ("type", "message"), ("text", .string("m\(index)"))).text
            )
            #expect(answer.status == 200, "\(answer)")
        }
        let (ann, history) = try await Self.join("ann", port: port)
        let texts = history["messages"]?.arrayValue?.compactMap { $0["text"]?.stringValue }
        #expect(texts == (6...55).map { "m\($0)" })
        await ann.close()
    }

    @Test(arguments: [
        ("ASCII", String(repeating: "a", count: 600), String(repeating: "a", count: 500)),
        ("one code point each", String(repeating: "\u{E9}", count: 501), String(repeating: "\u{E9}", count: 500)),
        // Python's text[:500] counts code points, not what the eye sees as characters.
        ("combining accents", String(repeating: "e\u{301}", count: 300), String(repeating: "e\u{301}", count: 250)),
        ("astral code points", String(repeating: "😀", count: 700), String(repeating: "😀", count: 500)),
        ("exactly 500", String(repeating: "b", count: 500), String(repeating: "b", count: 500)),
    ])
    func textLongerThan500CharactersIsCut(_ name: String, _ text: String, _ expected: String) async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let (ann, _) = try await Self.join("ann", port: port)
        try await ann.send(.obj(("type", "message"), ("text", .string(text))))
        let message = try await ann.next(type: "message")
        #expect(message["text"]?.stringValue.map { Array($0.unicodeScalars) } == Array(expected.unicodeScalars), "\(name): got \(message["text"]?.stringValue?.unicodeScalars.count ?? -1) code points")
        let history = try #require(try await httpRequest("GET", "/http/livechat/history", port: port).json)
        #expect(history["messages"]?.arrayValue?.first?["text"]?.stringValue.map { Array($0.unicodeScalars) } == Array(expected.unicodeScalars), "\(name)")
        await ann.close()
    }

    @Test func typingIsBroadcastToEveryone() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let (ann, _) = try await Self.join("ann", port: port)
        let (bob, _) = try await Self.join("bob", port: port)
        _ = try await ann.next(type: "system")
        try await ann.send(.obj(("type", "typing")))
        for client in [ann, bob] {
            let typing = try await client.next()
            #expect(typing.keys == ["type", "user", "timestamp"], "\(client.name): \(typing.text)")
            #expect(typing.removing("timestamp") == .obj(("type", "typing"), ("user", "ann")))
            #expect(isISOTimestamp(typing["timestamp"]))
        }
        await ann.close()
        await bob.close()
    }

    @Test func leavingIsAnnouncedWithWhoIsStillOnline() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let (ann, _) = try await Self.join("ann", port: port)
        let (bob, _) = try await Self.join("bob", port: port)
        _ = try await ann.next(type: "system")
        await bob.close()
        let left = try await ann.next()
        #expect(left.keys == ["type", "text", "online", "timestamp"], "\(left.text)")
        #expect(left.removing("timestamp") == .obj(("type", "system"), ("text", "bob left"), ("online", ["ann"])))
        #expect(isISOTimestamp(left["timestamp"]))
        // The name is free again.
        let (again, _) = try await Self.join("bob", port: port)
        await again.close()
        await ann.close()
    }

    @Test(arguments: [
        ("/ws/chat", "HTTP/1.1 400 Bad Request"),
        ("/ws/chat?username=", "HTTP/1.1 400 Bad Request"),
        ("/ws/chat?other=1", "HTTP/1.1 400 Bad Request"),
        ("/ws/chat?username=ann", "HTTP/1.1 409 Conflict"),
    ])
    func upgradesWithoutAFreeNameAreRefused(_ path: String, _ statusLine: String) async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let (ann, _) = try await Self.join("ann", port: port)
        #expect(try await upgradeStatusLine(port: port, path: path) == statusLine, "\(path)")
        // ann is not disturbed.
        try await ann.send(.obj(("type", "typing")))
        #expect(try await ann.next()["type"] == "typing")
        await ann.close()
    }

    @Test(arguments: [
        ("unknown type", #"{"type":"dance"}"#),
        ("no type", #"{"text":"hi"}"#),
        ("message without text", #"{"type":"message"}"#),
        ("not JSON", "hi there"),
    ])
    func aBadMessageGetsAnErrorAndTheConnectionStaysOpen(_ name: String, _ message: String) async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let (ann, _) = try await Self.join("ann", port: port)
        try await ann.sendText(message)
        let error = try await ann.next()
        #expect(error.keys == ["type", "error"], "\(name): \(error.text)")
        #expect(error["type"] == "error", "\(name)")
        try await ann.send(.obj(("type", "message"), ("text", "still here")))
        #expect(try await ann.next()["text"] == "still here", "\(name)")
        #expect(ann.closeCode == nil, "\(name)")
        // The error was not kept: history holds only the real message.
        let history = try #require(try await httpRequest("GET", "/http/livechat/history", port: port).json)
        #expect(history["messages"]?.arrayValue?.count == 1, "\(name): \(history.text)")
        await ann.close()
    }
}
