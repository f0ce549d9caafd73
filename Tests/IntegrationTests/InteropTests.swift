import Foundation
import NIOConcurrencyHelpers
import Testing
import WireClient
import WireProtocol

/// Independent implementations on the other end: Python's `websockets`.
@Suite struct InteropTests {
    @Test func pythonClientAgainstServeAndSigtermClosesWith1001() async throws {
        let python = try Paths.python()
        let server = try ChildProcess(Paths.wirelab, ["serve", "--only", "echo", "--port", "0"])
        #expect(await server.waitFor("listening on 127.0.0.1:", inStderr: true))
        let port = try #require(server.stderr.firstMatch(of: /listening on 127\.0\.0\.1:(\d+)/).map { String($0.1) })

        let client = try ChildProcess(python, ["\(Paths.peers)/echo_client.py", "ws://127.0.0.1:\(port)/ws/echo", "hello", "hex:01ff"])
        #expect(await client.waitFor("\"ready\": true"), "client output: \(client.stdout) \(client.stderr)")
        #expect(client.stdout.contains(#"{"reply": "Echo: hello"}"#))
        #expect(client.stdout.contains(#"{"reply": "hex:01ff"}"#))

        server.signal(SIGTERM)
        #expect(await client.waitForExit() == 0)
        #expect(client.stdout.contains(#""close_code": 1001"#), "client output: \(client.stdout) \(client.stderr)")
        #expect(await server.waitForExit() == 0)
    }

    @Test func pythonClientIsRefusedWith404OnAnUnknownPath() async throws {
        let python = try Paths.python()
        let (lab, port) = try await startLab(only: ["echo"])
        defer { Task { await lab.stop() } }
        let client = try ChildProcess(python, ["\(Paths.peers)/echo_client.py", "ws://127.0.0.1:\(port)/nowhere/at/all", "x"])
        #expect(await client.waitForExit() != 0)
        #expect(client.stderr.contains("HTTP 404"), "stderr: \(client.stderr)")
    }

    @Test func tappedClientAgainstAPythonEchoServer() async throws {
        let python = try Paths.python()
        let server = try ChildProcess(python, ["\(Paths.peers)/echo_server.py"])
        defer { server.closeInput() }
        #expect(await server.waitFor("\n"), "server stderr: \(server.stderr)")
        let port = try #require(Int(server.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))

        let tapped = NIOLockedValueBox<[TapEvent]>([])
        let outcome = try await WebSocketClient.connect(
            to: try WebSocketTarget(parsing: "ws://127.0.0.1:\(port)/", lab: nil),
            requestKey: Handshake.sampleKey, randomness: Randomness(.seeded(3))
        ) { event in tapped.withLockedValue { $0.append(event) } }
        guard case .open(let client) = outcome else {
            Issue.record("Python server refused the upgrade")
            return
        }
        var frames = client.frames.makeAsyncIterator()
        try await client.send(.text, payload: Array("hello from Swift".utf8))
        #expect(await frames.next().map { String(buffer: $0.unmaskedData) } == "hello from Swift")
        try await client.send(.binary, payload: [0, 1, 2, 255])
        #expect(await frames.next().map { Array($0.unmaskedData.readableBytesView) } == [0, 1, 2, 255])
        try await client.close(code: 1000, reason: "done")
        await client.waitUntilClosed()

        var dissector = WireDissector()
        var events: [WireEvent] = []
        for case .bytes(let direction, let bytes) in tapped.withLockedValue({ $0 }) {
            events += dissector.feed(direction, bytes)
        }
        let response = events.compactMap { if case .httpHead(.down, let head) = $0 { head } else { nil } }.first
        #expect(response?.status == 101)
        #expect(response?.field("Sec-WebSocket-Accept") == Handshake.sampleAccept)
        let frameEvents = events.compactMap { if case .frame(let direction, let frame, let violations) = $0 { (direction, frame, violations) } else { nil } }
        #expect(frameEvents.allSatisfy { $0.2.isEmpty }, "the Python peer and our client both follow the rules")
        #expect(frameEvents.filter { $0.0 == .up }.allSatisfy { $0.1.isMasked })
        #expect(frameEvents.filter { $0.0 == .down }.allSatisfy { !$0.1.isMasked })
        #expect(frameEvents.last { $0.0 == .down }?.1.closeBody?.code == .normalClosure)
    }
}
