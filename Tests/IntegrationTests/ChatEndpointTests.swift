import LabServer
import Testing
import WireProtocol

/// `/ws/chat/{client_id}`: the guide's ConnectionManager.
@Suite struct ChatEndpointTests {
    @Test func joinMessageAndLeaveReachTheRightPeopleInTheGuidesShape() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await JSONClient.connect(port: port, path: "/ws/chat/alice")
        try await alice.syncWithSession()

        let bob = try await JSONClient.connect(port: port, path: "/ws/chat/bob")
        // The others hear of the newcomer...
        let joined = try await alice.next()
        #expect(joined == .obj(("type", "user_joined"), ("client_id", "bob"), ("online_count", 2)))
        #expect(joined.keys == ["type", "client_id", "online_count"])
        // ...the newcomer does not hear of itself: the first thing it gets is its sync reply.
        try await bob.sendText(#"{"sync":true}"#)
        let first = try await bob.next()
        #expect(first["type"] == "error", "bob got \(first.text) before its own error reply")

        // A message goes to everyone, the sender included.
        try await bob.send(.obj(("text", "hi all")))
        for client in [alice, bob] {
            let message = try await client.next()
            #expect(message.keys == ["type", "from", "text", "timestamp"], "\(client.name): \(message.text)")
            #expect(message.removing("timestamp") == .obj(("type", "message"), ("from", "bob"), ("text", "hi all")))
            #expect(isISOTimestamp(message["timestamp"]), "\(message.text)")
        }

        // Leaving tells the others.
        await bob.close()
        let left = try await alice.next()
        #expect(left == .obj(("type", "user_left"), ("client_id", "bob")))
        #expect(left.keys == ["type", "client_id"])
        await alice.close()
    }

    @Test func onlineCountCountsEveryoneOnline() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let a = try await JSONClient.connect(port: port, path: "/ws/chat/a")
        try await a.syncWithSession()
        let b = try await JSONClient.connect(port: port, path: "/ws/chat/b")
        try await b.syncWithSession()
        #expect(try await a.next(type: "user_joined")["online_count"] == 2)
        let c = try await JSONClient.connect(port: port, path: "/ws/chat/c")
        #expect(try await a.next(type: "user_joined") == .obj(("type", "user_joined"), ("client_id", "c"), ("online_count", 3)))
        await c.close()
        #expect(try await a.next(type: "user_left")["client_id"] == "c")
        await a.close()
        await b.close()
    }

    @Test func aSecondConnectionWithAnIdAlreadyOnlineIsRefusedWith409() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await JSONClient.connect(port: port, path: "/ws/chat/alice")
        try await alice.syncWithSession()

        #expect(try await upgradeStatusLine(port: port, path: "/ws/chat/alice") == "HTTP/1.1 409 Conflict")
        // The first connection is untouched.
        try await alice.send(.obj(("text", "still here")))
        #expect(try await alice.next()["text"] == "still here")
        #expect(alice.closeCode == nil)

        // Once alice has left, the id is free again.
        await alice.close()
        #expect(await eventually { lab.registry.connections.count(endpoint: "chat") == 0 })
        #expect(try await upgradeStatusLine(port: port, path: "/ws/chat/alice") == "HTTP/1.1 101 Switching Protocols")
    }

    @Test(arguments: [
        ("not JSON", "hello"),
        ("no text", #"{"msg":"hi"}"#),
        ("text is not a string", #"{"text":42}"#),
        ("not an object", #"["text"]"#),
    ])
    func aBadMessageGetsAnErrorAndTheConnectionStaysUsable(_ name: String, _ message: String) async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await JSONClient.connect(port: port, path: "/ws/chat/alice")
        try await alice.syncWithSession()
        let bob = try await JSONClient.connect(port: port, path: "/ws/chat/bob")
        try await bob.syncWithSession()
        _ = try await alice.next(type: "user_joined")

        try await alice.sendText(message)
        let error = try await alice.next()
        #expect(error.keys == ["type", "error"], "\(name): \(error.text)")
        #expect(error["type"] == "error", "\(name)")
        #expect(error["error"]?.stringValue?.isEmpty == false, "\(name)")

        try await alice.send(.obj(("text", "after the error")))
        #expect(try await alice.next()["text"] == "after the error", "\(name)")
        // The error went to the sender only: bob's next message is alice's real one.
        let atBob = try await bob.next()
        #expect(atBob.removing("timestamp") == .obj(("type", "message"), ("from", "alice"), ("text", "after the error")), "\(name)")
        #expect(alice.closeCode == nil, "\(name)")
        await alice.close()
        await bob.close()
    }
}
