import Foundation
import NIOConcurrencyHelpers

/// Failed authentications counted per client address. After ``failures`` within ``window``,
/// the address is refused until the oldest of them leaves the window (`429` with `Retry-After`,
/// or close 1008), even with the right password: guessing passwords or tokens then takes
/// forever. Every client of a lab on loopback shares one address, so the limit is generous.
public final class AuthThrottle: Sendable {
    public let failures: Int
    public let window: TimeInterval
    private let clock: LabClock
    private let recent = NIOLockedValueBox<[String: [Date]]>([:])

    public init(failures: Int = 10, window: TimeInterval = 60, clock: LabClock) {
        self.failures = max(1, failures)
        self.window = window
        self.clock = clock
    }

    /// Seconds (whole, at least 1) until `address` may try again; nil when it may now.
    public func retryAfter(_ address: String) -> Int? {
        let now = clock.now()
        return recent.withLockedValue { recent -> Int? in
            let kept = (recent[address] ?? []).filter { now.timeIntervalSince($0) < window }
            recent[address] = kept.isEmpty ? nil : kept
            guard kept.count >= failures, let oldest = kept.first else { return nil }
            return max(1, Int((window - now.timeIntervalSince(oldest)).rounded(.up)))
        }
    }

    /// The refusal for `address` while it has to wait; nil when it may try.
    public func refusal(for address: String) -> Authenticator.Refusal? {
        retryAfter(address).map { .tooManyFailures(address: address, failures: failures, window: window, retryAfter: $0) }
    }

    public func recordFailure(_ address: String) {
        let now = clock.now()
        recent.withLockedValue { $0[address, default: []].append(now) }
    }
}
