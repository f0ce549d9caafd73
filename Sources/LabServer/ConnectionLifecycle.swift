import NIOConcurrencyHelpers

/// What a WebSocket connection's ``ClientFrameRules`` and its session share about its end.
///
/// - **Work in hand**: messages the frame rules passed on that the session has not finished with
///   (it has not asked for the next one yet), requests it has accepted and not yet answered (a
///   prediction running in its own task), messages queued for a receiver. A close from the client, or the
///   lab's own close for a broken rule, waits for them: a request sent just before a close is
///   answered first (RFC 6455 §1.4 lets the server send what it still has before its close).
/// - **The lab's close is out**: from then on the connection sends nothing more, so a name or id
///   it held is free for a new connection, even while the old one lingers for the client's answer.
public final class ConnectionLifecycle: Sendable {
    private struct State {
        /// Whole messages passed on to the session, and those it has finished with.
        var passedOn = 0
        var handled = 0
        var inHand = 0
        var sources: [@Sendable () -> Int] = []
        var closeSent = false
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// The frame rules passed on the last frame of a message.
    func passedOn() {
        state.withLockedValue { $0.passedOn += 1 }
    }

    /// The session asked for its next message: it has finished with the one before.
    func handled() {
        state.withLockedValue { $0.handled += 1 }
    }

    /// One more request taken; ``answered()`` once its reply has been handed to the connection.
    public func accepted() {
        state.withLockedValue { $0.inHand += 1 }
    }

    public func answered() {
        state.withLockedValue { $0.inHand -= 1 }
    }

    /// Adds a count of work in hand kept elsewhere (a receiver's queue).
    func track(_ source: @escaping @Sendable () -> Int) {
        state.withLockedValue { $0.sources.append(source) }
    }

    /// True when nothing accepted is waiting to be answered.
    var isIdle: Bool {
        let (unhandled, inHand, sources) = state.withLockedValue { ($0.passedOn - $0.handled, $0.inHand, $0.sources) }
        return unhandled <= 0 && inHand <= 0 && sources.allSatisfy { $0() == 0 }
    }

    /// The lab's close frame has been written: the connection sends nothing more.
    public var closeSent: Bool { state.withLockedValue { $0.closeSent } }

    func markCloseSent() {
        state.withLockedValue { $0.closeSent = true }
    }
}
