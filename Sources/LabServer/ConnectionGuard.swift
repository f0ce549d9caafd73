import NIOConcurrencyHelpers
import NIOCore
import WireProtocol

/// How many TCP connections the lab holds now (HTTP and WebSocket alike), against
/// ``LabLimits/maxConnections``.
public final class ConnectionCount: Sendable {
    private let count = NIOLockedValueBox(0)
    public let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    public var current: Int { count.withLockedValue { $0 } }

    /// Takes a place. - Returns: false when every place is taken.
    func enter() -> Bool {
        count.withLockedValue { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func leave() {
        count.withLockedValue { $0 -= 1 }
    }
}

/// The first handler of every server connection, below HTTP: it turns away a connection beyond
/// ``LabLimits/maxConnections`` with `503`, and one that has not sent a whole request head within
/// ``LabLimits/requestHeadTimeout`` with `408` (a "slow loris" holds a place by sending its head
/// a byte at a time). The event loop never waits on a slow client, so others are served
/// meanwhile; the timeout only frees the place it holds.
final class ConnectionGuard: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        /// Counting bytes until the blank line that ends the first request head.
        case waitingForHead(matched: Int)
        case passing
        /// Answered and closing: whatever the client still sends is read and dropped, so the
        /// close is a FIN after the answer, not a reset that could destroy it.
        case turningAway
    }

    private static let headEnd: [UInt8] = Array("\r\n\r\n".utf8)
    /// The first byte of a TLS record carrying a handshake: a client that meant wss:// or https://.
    private static let tlsHandshakeRecord: UInt8 = 0x16
    /// How long a turned-away client gets to read the answer and close its side.
    private static let lingerAfterAnswer: TimeAmount = .seconds(1)

    private let count: ConnectionCount
    private let headTimeout: Duration?
    private let notice: @Sendable (String) -> Void
    private var state = State.waitingForHead(matched: 0)
    private var entered = false
    private var sawFirstByte = false
    private var timeout: Scheduled<Void>?

    init(count: ConnectionCount, headTimeout: Duration?, notice: @escaping @Sendable (String) -> Void) {
        self.count = count
        self.headTimeout = headTimeout
        self.notice = notice
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard count.enter() else {
            notice("refused a connection: \(count.limit) are open, the most the lab takes (--max-connections)")
            turnAway(
                context: context, status: "503 Service Unavailable", headers: ["Retry-After: 1"],
                body: "The lab holds \(count.limit) connections already, the most it takes (wirelab serve --max-connections). Try again when one closes.\n"
            )
            return
        }
        entered = true
        if let headTimeout {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            timeout = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(headTimeout)) {
                let (handler, context) = loopBound.value
                guard case .waitingForHead = handler.state else { return }
                handler.notice("closed a connection that sent no whole request head in \(headTimeout.spoken)")
                handler.turnAway(
                    context: context, status: "408 Request Timeout", headers: [],
                    body: "No whole request head arrived within \(headTimeout.spoken) of connecting; the lab closes such connections so that slow senders cannot hold its places.\n"
                )
            }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        if entered {
            entered = false
            count.leave()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .turningAway:
            return
        case .passing:
            break
        case .waitingForHead(var matched):
            let bytes = unwrapInboundIn(data).readableBytesView
            if !sawFirstByte, bytes.first == Self.tlsHandshakeRecord {
                notice("a TLS handshake arrived (first byte 0x16) on the plain port: it speaks ws:// and http://; wss:// and https:// go to the lab's TLS port (wirelab serve --tls-port, the REPL's tls)")
            }
            sawFirstByte = sawFirstByte || !bytes.isEmpty
            // Only the first head is timed; after it the HTTP layer's own idle timeout applies.
            for byte in bytes {
                matched = byte == Self.headEnd[matched] ? matched + 1 : (byte == Self.headEnd[0] ? 1 : 0)
                if matched == Self.headEnd.count { break }
            }
            if matched == Self.headEnd.count {
                state = .passing
                timeout?.cancel()
                timeout = nil
            } else {
                state = .waitingForHead(matched: matched)
            }
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .turningAway = state { return }
        context.fireChannelReadComplete()
    }

    /// Answers with `status` straight onto the socket (nothing above has answered yet), ends the
    /// output and closes once the client has closed its side or the linger time has passed.
    private func turnAway(context: ChannelHandlerContext, status: String, headers: [String], body: String) {
        state = .turningAway
        let head = (["HTTP/1.1 \(status)", "Content-Type: text/plain; charset=utf-8", "Content-Length: \(body.utf8.count)", "Connection: close"] + headers)
            .joined(separator: "\r\n")
        let answer = context.channel.allocator.buffer(string: head + "\r\n\r\n" + body)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(answer)).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: Self.lingerAfterAnswer) { channel.close(promise: nil) }
        }
    }

    /// A turned-away connection ends. The handlers above first hear that no more input will come
    /// (the client may well have closed its side): to them the connection ended before its
    /// request, which Hummingbird notes quietly. Without it, Hummingbird would log an error for a
    /// connection that the lab's own notice has already explained.
    func channelInactive(context: ChannelHandlerContext) {
        if case .turningAway = state { context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .turningAway = state, let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
