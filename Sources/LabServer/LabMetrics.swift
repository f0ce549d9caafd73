import Foundation
import NIOConcurrencyHelpers

/// The lab's own measurements, for the dashboard: every number it shows comes from here or from
/// the lab's state, never from a random generator.
public final class LabMetrics: Sendable {
    private struct State {
        /// (time, ended in an error) for requests and messages of the last minute.
        var outcomes: [(Date, Bool)] = []
        var modelAccuracy: Double?
    }

    private let state = NIOLockedValueBox(State())
    private let clock: LabClock

    init(clock: LabClock) {
        self.clock = clock
    }

    /// Counts one handled request or message, and whether it ended in an error.
    public func record(error: Bool) {
        let now = clock.now()
        state.withLockedValue { state in
            state.outcomes.append((now, error))
            state.outcomes.removeAll { now.timeIntervalSince($0.0) > 60 }
        }
    }

    /// The share of requests and messages of the last minute that ended in an error (0 when none).
    public var errorRate: Double {
        let now = clock.now()
        return state.withLockedValue { state in
            let recent = state.outcomes.filter { now.timeIntervalSince($0.0) <= 60 }
            guard !recent.isEmpty else { return 0 }
            return Double(recent.filter(\.1).count) / Double(recent.count)
        }
    }

    /// The predict model's accuracy on its held-out data, once it has been trained.
    public var modelAccuracy: Double? {
        get { state.withLockedValue { $0.modelAccuracy } }
        set { state.withLockedValue { $0.modelAccuracy = newValue } }
    }
}
