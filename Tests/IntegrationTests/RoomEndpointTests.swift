import LabServer
import Testing
import WireProtocol

/// `/ws/room/{room_id}/{client_id}`: the guide's RoomManager.
@Suite struct RoomEndpointTests {
    @Test func joinedGoesToTheWholeRoomWithSortedMembers() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let bob = try await JSONClient.connect(port: port, path: "/ws/room/lobby/bob")
        // The newcomer is told too (and being told proves it is subscribed).
        let first = try await bob.next()
        #expect(first == .obj(("type", "joined"), ("user", "bob"), ("members", ["bob"])))
        #expect(first.keys == ["type", "user", "members"])

        let alice = try await JSONClient.connect(port: port, path: "/ws/room/lobby/alice")
        let expected = JSON.obj(("type", "joined"), ("user", "alice"), ("members", ["alice", "bob"]))
        #expect(try await alice.next() == expected)
        #expect(try await bob.next() == expected)

        let zed = try await JSONClient.connect(port: port, path: "/ws/room/lobby/zed")
        let third = JSON.obj(("type", "joined"), ("user", "zed"), ("members", ["alice", "bob", "zed"]))
        for client in [alice, bob, zed] {
            #expect(try await client.next() == third, "\(client.name)")
        }
        for client in [alice, bob, zed] { await client.close() }
    }

    @Test func messagesStayInTheirRoom() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await JSONClient.connect(port: port, path: "/ws/room/red/alice")
        _ = try await alice.next(type: "joined")
        let bob = try await JSONClient.connect(port: port, path: "/ws/room/red/bob")
        _ = try await bob.next(type: "joined")
        _ = try await alice.next(type: "joined")
        let carol = try await JSONClient.connect(port: port, path: "/ws/room/blue/carol")
        #expect(try await carol.next() == .obj(("type", "joined"), ("user", "carol"), ("members", ["carol"])))

        try await alice.send(.obj(("text", "red only")))
        let message = JSON.obj(("type", "message"), ("from", "alice"), ("text", "red only"))
        for client in [alice, bob] {
            let received = try await client.next()
            #expect(received == message, "\(client.name): \(received.text)")
            #expect(received.keys == ["type", "from", "text"])
        }
        // Carol's own message reaches her, and nothing from the other room came before or with it.
        try await carol.send(.obj(("text", "blue only")))
        #expect(try await carol.next() == .obj(("type", "message"), ("from", "carol"), ("text", "blue only")))
        #expect(try await carol.unread(after: .milliseconds(300)).isEmpty)
        #expect(carol.received.allSatisfy { !$0.contains("red only") })
        // And the red room did not hear blue.
        #expect(try await bob.unread(after: .milliseconds(100)).allSatisfy { !$0.contains("blue only") })
        for client in [alice, bob, carol] { await client.close() }
    }

    @Test func leavingTellsTheRoomAndTheLastOneOutRemovesIt() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await JSONClient.connect(port: port, path: "/ws/room/attic/alice")
        _ = try await alice.next(type: "joined")
        let bob = try await JSONClient.connect(port: port, path: "/ws/room/attic/bob")
        _ = try await bob.next(type: "joined")
        _ = try await alice.next(type: "joined")
        try await bob.send(.obj(("text", "hello attic")))
        _ = try await alice.next(type: "message")
        _ = try await bob.next(type: "message")

        // While the room exists, a short poll sees its log.
        let before = try #require(try await httpRequest("GET", "/http/room/attic", port: port).json)
        #expect(before["messages"]?.arrayValue?.count == 3, "\(before.text)")

        await alice.close()
        let left = try await bob.next()
        #expect(left == .obj(("type", "left"), ("user", "alice")))
        #expect(left.keys == ["type", "user"])

        await bob.close()
        #expect(await eventually { lab.registry.connections.count(endpoint: "room") == 0 })
        let after = try await httpRequest("GET", "/http/room/attic", port: port)
        #expect(after.status == 200, "\(after)")
        let json = try #require(after.json, "\(after)")
        #expect(json.keys == ["messages", "last_id", "outcome"])
        #expect(json["messages"] == [])
        #expect(json["last_id"]?.intValue != nil)
        #expect(json["outcome"] == "immediate")

        // A new room of the same name starts afresh: its first member is alone in it.
        let carol = try await JSONClient.connect(port: port, path: "/ws/room/attic/carol")
        #expect(try await carol.next() == .obj(("type", "joined"), ("user", "carol"), ("members", ["carol"])))
        await carol.close()
    }

    @Test func theSameIdTwiceInARoomIsRefusedWith409ButAnotherRoomIsFine() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await JSONClient.connect(port: port, path: "/ws/room/one/alice")
        _ = try await alice.next(type: "joined")
        #expect(try await upgradeStatusLine(port: port, path: "/ws/room/one/alice") == "HTTP/1.1 409 Conflict")
        let elsewhere = try await JSONClient.connect(port: port, path: "/ws/room/two/alice")
        #expect(try await elsewhere.next() == .obj(("type", "joined"), ("user", "alice"), ("members", ["alice"])))
        // The refused attempt did not disturb the first connection or its room.
        try await alice.send(.obj(("text", "still in one")))
        #expect(try await alice.next() == .obj(("type", "message"), ("from", "alice"), ("text", "still in one")))
        await alice.close()
        await elsewhere.close()
    }

    @Test func aBadMessageGetsAnErrorAndTheConnectionStaysUsable() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await JSONClient.connect(port: port, path: "/ws/room/r/alice")
        _ = try await alice.next(type: "joined")
        try await alice.sendText("no json here")
        let error = try await alice.next()
        #expect(error.keys == ["type", "error"])
        try await alice.sendText(#"{"txt":"typo"}"#)
        #expect(try await alice.next()["type"] == "error")
        try await alice.send(.obj(("text", "fine")))
        #expect(try await alice.next() == .obj(("type", "message"), ("from", "alice"), ("text", "fine")))
        await alice.close()
    }
}
