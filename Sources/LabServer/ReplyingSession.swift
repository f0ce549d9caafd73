import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import WireProtocol

/// A connection on a replying route (``WebSocketRoute/reply``, the echo), served by a channel
/// handler on the event loop that reads its frames: no task waits for each connection.
///
/// Why: a connection served by an async session keeps a suspended task with its whole async call
/// stack (Hummingbird's upgrade channel, the WebSocket library's handler, the lab's session),
/// about 16 KiB per idle connection, and each message crosses from the event loop into that task
/// and back. Here a message is answered in the same call that read it, as Node's `ws` does, and
/// the answers of one read are flushed together (BENCHMARKS.md, "Where the time goes").
///
/// It sits after ``ClientFrameRules``, which has already checked every rule (masking, RSV bits,
/// opcodes, fragment order, sizes, UTF-8) and which decides what the lab's close frames carry:
/// the close written here in answer to the client's close, or to the rules' stand-in frame for a
/// broken rule, gets its body there. What is left is what the WebSocket library does for an
/// async session: join fragments, answer pings, send the server's own pings (and give up on a
/// client that does not answer one before the next, 1001), answer and complete the close
/// handshake, and register the connection so that switching the endpoint off or stopping the
/// lab closes it with a close frame.
///
/// A connection that negotiated permessage-deflate runs the same route as an async session
/// instead: the WebSocket library compresses and inflates for it.
final class ReplyingSession: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// How long the lab waits for the client's answer to its close (the WebSocket library's default).
    static let closeTimeout: TimeAmount = .seconds(15)
    /// The size of a server ping's random payload (as the WebSocket library sends).
    static let pingPayloadSize = 16

    private let reply: @Sendable (WebSocketMessage) throws -> WebSocketMessage?
    private let endpoint: String
    private let connections: LiveConnections
    private let lifecycle: ConnectionLifecycle
    private let takeFault: @Sendable () -> Bool
    private let pingInterval: TimeAmount?
    /// Hummingbird's async view of the channel, never read: kept so that its writer is not
    /// finished (which would half-close the connection) while this handler serves it.
    private var asyncView: (any Sendable)?

    private var context: ChannelHandlerContext?
    private var registration: Int?
    /// A fragmented message being joined: its opcode and the payload so far.
    private var fragments: (opcode: WebSocketOpcode, payload: ByteBuffer)?
    private var closeSent = false
    private var unflushed = false
    /// The payload of the server's last ping while its pong is awaited.
    private var awaitedPong: ByteBuffer?
    private var pinger: RepeatedTask?
    private var closeTimer: Scheduled<Void>?

    init(
        reply: @escaping @Sendable (WebSocketMessage) throws -> WebSocketMessage?, endpoint: String, connections: LiveConnections,
        lifecycle: ConnectionLifecycle, takeFault: @escaping @Sendable () -> Bool, pingInterval: Duration?, asyncView: any Sendable
    ) {
        self.reply = reply
        self.endpoint = endpoint
        self.connections = connections
        self.lifecycle = lifecycle
        self.takeFault = takeFault
        self.pingInterval = pingInterval.map(TimeAmount.init)
        self.asyncView = asyncView
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let session = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let channel = context.channel
        registration = connections.register(
            endpoint: endpoint,
            close: { code, reason in
                try? await eventLoop.submit { session.value.closeFromLab(code, reason: reason) }.get()
            },
            drop: { try? await channel.close() },
            onEventLoop: true
        )
        if let pingInterval {
            pinger = eventLoop.scheduleRepeatedTask(initialDelay: pingInterval, delay: pingInterval) { _ in
                session.value.ping()
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    private func finish() {
        pinger?.cancel()
        pinger = nil
        closeTimer?.cancel()
        closeTimer = nil
        if let registration { connections.unregister(registration) }
        registration = nil
        asyncView = nil
        context = nil
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary:
            if frame.fin {
                answer(frame.opcode, frame.unmaskedData)
            } else {
                fragments = (frame.opcode, frame.unmaskedData)
            }
        case .continuation:
            guard var joined = fragments else { return }  // the rules let no such frame through
            var payload = frame.unmaskedData
            joined.payload.writeBuffer(&payload)
            if frame.fin {
                fragments = nil
                answer(joined.opcode, joined.payload)
            } else {
                fragments = joined
            }
        case .ping:
            guard !closeSent else { return }
            write(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData))
        case .pong:
            if frame.unmaskedData == awaitedPong { awaitedPong = nil }
        case .connectionClose:
            if !closeSent {
                // The body is the rules' to decide (the client's own code echoed, or 1002/1007).
                sendClose(WebSocketFrame(fin: true, opcode: .connectionClose, data: ByteBuffer()))
            }
            // The server closes the TCP connection once both closes are out (RFC 6455 §7.1.1).
            flush()
            context.close(promise: nil)
        default:
            // The rules' stand-in for a broken rule: answered with a close that gets the rule's
            // code and reason there; the rules then wait for the client's close, or give up.
            guard !closeSent else { return }
            sendClose(WebSocketFrame(fin: true, opcode: .connectionClose, data: ByteBuffer()))
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The client sent its FIN without a close frame (or after it): nothing more will come,
        // and the lab closes too, as the WebSocket library does when a session's input ends.
        if let event = event as? ChannelEvent, event == .inputClosed {
            flush()
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    /// Runs the route on one whole message and writes its answer (flushed with the read).
    private func answer(_ opcode: WebSocketOpcode, _ payload: ByteBuffer) {
        defer { lifecycle.handled() }
        guard !closeSent else { return }
        let message: WebSocketMessage = opcode == .text ? .text(String(buffer: payload)) : .binary(payload)
        let answer: WebSocketMessage?
        do {
            if takeFault() { throw HandlerFault() }
            answer = try reply(message)
        } catch {
            // As the WebSocket library answers a session that throws.
            closeFromLab(.internalError, reason: "")
            return
        }
        switch answer {
        case .text(let text):
            write(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: text)))
        case .binary(let bytes):
            write(WebSocketFrame(fin: true, opcode: .binary, data: bytes))
        case nil:
            break
        }
    }

    // MARK: Outbound

    private func write(_ frame: WebSocketFrame) {
        guard let context else { return }
        context.write(wrapOutboundOut(frame), promise: nil)
        unflushed = true
    }

    private func flush() {
        guard unflushed, let context else { return }
        unflushed = false
        context.flush()
    }

    private func sendClose(_ frame: WebSocketFrame) {
        closeSent = true
        write(frame)
        flush()
    }

    /// The lab's own close (switched off, shutting down, a failed handler): a close frame, then
    /// the client's answer is awaited for ``closeTimeout``.
    func closeFromLab(_ code: CloseCode, reason: String) {
        guard !closeSent, let context else { return }
        var payload = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        payload.writeInteger(code.code)
        payload.writeString(reason)
        sendClose(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload))
        let channel = context.channel
        closeTimer = context.eventLoop.scheduleTask(in: Self.closeTimeout) { channel.close(promise: nil) }
    }

    /// The server's ping; a client that has not answered the last one by now is gone (1001).
    private func ping() {
        guard !closeSent, let context else { return }
        if awaitedPong != nil {
            closeFromLab(.goingAway, reason: "Ping timeout")
            context.close(promise: nil)
            return
        }
        var payload = context.channel.allocator.buffer(capacity: Self.pingPayloadSize)
        var random = SystemRandomNumberGenerator()
        for _ in 0..<Self.pingPayloadSize { payload.writeInteger(UInt8.random(in: .min ... .max, using: &random)) }
        awaitedPong = payload
        write(WebSocketFrame(fin: true, opcode: .ping, data: payload))
        flush()
    }
}
