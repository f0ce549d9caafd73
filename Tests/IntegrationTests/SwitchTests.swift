import LabServer
import Testing
import WireProtocol

/// Endpoints switch on and off at run time, and say so on the wire.
@Suite struct SwitchTests {
    @Test func disablingClosesLiveConnectionsWith1001AndEnablingRestores() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let live = try await RawConnection(port: port)
        #expect(try await live.upgrade("/ws/echo")?.status == 101)
        try await Task.sleep(for: .milliseconds(50))  // the session registers once it runs

        let closed = try await lab.registry.disable("echo")
        #expect(closed == 1)
        let frames = await live.frames { $0.contains { $0.opcode == .close } }
        let close = try #require(frames.first { $0.opcode == .close })
        #expect(close.closeBody?.code == .goingAway)
        #expect(String(decoding: close.closeBody?.reason ?? [], as: UTF8.self) == "endpoint echo switched off")

        let refused = try await RawConnection(port: port)
        #expect(try await refused.upgrade("/ws/echo")?.status == 503)

        try lab.registry.setEnabled("echo", true)
        let again = try await RawConnection(port: port)
        #expect(try await again.upgrade("/ws/echo")?.status == 101)
        await again.close()
    }

    @Test func unknownNamesAreRejectedWithTheValidOnes() async throws {
        let endpoints = Endpoint.makeAll(testLabContext())
        #expect(throws: EndpointRegistry.UnknownEndpoint.self) { try EndpointRegistry(endpoints: endpoints, only: ["echo", "nope"]) }
        let registry = try EndpointRegistry(endpoints: endpoints, only: ["echo"])
        #expect(throws: EndpointRegistry.UnknownEndpoint.self) { try registry.setEnabled("chat-room", false) }
        do {
            _ = try EndpointRegistry(endpoints: endpoints, only: ["nope"])
        } catch {
            #expect("\(error)".contains("the endpoints are: echo, client, chat, room, livechat"))
        }
    }

    @Test func theMostSpecificPatternWins() {
        #expect(PathPattern("/ws/echo").match("/ws/echo") == [:])
        #expect(PathPattern("/ws/{client_id}").match("/ws/alice") == ["client_id": "alice"])
        #expect(PathPattern("/ws/{client_id}").match("/ws/a%20b") == ["client_id": "a b"])
        #expect(PathPattern("/ws/{client_id}").match("/ws/alice/x") == nil)
        // Registered before echo and livechat, the parameter route still loses to the literal ones.
        let registry = try! EndpointRegistry(endpoints: Endpoint.makeAll(testLabContext()).reversed())
        guard case .route(let endpoint, _, _) = registry.resolveWebSocket(path: "/ws/echo?x=1") else {
            Issue.record("/ws/echo did not resolve")
            return
        }
        #expect(endpoint.name == "echo")
        guard case .route(let other, _, let parameters) = registry.resolveWebSocket(path: "/ws/bob") else {
            Issue.record("/ws/bob did not resolve")
            return
        }
        #expect(other.name == "client" && parameters == ["client_id": "bob"])
        guard case .route(let live, _, _) = registry.resolveWebSocket(path: "/ws/chat?username=ann"),
            case .route(let chat, _, _) = registry.resolveWebSocket(path: "/ws/chat/ann")
        else {
            Issue.record("the chat paths did not resolve")
            return
        }
        #expect(live.name == "livechat" && chat.name == "chat")
    }
}
