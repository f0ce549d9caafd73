import NIOCore
import NIOHTTP1

/// Keeps the end of the server's byte stream from overtaking the bytes before it while the
/// connection switches from HTTP to WebSocket.
///
/// A server may send its 101, its first frames, a close frame and its FIN together (swift-websocket
/// half-closes right after a close frame, so a short-lived endpoint does exactly that). NIO
/// removes the HTTP decoder a moment after the 101, and it hands the bytes it holds beyond the
/// response to the WebSocket decoder only if the stream has not ended by then: an end of input
/// that reaches it first makes those bytes look like a truncated HTTP body, and they are dropped.
/// So from the moment the 101 is accepted until the WebSocket handlers have those bytes, this
/// handler (just after the tap) holds back the end of input, the connection's end and errors,
/// then lets them through in order.
final class EndOfInputHold: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private enum Held {
        case inputClosed
        case inactive
        case error(any Error)
    }

    private enum State {
        case passing
        case holding([Held])
        case released
    }

    private var state = State.passing
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// The 101 was accepted: hold the end of input from now on.
    func hold() {
        if case .passing = state { state = .holding([]) }
    }

    /// The upgrade is over (the WebSocket handlers have the early bytes, or it failed): pass on
    /// what was held, and everything from now on.
    func release() {
        guard case .holding(let held) = state else { return }
        state = .released
        guard let context else { return }
        for event in held {
            switch event {
            case .inputClosed: context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            case .inactive: context.fireChannelInactive()
            case .error(let error): context.fireErrorCaught(error)
            }
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .holding(let held) = state, let event = event as? ChannelEvent, event == .inputClosed {
            state = .holding(held + [.inputClosed])
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .holding(let held) = state {
            state = .holding(held + [.inactive])
            return
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case .holding(let held) = state {
            state = .holding(held + [.error(error)])
            return
        }
        context.fireErrorCaught(error)
    }
}

/// NIO's WebSocket upgrader, telling an ``EndOfInputHold`` when the 101 is accepted and when the
/// upgrade is over.
struct HoldingUpgrader<Inner: NIOTypedHTTPClientProtocolUpgrader>: NIOTypedHTTPClientProtocolUpgrader {
    typealias UpgradeResult = Inner.UpgradeResult

    let inner: Inner
    let hold: NIOLoopBound<EndOfInputHold>

    var supportedProtocol: String { inner.supportedProtocol }
    var requiredUpgradeHeaders: [String] { inner.requiredUpgradeHeaders }

    func addCustom(upgradeRequestHeaders: inout HTTPHeaders) {
        inner.addCustom(upgradeRequestHeaders: &upgradeRequestHeaders)
    }

    func shouldAllowUpgrade(upgradeResponse: HTTPResponseHead) -> Bool {
        let allowed = inner.shouldAllowUpgrade(upgradeResponse: upgradeResponse)
        if allowed { hold.value.hold() }
        return allowed
    }

    func upgrade(channel: any Channel, upgradeResponse: HTTPResponseHead) -> EventLoopFuture<UpgradeResult> {
        let hold = self.hold
        let upgraded = inner.upgrade(channel: channel, upgradeResponse: upgradeResponse)
        upgraded.whenComplete { _ in
            // NIO's upgrade handler hands the buffered bytes on right after this future completes,
            // in the same call: release once that is done.
            channel.eventLoop.execute { hold.value.release() }
        }
        return upgraded
    }
}
