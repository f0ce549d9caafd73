import NIOConcurrencyHelpers

/// The bytes all of a lab's receiver queues may hold together. A publisher that would pass it
/// waits until writers (or receivers cut off) give bytes back: the senders slow down, and memory
/// stays bounded however many receivers fall behind at once.
///
/// Counted per receiver, as queued: a broadcast's bytes are made once and shared, so the memory
/// really used is at most this (usually far less).
public final class OutboundBudget: Sendable {
    private struct State {
        var limit: Int
        var used = 0
        var waiters: [(size: Int, continuation: CheckedContinuation<Void, Never>)] = []
        /// The most ever used at once, for benchmarks and the load test.
        var peak = 0
    }

    private let state: NIOLockedValueBox<State>

    public init(limit: Int) {
        state = NIOLockedValueBox(State(limit: max(1, limit)))
    }

    public var limit: Int {
        get { state.withLockedValue { $0.limit } }
        set {
            let ready = state.withLockedValue { state in
                state.limit = max(1, newValue)
                return Self.admitWaiters(&state)
            }
            ready.forEach { $0.resume() }
        }
    }

    public var used: Int { state.withLockedValue { $0.used } }
    public var peak: Int { state.withLockedValue { $0.peak } }

    /// Takes `size` bytes of the budget, waiting while that would pass the limit. A message larger
    /// than the whole budget waits until nothing else is queued, then goes alone.
    public func reserve(_ size: Int) async {
        let granted = state.withLockedValue { state -> Bool in
            guard state.waiters.isEmpty, Self.fits(size, in: state) else { return false }
            state.used += size
            state.peak = max(state.peak, state.used)
            return true
        }
        if granted { return }
        await withCheckedContinuation { continuation in
            let ready = state.withLockedValue { state in
                state.waiters.append((size, continuation))
                return Self.admitWaiters(&state)
            }
            ready.forEach { $0.resume() }
        }
    }

    /// Gives `size` bytes back; waiting publishers go on, first come first served.
    public func release(_ size: Int) {
        guard size > 0 else { return }
        let ready = state.withLockedValue { state in
            state.used -= size
            return Self.admitWaiters(&state)
        }
        ready.forEach { $0.resume() }
    }

    private static func fits(_ size: Int, in state: State) -> Bool {
        state.used + size <= state.limit || state.used == 0
    }

    private static func admitWaiters(_ state: inout State) -> [CheckedContinuation<Void, Never>] {
        var ready: [CheckedContinuation<Void, Never>] = []
        while let first = state.waiters.first, fits(first.size, in: state) {
            state.waiters.removeFirst()
            state.used += first.size
            state.peak = max(state.peak, state.used)
            ready.append(first.continuation)
        }
        return ready
    }
}
