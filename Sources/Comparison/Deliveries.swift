import Foundation
import NIOConcurrencyHelpers
import WireProtocol

/// What was sent and what arrived, by key (a chat message's text, an order id, an epoch), with
/// the time of each: the source of the delivery delays and of "delivered vs sent".
///
/// Times are wall-clock `Date`s because some events are timed by the server (a dashboard
/// snapshot's `timestamp`), read back from the message: on one machine the clocks agree.
public final class Deliveries: Sendable {
    private struct State {
        var sent: [String: Date] = [:]
        var received: [String: Date] = [:]
        var repeated = 0
        /// Messages that belong to no event of this run (a backlog, another client's traffic).
        var unrelated = 0
        var emptyResponses = 0
        var expected: Set<String> = []
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Server-timed events that should all arrive (a job's epochs): a missing one counts as sent
    /// and not delivered, even though its time is never known.
    public func expect(_ keys: [String]) {
        state.withLockedValue { $0.expected.formUnion(keys) }
    }

    public func sent(_ key: String, at time: Date = Date()) {
        state.withLockedValue { $0.sent[key] = time }
    }

    /// A message arrived. The first arrival of a key counts; another one is a repeat.
    public func received(_ key: String, at time: Date = Date()) {
        state.withLockedValue { state in
            if state.received[key] == nil { state.received[key] = time } else { state.repeated += 1 }
        }
    }

    /// A server-timed event: sent when the server says, received now.
    public func received(_ key: String, sentAt: Date, at time: Date = Date()) {
        state.withLockedValue { state in
            if state.sent[key] == nil { state.sent[key] = sentAt }
            if state.received[key] == nil { state.received[key] = time } else { state.repeated += 1 }
        }
    }

    public func unrelated() {
        state.withLockedValue { $0.unrelated += 1 }
    }

    /// A poll that came back with nothing new.
    public func emptyResponse() {
        state.withLockedValue { $0.emptyResponses += 1 }
    }

    public var receivedCount: Int { state.withLockedValue { $0.received.count } }

    public func hasReceived(_ key: String) -> Bool {
        state.withLockedValue { $0.received[key] != nil }
    }

    public func hasReceivedAll() -> Bool {
        state.withLockedValue { state in
            state.sent.keys.allSatisfy { state.received[$0] != nil } && state.expected.allSatisfy { state.received[$0] != nil }
        }
    }

    public struct Summary: Sendable, Equatable {
        public var sent: Int
        /// Sent and received.
        public var delivered: Int
        public var repeated: Int
        public var unrelated: Int
        public var emptyResponses: Int
        /// From the event to its receipt, one per delivered message, shortest first.
        public var delays: [Duration]
    }

    public var summary: Summary {
        state.withLockedValue { state in
            let delays = state.sent.compactMap { key, sentAt in
                state.received[key].map { Duration.seconds($0.timeIntervalSince(sentAt)) }
            }
            return Summary(
                sent: state.expected.union(state.sent.keys).count, delivered: delays.count, repeated: state.repeated, unrelated: state.unrelated,
                emptyResponses: state.emptyResponses, delays: delays.sorted()
            )
        }
    }
}

extension Array where Element == Duration {
    /// The nearest-rank percentile of a sorted array (p in 0...100); nil when empty.
    public func percentile(_ p: Double) -> Duration? {
        guard !isEmpty else { return nil }
        let rank = Int((p / 100 * Double(count)).rounded(.up))
        return self[Swift.max(0, Swift.min(count - 1, rank - 1))]
    }
}
