import Foundation
import LabServer
import Testing
import WireProtocol

/// Python's `websockets` as chat participants against an in-process lab.
@Suite struct ChatInteropTests {
    /// Starts a Python peer on `path` and waits until it is connected.
    static func peer(_ path: String, port: Int) async throws -> ChildProcess {
        let python = try Paths.python()
        let peer = try ChildProcess(python, ["\(Paths.peers)/chat_peer.py", "ws://127.0.0.1:\(port)\(path)"])
        #expect(await peer.waitFor(#"{"open": true}"#), "peer output: \(peer.stdout) \(peer.stderr)")
        return peer
    }

    /// Waits until the peer has printed a received message satisfying `condition`.
    static func waitForMessage(_ peer: ChildProcess, timeout: Duration = .seconds(10), _ condition: @escaping @Sendable (JSON) -> Bool) async -> JSON? {
        await eventually(timeout: timeout) { receivedMessages(in: peer.stdout).contains(where: condition) }
        return receivedMessages(in: peer.stdout).first(where: condition)
    }

    @Test func twoPythonClientsChatThroughTheLab() async throws {
        let (lab, port) = try await startLab(only: ["chat"])
        defer { Task { await lab.stop() } }

        let alice = try await Self.peer("/ws/chat/alice", port: port)
        alice.send("{\"sync\":true}\n")  // answered with an error once alice's session runs
        #expect(await Self.waitForMessage(alice) { $0["type"] == "error" } != nil, "alice: \(alice.stdout) \(alice.stderr)")

        let bob = try await Self.peer("/ws/chat/bob", port: port)
        let joined = await Self.waitForMessage(alice) { $0["type"] == "user_joined" }
        #expect(joined == .obj(("type", "user_joined"), ("client_id", "bob"), ("online_count", 2)))

        bob.send(#"{"text":"hello from python"}"# + "\n")
        let atAlice = try #require(await Self.waitForMessage(alice) { $0["type"] == "message" }, "alice: \(alice.stdout)")
        #expect(atAlice.keys == ["type", "from", "text", "timestamp"])
        #expect(atAlice.removing("timestamp") == .obj(("type", "message"), ("from", "bob"), ("text", "hello from python")))
        #expect(isISOTimestamp(atAlice["timestamp"]))
        // The sender gets the very same message.
        let atBob = await Self.waitForMessage(bob) { $0["type"] == "message" }
        #expect(atBob == atAlice)
        // And the text on the wire is the lab's compact, ordered serialisation.
        #expect(alice.stdout.contains(#"{"received": "{\"type\":\"message\",\"from\":\"bob\",\"text\":\"hello from python\",\"timestamp\":\""#), "\(alice.stdout)")

        bob.closeInput()
        #expect(await bob.waitForExit() == 0, "bob: \(bob.stdout) \(bob.stderr)")
        let left = await Self.waitForMessage(alice) { $0["type"] == "user_left" }
        #expect(left == .obj(("type", "user_left"), ("client_id", "bob")))

        alice.closeInput()
        #expect(await alice.waitForExit() == 0, "alice: \(alice.stdout) \(alice.stderr)")
    }

    @Test func aPythonClientAndASwiftClientSeeEachOther() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let swift = try await JSONClient.connect(port: port, path: "/ws/chat/swift")
        try await swift.syncWithSession()
        let python = try await Self.peer("/ws/chat/python", port: port)
        #expect(try await swift.next(type: "user_joined")["client_id"] == "python")

        try await swift.send(.obj(("text", "hi from Swift")))
        let atPython = await Self.waitForMessage(python) { $0["type"] == "message" }
        #expect(atPython == (try await swift.next(type: "message")))

        python.send(#"{"text":"hi from Python"}"# + "\n")
        let atSwift = try await swift.next(type: "message")
        #expect(atSwift.removing("timestamp") == .obj(("type", "message"), ("from", "python"), ("text", "hi from Python")))

        // Switching the chat off reaches the Python client as a 1001 close.
        try await lab.registry.disable("chat")
        #expect(await python.waitFor(#""close_code": 1001"#), "python: \(python.stdout) \(python.stderr)")
        python.closeInput()
        #expect(await python.waitForExit() == 0, "python: \(python.stdout) \(python.stderr)")
    }
}
