import NIOConcurrencyHelpers
import NIOCore

/// Tells interested parties when the peer has stopped sending or the connection is gone.
///
/// Hummingbird allows half-closed connections, so a client closing its socket shows up as "input
/// closed", not as a closed channel; an event stream would otherwise learn of it only when its
/// next heartbeat fails to write.
final class PeerWatch: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private struct State {
        var gone = false
        var nextID = 0
        var actions: [Int: @Sendable () -> Void] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// Runs `action` once the peer is gone (at once if it already is).
    /// - Returns: an id for ``forget(_:)``, when the action is no longer wanted.
    @discardableResult
    func whenPeerGone(_ action: @escaping @Sendable () -> Void) -> Int? {
        let id = state.withLockedValue { state -> Int? in
            if state.gone { return nil }
            defer { state.nextID += 1 }
            state.actions[state.nextID] = action
            return state.nextID
        }
        if id == nil { action() }
        return id
    }

    /// Drops an action registered with ``whenPeerGone(_:)``: a kept-alive connection serves many
    /// requests, and each one's action must not outlive it.
    func forget(_ id: Int?) {
        guard let id else { return }
        state.withLockedValue { _ = $0.actions.removeValue(forKey: id) }
    }

    private func peerGone() {
        let actions = state.withLockedValue { state in
            defer {
                state.gone = true
                state.actions = [:]
            }
            return state.actions.values
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
