import Comparison
import Foundation
import NIOConcurrencyHelpers
import Testing
import WireClient
import WireProtocol

/// permessage-deflate against an independent implementation: Python's `websockets`, which offers
/// it by default and accepts it as a server (uvicorn runs on it).
@Suite struct DeflateInteropTests {
    @Test(arguments: [false, true])
    func pythonClientCompressesWithTheLab(noContextTakeover: Bool) async throws {
        let python = try Paths.python()
        let (lab, port) = try await startLab(only: ["echo"])
        defer { Task { await lab.stop() } }
        let chatty = String(repeating: "price WIRE 101.5 EUR; ", count: 20)  // no quotes: the peer prints JSON
        var arguments = ["\(Paths.peers)/deflate_client.py", "ws://127.0.0.1:\(port)/ws/echo"]
        if noContextTakeover { arguments.append("--no-context-takeover") }
        let client = try ChildProcess(python, arguments + [chatty, chatty, "hi", ""])
        #expect(await client.waitForExit() == 0, "stderr: \(client.stderr)")
        let agreed = noContextTakeover ? "permessage-deflate;client_no_context_takeover;server_no_context_takeover" : "permessage-deflate"
        #expect(client.stdout.contains(#"{"extensions": "\#(agreed)"}"#), "stdout: \(client.stdout)")
        #expect(client.stdout.components(separatedBy: "Echo: " + chatty.prefix(40)).count == 3, "stdout: \(client.stdout)")
        #expect(client.stdout.contains(#"{"reply": "Echo: hi"}"#))
        #expect(client.stdout.contains(#"{"reply": "Echo: "}"#))
    }

    @Test(arguments: [DeflateOffer(), DeflateOffer(noContextTakeover: true, windowBits: 10)])
    func tappedClientCompressesWithAPythonServer(offer: DeflateOffer) async throws {
        let python = try Paths.python()
        let server = try ChildProcess(python, ["\(Paths.peers)/echo_server.py"])
        defer { server.closeInput() }
        #expect(await server.waitFor("\n"), "server stderr: \(server.stderr)")
        let port = try #require(Int(server.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))

        let tapped = NIOLockedValueBox<[TapEvent]>([])
        let outcome = try await WebSocketClient.connect(
            to: try WebSocketTarget(parsing: "ws://127.0.0.1:\(port)/", lab: nil),
            requestKey: Handshake.sampleKey, randomness: Randomness(.seeded(3)), deflate: offer
        ) { event in tapped.withLockedValue { $0.append(event) } }
        guard case .open(let client) = outcome else {
            Issue.record("Python server refused the upgrade")
            return
        }
        var frames = client.frames.makeAsyncIterator()
        let chatty = String(repeating: #"{"type":"price","symbol":"WIRE","price":101.5} "#, count: 20)
        for message in [chatty, chatty, "hello from Swift"] {
            try await client.send(.text, payload: Array(message.utf8))
            #expect(await frames.next().map { String(buffer: $0.unmaskedData) } == message)
        }
        try await client.send(.binary, payload: [0, 1, 2, 255])
        #expect(await frames.next().map { Array($0.unmaskedData.readableBytesView) } == [0, 1, 2, 255])
        try await client.close(code: 1000, reason: "done")
        await client.waitUntilClosed()

        var dissector = WireDissector(inflaters: ZlibMessageInflater.maker)
        var events: [WireEvent] = []
        for case .bytes(let direction, let bytes) in tapped.withLockedValue({ $0 }) {
            events += dissector.feed(direction, bytes)
        }
        #expect(dissector.deflate != nil, "Python's server accepted the offer")
        #expect(dissector.deflate?.resetsContext(of: .client) == offer.noContextTakeover)
        let dataFrames = events.compactMap { event -> (Direction, Frame, [ProtocolViolation])? in
            guard case .frame(let direction, let frame, let violations) = event, frame.opcode.isData else { return nil }
            return (direction, frame, violations)
        }
        #expect(dataFrames.count == 8)
        #expect(dataFrames.allSatisfy { $0.2.isEmpty }, "\(dataFrames.flatMap(\.2))")
        #expect(dataFrames.allSatisfy { $0.1.rsv1 && $0.1.compression?.inflated != nil }, "both sides compressed every message")
        let chattyUp = dataFrames.filter { $0.0 == .up }.prefix(2).map(\.1)
        #expect(chattyUp.allSatisfy { $0.messageData == Array(chatty.utf8) })
        if offer.noContextTakeover {
            #expect(chattyUp[1].wirePayload.count == chattyUp[0].wirePayload.count, "no context takeover: the same message costs the same")
        } else {
            #expect(chattyUp[1].wirePayload.count < chattyUp[0].wirePayload.count / 2, "context takeover: the second copy is a back-reference")
        }
    }
}

/// The same against aiohttp (`compress=15` as a client; `WebSocketResponse(compress=True)` as a server).
@Suite struct AiohttpDeflateInteropTests {
    @Test func aiohttpClientCompressesWithTheLab() async throws {
        let python = try Paths.python()
        let (lab, port) = try await startLab(only: ["echo"])
        defer { Task { await lab.stop() } }
        let chatty = String(repeating: "price WIRE 101.5 EUR; ", count: 20)
        let client = try ChildProcess(python, ["\(Paths.peers)/aiohttp_peer.py", "client", "ws://127.0.0.1:\(port)/ws/echo", chatty, chatty, "hi", ""])
        #expect(await client.waitForExit() == 0, "stderr: \(client.stderr)")
        #expect(client.stdout.contains(#"{"extensions": "permessage-deflate"}"#), "stdout: \(client.stdout)")
        #expect(client.stdout.components(separatedBy: "Echo: " + chatty).count == 3, "stdout: \(client.stdout)")
        #expect(client.stdout.contains(#"{"reply": "Echo: hi"}"#))
        #expect(client.stdout.contains(#"{"reply": "Echo: "}"#))
    }

    @Test func tappedClientCompressesWithAnAiohttpServer() async throws {
        let python = try Paths.python()
        let server = try ChildProcess(python, ["\(Paths.peers)/aiohttp_peer.py", "server"])
        defer { server.closeInput() }
        #expect(await server.waitFor("\n"), "server stderr: \(server.stderr)")
        let port = try #require(Int(server.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let tapped = NIOLockedValueBox<[TapEvent]>([])
        let outcome = try await WebSocketClient.connect(
            to: try WebSocketTarget(parsing: "ws://127.0.0.1:\(port)/", lab: nil),
            requestKey: Handshake.sampleKey, randomness: Randomness(.seeded(3)), deflate: DeflateOffer()
        ) { event in tapped.withLockedValue { $0.append(event) } }
        guard case .open(let client) = outcome else {
            Issue.record("aiohttp refused the upgrade")
            return
        }
        var frames = client.frames.makeAsyncIterator()
        let chatty = String(repeating: "price WIRE 101.5 EUR; ", count: 20)
        for message in [chatty, chatty, "hello from Swift"] {
            try await client.send(.text, payload: Array(message.utf8))
            #expect(await frames.next().map { String(buffer: $0.unmaskedData) } == message)
        }
        try await client.close(code: 1000, reason: "done")
        await client.waitUntilClosed()
        var dissector = WireDissector(inflaters: ZlibMessageInflater.maker)
        var events: [WireEvent] = []
        for case .bytes(let direction, let bytes) in tapped.withLockedValue({ $0 }) {
            events += dissector.feed(direction, bytes)
        }
        #expect(dissector.deflate != nil, "aiohttp accepted the offer")
        let dataFrames = events.compactMap { event -> (Direction, Frame, [ProtocolViolation])? in
            guard case .frame(let direction, let frame, let violations) = event, frame.opcode.isData else { return nil }
            return (direction, frame, violations)
        }
        #expect(dataFrames.count == 6)
        #expect(dataFrames.allSatisfy { $0.2.isEmpty }, "\(dataFrames.flatMap(\.2))")
        #expect(dataFrames.filter { $0.0 == .down }.allSatisfy { $0.1.rsv1 && $0.1.compression?.inflated != nil }, "aiohttp compressed its answers")
        #expect(dataFrames.filter { $0.0 == .down }.map { $0.1.messageData } == [chatty, chatty, "hello from Swift"].map { Array($0.utf8) })
    }
}

/// `compare --deflate`: the WebSocket run's payload is what the wire carried, compressed.
@Suite struct DeflateComparisonTests {
    @Test func compareWithDeflateCountsCompressedPayload() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        for deflate in [false, true] {
            var request = try ComparisonRequest(parsing: ["echo", "--count", "5"])
            request.options.deflate = deflate
            let report = await ComparisonRunner(
                scenario: request.scenario, options: request.options, target: ComparisonTarget(host: "127.0.0.1", port: port),
                randomness: Randomness(.seeded(1))
            ).run()
            let webSocket = try #require(report.results.first { $0.transport == .webSocket })
            if deflate {
                #expect(webSocket.measured.inflatedPayload > 0)
                // The wire's payload: the compressed messages, and the close frames' codes.
                #expect(webSocket.measured.compressedPayload <= webSocket.measured.payload(.up) + webSocket.measured.payload(.down))
                #expect(webSocket.measured.payload(.up) + webSocket.measured.payload(.down) - webSocket.measured.compressedPayload <= 4)
                #expect(report.table(width: 400).contains { $0.hasPrefix("WebSocket payload with permessage-deflate, measured: up ") })
                // The inflated rows: the wire's payload with each compressed message at its inflated size.
                #expect(webSocket.measured.payloadInflated(.up) == webSocket.measured.payload(.up) - webSocket.measured.compressedUp + webSocket.measured.inflatedUp)
                #expect(webSocket.measured.payloadInflated(.up) > webSocket.measured.payload(.up))
                #expect(report.table(width: 400).filter { $0.hasPrefix("  inflated") }.count == 2)
                let requestResponse = try #require(report.results.first { $0.transport == .requestResponse })
                #expect(requestResponse.measured.payloadInflated(.down) == requestResponse.measured.payload(.down), "nothing compressed over HTTP")
                #expect(report.json.text.contains(#""inflated_up""#))
            } else {
                #expect(webSocket.measured.inflatedPayload == 0)
                #expect(!report.table(width: 400).contains { $0.hasPrefix("  inflated") })
            }
        }
    }
}
