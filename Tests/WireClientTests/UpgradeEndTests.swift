import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing
import WireProtocol

@testable import WireClient

/// A server may send its 101, some frames, a close frame and its FIN in one segment: a
/// swift-websocket server half-closes right after its close frame, so an endpoint that has
/// everything ready at once (a finished training job) does exactly that. The frames must all
/// reach the client, and the client must still answer the close.
///
/// On an `EmbeddedChannel` the bytes and the end of input arrive in the same tick, before NIO's
/// deferred removal of the HTTP decoder has run, which is the order that lost the frames.
@Suite("the bytes that come with the 101")
struct UpgradeEndTests {
    enum End: String, CaseIterable, Sendable {
        /// FIN with half-closure allowed, as the client runs.
        case inputClosed
        /// The connection gone.
        case inactive
    }

    static let key = "dGhlIHNhbXBsZSBub25jZQ=="

    static func serverFrame(_ opcode: UInt8, _ payload: [UInt8]) -> [UInt8] {
        [0x80 | opcode, UInt8(payload.count)] + payload
    }

    @Test("frames and a close sent with the 101 and the FIN all arrive", arguments: End.allCases)
    func framesWithThe101AndTheEnd(end: End) async throws {
        let channel = EmbeddedChannel()
        let (frames, continuation) = AsyncStream<WebSocketFrame>.makeStream()
        let state = ConnectionState()
        let upgraded = try WebSocketClient.configurePipeline(
            channel, target: WebSocketTarget(host: "127.0.0.1", port: 8000, path: "/ws/jobs/1"), requestKey: Self.key, origin: nil,
            makeResponder: { FrameResponder(state: state, randomness: Randomness(.seeded(1)), frames: continuation) }, tap: { _ in }
        )
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8000)).get()
        var request = ""
        while let part = try channel.readOutbound(as: ByteBuffer.self) { request += String(buffer: part) }
        #expect(request.hasPrefix("GET /ws/jobs/1 HTTP/1.1\r\n"), "\(request)")

        var segment = ByteBuffer(
            string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                + "Sec-WebSocket-Accept: \(Handshake.acceptValue(forKey: Self.key))\r\nConnection: upgrade\r\n\r\n"
        )
        segment.writeBytes(Self.serverFrame(0x1, Array(#"{"epoch":1}"#.utf8)))
        segment.writeBytes(Self.serverFrame(0x1, Array(#"{"type":"done"}"#.utf8)))
        segment.writeBytes(Self.serverFrame(0x8, [0x03, 0xE8]))
        try channel.writeInbound(segment)
        switch end {
        case .inputClosed: channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        case .inactive: channel.pipeline.fireChannelInactive()
        }
        channel.embeddedEventLoop.run()

        guard case .upgraded = try await upgraded.get() else {
            Issue.record("the 101 was not taken as an upgrade")
            return
        }
        continuation.finish()
        var received: [(WebSocketOpcode, String)] = []
        for await frame in frames { received.append((frame.opcode, String(buffer: frame.unmaskedData))) }
        #expect(received.map(\.0) == [.text, .text, .connectionClose])
        #expect(received.prefix(2).map(\.1) == [#"{"epoch":1}"#, #"{"type":"done"}"#])

        // The close was answered: a masked close frame echoing 1000 went out after the request.
        if end == .inputClosed {
            var reply: [UInt8] = []
            while let part = try channel.readOutbound(as: ByteBuffer.self) { reply += Array(part.readableBytesView) }
            var stream = FrameStream(sender: .client)
            let items = stream.append(reply)
            #expect(items.count == 1, "\(items)")
            guard case .frame(let close, let violations) = items.first else { return }
            #expect(violations.isEmpty, "\(violations)")
            #expect(close.opcode == .close && close.isMasked)
            #expect(close.payload == [0x03, 0xE8])
            #expect(!channel.isActive, "the client closes once the server has ended its side")
        }
    }
}
