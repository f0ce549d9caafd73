import Foundation
import LabServer
import NIOConcurrencyHelpers
import Testing
import WireProtocol
@testable import WirelabREPL

/// The lab's own tap: raw bytes from the server's socket, for clients the REPL did not open.
@Suite struct ServerTapTests {
    /// What the lab's tap reports is exactly what went over the wire, each way, in order.
    @Test func theTapSeesTheSocketsBytesExactly() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let seen = NIOLockedValueBox<[Int: (up: [UInt8], down: [UInt8], closed: Bool)]>([:])
        let observer = lab.context.taps.observe { news in
            seen.withLockedValue { all in
                var entry = all[news.summary.id] ?? ([], [], false)
                switch news.piece {
                case .bytes(.up, let bytes): entry.up += bytes
                case .bytes(.down, let bytes): entry.down += bytes
                case .closed: entry.closed = true
                }
                all[news.summary.id] = entry
            }
        }
        defer { lab.context.taps.stopObserving(observer) }
        let raw = try await RawConnection(port: port)
        let request = "GET /ws/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(Handshake.sampleKey)\r\nSec-WebSocket-Version: 13\r\nUser-Agent: tap-test/1.0\r\n"
            + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        try await raw.write(request)
        _ = await raw.readHead()
        let hello = clientFrame(opcode: 0x1, payload: Array("hello".utf8))
        try await raw.write(hello)
        await raw.waitFor { String(decoding: $0, as: UTF8.self).contains("Echo: hello") }
        let live = try #require(lab.context.taps.live.first { $0.userAgent == "tap-test/1.0" })
        #expect(live.endpoint == "echo")
        #expect(live.request == "GET /ws/echo")
        #expect(live.peer.hasPrefix("127.0.0.1:"))
        #expect(await eventually { lab.context.taps.summary(live.id)?.bytesDown == raw.bytes.count })
        #expect(lab.context.taps.summary(live.id)?.bytesUp == request.utf8.count + hello.count)
        let entry = try #require(seen.withLockedValue { $0[live.id] })
        #expect(entry.up == Array(request.utf8) + hello)
        #expect(entry.down == raw.bytes)
        // A late look still finds the handshake: the lab keeps each connection's start.
        let (history, next) = try #require(lab.context.taps.history(live.id))
        #expect(history.complete)
        #expect(next == history.pieces.count)
        await raw.close()
        #expect(await eventually { seen.withLockedValue { $0[live.id]?.closed == true } })
        #expect(await eventually { lab.context.taps.summary(live.id) == nil }, "a closed connection leaves the list")
    }

    /// Only a connection's start is kept: one that moved more cannot be taken apart from its start,
    /// and the REPL says so rather than showing frames cut in the middle.
    @Test func aLongConnectionTappedLateIsNamedAsCut() async throws {
        let (session, console) = try await startScriptedSession()
        #expect(await session.execute("open /ws/echo as big"))
        #expect(await session.execute("view quiet"))
        #expect(await session.execute("send --fill 20000"))
        #expect(await session.execute("tap 1"))
        let text = console.text
        #expect(text.contains("tap1 · tapping the lab's side of"), "\(text)")
        #expect(text.contains("more than 16384 bytes went by before the tap"), "\(text)")
        await REPL.finish(session)
    }

    @Test func aConnectionIsNamedByTheMostSpecificRouteOfItsFirstRequest() throws {
        let registry = try EndpointRegistry(endpoints: Endpoint.makeAll(testLabContext()))
        #expect(registry.endpointName(target: "/http/dashboard") == "dashboard")
        #expect(registry.endpointName(target: "/http/ann") == "client")
        #expect(registry.endpointName(target: "/ws/chat/ann?x=1") == "chat")
        #expect(registry.endpointName(target: "/events?token=t") == "events")
        #expect(registry.endpointName(target: "/") == "playground")
        #expect(registry.endpointName(target: "/nowhere/at/all") == nil)
    }

    /// `wirelab serve --tap` with a Python client: its handshake (User-Agent, its
    /// permessage-deflate offer, the lab's answer without it) and frames, printed to stdout.
    @Test func serveTapShowsAPythonClientsConnection() async throws {
        let python = try Paths.python()
        let server = try ChildProcess(Paths.wirelab, ["serve", "--only", "echo", "--port", "0", "--tap", "--no-color"])
        #expect(await server.waitFor("listening on 127.0.0.1:", inStderr: true))
        let port = try #require(server.stderr.firstMatch(of: /listening on 127\.0\.0\.1:(\d+)/).map { String($0.1) })
        let client = try ChildProcess(python, ["\(Paths.peers)/echo_client.py", "ws://127.0.0.1:\(port)/ws/echo", "hello"])
        #expect(await client.waitFor("\"ready\": true"), "client output: \(client.stdout) \(client.stderr)")
        #expect(await server.waitFor("Echo: hello"), "server stdout: \(server.stdout)")
        let out = server.stdout
        #expect(out.contains("tap1 · tapping the lab's side of 127.0.0.1:"), "\(out)")
        #expect(out.contains("→ tap1 HTTP request"), "\(out)")
        #expect(out.contains("User-Agent: Python/"), "\(out)")
        #expect(out.contains("Sec-WebSocket-Extensions: permessage-deflate"), "\(out)")
        #expect(out.contains("← tap1 HTTP response 101 Switching Protocols"), "\(out)")
        #expect(!out.contains("Sec-WebSocket-Extensions: permessage-deflate; server"), "the lab declines compression: \(out)")
        #expect(out.contains("→ tap1 text"), "the client's masked frame: \(out)")
        server.signal(SIGTERM)
        #expect(await client.waitForExit() == 0)
        #expect(await server.waitForExit() == 0)
        #expect(server.stdout.contains("tap1 · TCP connection closed"), "\(server.stdout)")
    }

    /// In the REPL: `tap` lists, `tap all` follows a connection the REPL did not open, `untap` stops.
    @Test func theREPLTapsAPythonClient() async throws {
        let python = try Paths.python()
        let (session, console) = try await startScriptedSession()
        let port = try #require(await session.labAddress?.port)
        #expect(await session.execute("tap"))
        #expect(console.text.contains("no connections to the lab are open"))
        #expect(await session.execute("tap all"))
        #expect(console.text.contains("tapping every connection: 0 open now"))
        let client = try ChildProcess(python, ["\(Paths.peers)/echo_client.py", "ws://127.0.0.1:\(port)/ws/echo", "from python"])
        #expect(await client.waitFor("\"ready\": true"), "client output: \(client.stdout) \(client.stderr)")
        #expect(await session.execute("tap"))
        let text = console.text
        #expect(text.contains("User-Agent: Python/"), "\(text)")
        #expect(text.contains("Echo: from python"), "\(text)")
        #expect(text.contains(" echo ") && text.contains("GET /ws/echo"), "the list: \(text)")
        #expect(await session.execute("untap"))
        #expect(console.text.contains("untapped every connection"))
        #expect(await session.execute("tap 999"))
        #expect(console.text.contains("no open connection 999"))
        client.closeInput()
        await REPL.finish(session)
        _ = await client.waitForExit()
    }
}

/// A REPL session as a script runs it (no terminal, seeded, no history or progress files), with
/// its lab on a free port; what it prints is in the console.
func startScriptedSession() async throws -> (Session, CaptureConsole) {
    var options = REPLOptions()
    options.lab?.port = 0
    options.entropy = .seeded(1)
    options.historyPath = nil
    options.progressPath = nil
    let console = CaptureConsole()
    return (try await REPL.start(options, console: console, style: Styler(enabled: false), interactive: false), console)
}
