import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import WireClient
import WireProtocol

/// The tap sees exactly the bytes that crossed the socket: checked against a server that records
/// what it received and knows what it sent.
@Suite struct TapTests {
    /// A canned server: answers the handshake with a 101 and, in the same write, a first frame.
    final class CannedServer: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let received = NIOLockedValueBox<[UInt8]>([])
        let sent = NIOLockedValueBox<[UInt8]>([])

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = Array(unwrapInboundIn(data).readableBytesView)
            let all = received.withLockedValue { $0 += bytes; return $0 }
            guard sent.withLockedValue({ $0.isEmpty }), case .head(let head, _) = HTTPHead.parse(all) else { return }
            let accept = Handshake.acceptValue(forKey: head.field("Sec-WebSocket-Key") ?? "")
            let reply = Array("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n\r\n".utf8)
                + [0x81, 0x02, 0x68, 0x69]  // "hi", right behind the head
            sent.withLockedValue { $0 = reply }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: reply)), promise: nil)
        }
    }

    @Test func tappedBytesEqualWhatTheServerReceivedAndSent() async throws {
        let server = CannedServer()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(server) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(listener.localAddress?.port)
        let tapped = NIOLockedValueBox<[TapEvent]>([])
        let outcome = try await WebSocketClient.connect(
            to: WebSocketTarget(host: "127.0.0.1", port: port, path: "/ws/tap"),
            requestKey: Handshake.sampleKey,
            randomness: Randomness(.seeded(7))
        ) { event in tapped.withLockedValue { $0.append(event) } }
        guard case .open(let client) = outcome else {
            Issue.record("the canned server's 101 was not accepted")
            return
        }
        var frames = client.frames.makeAsyncIterator()
        let first = await frames.next()
        #expect(first.map { String(buffer: $0.unmaskedData) } == "hi")  // the frame behind the 101 was kept
        try await client.send(.text, payload: Array("hello".utf8))
        try await Task.sleep(for: .milliseconds(100))

        let events = tapped.withLockedValue { $0 }
        let up = events.flatMap { if case .bytes(.up, let bytes) = $0 { bytes } else { [UInt8]() } }
        let down = events.flatMap { if case .bytes(.down, let bytes) = $0 { bytes } else { [UInt8]() } }
        #expect(up == server.received.withLockedValue { $0 })
        #expect(down == server.sent.withLockedValue { $0 })

        // And the dissector makes sense of the same bytes.
        var dissector = WireDissector()
        var ledger = ByteLedger()
        for case .bytes(let direction, let bytes) in events {
            for event in dissector.feed(direction, bytes) { ledger.record(event) }
        }
        #expect(ledger.total == up.count + down.count)
        #expect(ledger.up.frames == 1 && ledger.down.frames == 1)
        #expect(ledger.up.frameHeaders == 6 && ledger.up.framePayloads == 5)
        await client.drop()
        try await listener.close()
    }

    @Test func clientAgainstTheLabSeesEchoAndAnswersServerPings() async throws {
        // A second between pings: under load, a pong late by more than the period closes the connection.
        let (lab, port) = try await startLab { $0.limits.pingInterval = .seconds(1) }
        defer { Task { await lab.stop() } }
        let tapped = NIOLockedValueBox<[TapEvent]>([])
        let outcome = try await WebSocketClient.connect(
            to: WebSocketTarget(host: "127.0.0.1", port: port, path: "/ws/echo"),
            requestKey: Handshake.sampleKey, randomness: Randomness(.seeded(1))
        ) { event in tapped.withLockedValue { $0.append(event) } }
        guard case .open(let client) = outcome else {
            Issue.record("upgrade refused")
            return
        }
        try await client.send(.text, payload: Array("hello".utf8))
        // Wait (up to 10 s, however loaded the machine) for a server ping and our pong.
        func frames() -> [(Direction, Opcode, [UInt8])] {
            var dissector = WireDissector()
            var seen: [(Direction, Opcode, [UInt8])] = []
            for case .bytes(let direction, let bytes) in tapped.withLockedValue({ $0 }) {
                for case .frame(let direction, let frame, let violations) in dissector.feed(direction, bytes) {
                    #expect(violations.isEmpty)
                    seen.append((direction, frame.opcode, frame.payload))
                }
            }
            return seen
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while !frames().contains(where: { $0.0 == .up && $0.1 == .pong }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let seen = frames()
        #expect(seen.contains { $0.0 == .down && $0.1 == .text && $0.2 == Array("Echo: hello".utf8) })
        let ping = try #require(seen.first { $0.0 == .down && $0.1 == .ping })
        #expect(seen.contains { $0.0 == .up && $0.1 == .pong && $0.2 == ping.2 })
        try await client.close(code: 1000)
        await client.waitUntilClosed()
    }

    @Test func refusedUpgradeReportsTheStatusAndTheTapHasTheBody() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let tapped = NIOLockedValueBox<[UInt8]>([])
        let outcome = try await WebSocketClient.connect(
            to: WebSocketTarget(host: "127.0.0.1", port: port, path: "/nope"),
            requestKey: Handshake.sampleKey, randomness: Randomness(.seeded(1))
        ) { event in if case .bytes(.down, let bytes) = event { tapped.withLockedValue { $0 += bytes } } }
        guard case .refused(let status, _) = outcome else {
            Issue.record("expected a refusal")
            return
        }
        #expect(status == 404)
        let text = String(decoding: tapped.withLockedValue { $0 }, as: UTF8.self)
        #expect(text.contains("No WebSocket endpoint at /nope"))
    }
}
