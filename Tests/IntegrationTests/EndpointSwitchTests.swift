import LabServer
import Testing
import WireProtocol

/// Switching the chat-like endpoints at run time: WebSocket routes and HTTP twins together.
@Suite struct EndpointSwitchTests {
    @Test func disablingChatClosesItsConnectionsWith1001AndRefusesBothKindsOfRequest() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await JSONClient.connect(port: port, path: "/ws/chat/alice")
        try await alice.syncWithSession()
        let bob = try await JSONClient.connect(port: port, path: "/ws/chat/bob")
        try await bob.syncWithSession()
        // A connection to another endpoint must not be touched.
        let (ann, _) = try await LiveChatEndpointTests.join("ann", port: port)

        let closed = try await lab.registry.disable("chat")
        #expect(closed == 2)
        for client in [alice, bob] {
            #expect(await client.waitForClose() == 1001, "\(client.name)")
            #expect(client.closeReason == EndpointRegistry.switchedOffReason("chat"))
            #expect(await eventually { client.hasEnded }, "\(client.name)")
        }
        #expect(try await upgradeStatusLine(port: port, path: "/ws/chat/carol") == "HTTP/1.1 503 Service Unavailable")
        let post = try await httpRequest("POST", "/http/chat/carol", port: port, body: #"{"text":"hi"}"#)
        #expect(post.status == 503, "\(post)")
        #expect(post.json?["type"] == "error")
        #expect(try await httpRequest("GET", "/http/chat?since=0", port: port).status == 503)

        #expect(ann.closeCode == nil)
        try await ann.send(.obj(("type", "typing")))
        #expect(try await ann.next()["type"] == "typing")

        try lab.registry.setEnabled("chat", true)
        let carol = try await JSONClient.connect(port: port, path: "/ws/chat/carol")
        try await carol.syncWithSession()
        let posted = try await httpRequest("POST", "/http/chat/web", port: port, body: #"{"text":"back"}"#)
        #expect(posted.status == 200, "\(posted)")
        #expect(try await carol.next(type: "message")["text"] == "back")
        #expect(try await httpRequest("GET", "/http/chat?since=0", port: port).status == 200)
        // The ids freed by the closed connections can be used again.
        let again = try await JSONClient.connect(port: port, path: "/ws/chat/alice")
        try await again.syncWithSession()
        await again.close()
        await carol.close()
        await ann.close()
    }

    @Test func disablingRoomAndLiveChatWorksTheSameWay() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let member = try await JSONClient.connect(port: port, path: "/ws/room/r/alice")
        _ = try await member.next(type: "joined")
        let (ann, _) = try await LiveChatEndpointTests.join("ann", port: port)

        #expect(try await lab.registry.disable("room") == 1)
        #expect(await member.waitForClose() == 1001)
        #expect(try await upgradeStatusLine(port: port, path: "/ws/room/r/bob") == "HTTP/1.1 503 Service Unavailable")
        #expect(try await httpRequest("GET", "/http/room/r", port: port).status == 503)
        #expect(try await httpRequest("POST", "/http/room/r/x", port: port, body: #"{"text":"x"}"#).status == 503)

        #expect(try await lab.registry.disable("livechat") == 1)
        #expect(await ann.waitForClose() == 1001)
        #expect(try await upgradeStatusLine(port: port, path: "/ws/chat?username=bob") == "HTTP/1.1 503 Service Unavailable")
        #expect(try await httpRequest("GET", "/http/livechat", port: port).status == 503)
        #expect(try await httpRequest("GET", "/http/livechat/history", port: port).status == 503)

        try lab.registry.setEnabled("room", true)
        try lab.registry.setEnabled("livechat", true)
        let back = try await JSONClient.connect(port: port, path: "/ws/room/r/alice")
        #expect(try await back.next() == .obj(("type", "joined"), ("user", "alice"), ("members", ["alice"])))
        let (annAgain, _) = try await LiveChatEndpointTests.join("ann", port: port)
        #expect(try await httpRequest("GET", "/http/room/r", port: port).status == 200)
        await back.close()
        await annAgain.close()
    }

    @Test func onlyEchoAndChatLeavesTheOthersOff() async throws {
        let (lab, port) = try await startLab(only: ["echo", "chat"])
        defer { Task { await lab.stop() } }
        #expect(try await upgradeStatusLine(port: port, path: "/ws/room/r/alice") == "HTTP/1.1 503 Service Unavailable")
        #expect(try await upgradeStatusLine(port: port, path: "/ws/chat?username=ann") == "HTTP/1.1 503 Service Unavailable")
        #expect(try await upgradeStatusLine(port: port, path: "/ws/alice") == "HTTP/1.1 503 Service Unavailable")
        #expect(try await httpRequest("GET", "/http/room/r", port: port).status == 503)
        #expect(try await httpRequest("POST", "/http/alice", port: port, body: "{}").status == 503)

        let echo = try await JSONClient.connect(port: port, path: "/ws/echo")
        try await echo.sendText("hi")
        #expect(try await echo.nextText() == "Echo: hi")
        let chat = try await JSONClient.connect(port: port, path: "/ws/chat/alice")
        try await chat.syncWithSession()
        #expect(try await httpRequest("POST", "/http/chat/bob", port: port, body: #"{"text":"hi"}"#).status == 200)
        #expect(try await chat.next(type: "message")["from"] == "bob")

        // And a switched-off endpoint can be switched on at run time.
        try lab.registry.setEnabled("room", true)
        let room = try await JSONClient.connect(port: port, path: "/ws/room/r/alice")
        #expect(try await room.next()["type"] == "joined")
        await echo.close()
        await chat.close()
        await room.close()
    }
}

/// `fault NAME`: a handler bug on demand, so that 1011 can be seen live.
@Suite struct HandlerFaultTests {
    @Test func anArmedFaultClosesTheNextConnectionThatSendsWith1011AndIsUsedUp() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let first = try await JSONClient.connect(port: port, path: "/ws/echo")
        try await first.sendText("before")
        #expect(try await first.nextText() == "Echo: before")

        try lab.registry.armFault("echo")
        #expect(lab.registry.armedFaults == ["echo"])
        // Another endpoint's connections are not touched by echo's fault.
        let other = try await JSONClient.connect(port: port, path: "/ws/7")
        try await other.send(.obj(("text", "x")))
        _ = try await other.next()

        try await first.sendText("now")
        #expect(await first.waitForClose() == 1011)
        #expect(lab.registry.armedFaults.isEmpty)
        #expect(other.closeCode == nil)

        // Used up: the endpoint stays on and the next connection is answered as usual.
        let second = try await JSONClient.connect(port: port, path: "/ws/echo")
        try await second.sendText("after")
        #expect(try await second.nextText() == "Echo: after")
        await second.close()
        await other.close()
    }

    @Test func aChatHandlerThatFailsFreesItsNameAndTheOthersGoOn() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await JSONClient.connect(port: port, path: "/ws/chat/alice")
        try await alice.syncWithSession()
        let bob = try await JSONClient.connect(port: port, path: "/ws/chat/bob")
        try await bob.syncWithSession()
        try lab.registry.armFault("chat")
        try await alice.send(.obj(("text", "boom")))
        #expect(await alice.waitForClose() == 1011)
        try await bob.send(.obj(("text", "still here")))
        #expect(try await bob.next(type: "message")["text"] == "still here")
        let again = try await JSONClient.connect(port: port, path: "/ws/chat/alice")
        try await again.syncWithSession()
        await again.close()
        await bob.close()
    }

    @Test func anUnknownEndpointIsNamed() async throws {
        let (lab, _) = try await startLab()
        defer { Task { await lab.stop() } }
        #expect(throws: EndpointRegistry.UnknownEndpoint.self) { try lab.registry.armFault("nope") }
    }
}
