import NIOConcurrencyHelpers
import NIOCore

/// Tells interested parties when the peer has stopped sending or the connection is gone.
///
/// Hummingbird allows half-closed connections, so a client closing its socket shows up as "input
/// closed", not as a closed channel; an event stream would otherwise learn of it only when its
/// next heartbeat fails to write.
final class PeerWatch: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private let state = NIOLockedValueBox<(gone: Bool, actions: [@Sendable () -> Void])>((false, []))

    /// Runs `action` once the peer is gone (at once if it already is).
    func whenPeerGone(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLockedValue { state -> Bool in
            if state.gone { return true }
            state.actions.append(action)
            return false
        }
        if now { action() }
    }

    private func peerGone() {
        let actions = state.withLockedValue { state in
            defer {
                state.gone = true
                state.actions = []
            }
            return state.actions
        }
        actions.forEach { $0() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { peerGone() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        peerGone()
        context.fireChannelInactive()
    }
}
