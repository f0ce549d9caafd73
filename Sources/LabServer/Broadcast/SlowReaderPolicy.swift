import Foundation
import WireProtocol

/// When a receiver of broadcasts is too slow to keep: judged by progress and bytes, never by a
/// count of messages (a count is blind to size: 256 messages may be 256 bytes or 256 MiB, and a
/// healthy reader slower than a burst can be any number of messages behind for a while).
///
/// - **Stall.** A receiver whose socket has taken no bytes for ``stallLimit`` is cut off: it is
///   not reading at all. A slow reader keeps its socket draining, however far behind it is.
/// - **Cap.** A receiver whose queued bytes would pass ``queueByteCap`` while its socket is full
///   is cut off: it reads, but slower than the conversation for long enough to hold that much.
///   Over the cap with a socket that still takes bytes, the receiver is not at fault: the lab
///   itself is behind, and the publisher waits instead.
///
/// Pure: times are passed in, so the rules are tested without sleeping.
public struct SlowReaderPolicy: Sendable, Equatable {
    public var stallLimit: Duration
    public var queueByteCap: Int

    public init(stallLimit: Duration = .seconds(10), queueByteCap: Int = 16 << 20) {
        self.stallLimit = stallLimit
        self.queueByteCap = queueByteCap
    }

    public var description: String {
        "cut off after \(stallLimit.spoken) without progress, or with over \(ByteSize(queueByteCap)) waiting and its socket full"
    }
}

/// One receiver's queue as the policy sees it: what waits in the lab's queue for its socket, and
/// since when its socket has refused bytes.
public struct ReceiverBacklog: Sendable, Equatable {
    public private(set) var messages = 0
    public private(set) var bytes = 0
    /// Since when the writer has been waiting for the socket to take bytes; nil while it takes them.
    public private(set) var blockedSince: ContinuousClock.Instant?

    public init() {}

    public enum Admission: Sendable, Equatable {
        /// Queue it; the publisher goes on.
        case queue
        /// Queue it, then wait (in the publisher's task) until the backlog is back under the cap:
        /// the receiver's socket takes bytes, so the lab, not the receiver, is behind.
        case queueAndWait
        /// Cut the receiver off, for this reason.
        case cutOff(String)
    }

    /// What to do with one more message of `size` bytes.
    public func admit(size: Int, policy: SlowReaderPolicy, socketWritable: Bool, now: ContinuousClock.Instant) -> Admission {
        if let stall = stall(policy: policy, now: now) { return .cutOff(stall) }
        guard bytes + size > policy.queueByteCap else { return .queue }
        guard socketWritable else {
            return .cutOff("too slow: \(ByteSize(bytes + size)) waiting, over its cap of \(ByteSize(policy.queueByteCap)), and its socket full")
        }
        return .queueAndWait
    }

    /// Why the receiver counts as stalled at `now`, or nil while its socket makes progress.
    public func stall(policy: SlowReaderPolicy, now: ContinuousClock.Instant) -> String? {
        guard let blockedSince, now - blockedSince >= policy.stallLimit else { return nil }
        // Measured, to a tenth of a second: the rule acts at the limit or a little after.
        let stalled = String(format: "%.1f s", (now - blockedSince).seconds)
        return "stalled: its socket took no bytes for \(stalled) (\(messages) message\(messages == 1 ? "" : "s"), \(ByteSize(bytes)) waiting)"
    }

    public func overCap(_ policy: SlowReaderPolicy) -> Bool { bytes > policy.queueByteCap }

    public mutating func queued(size: Int) {
        messages += 1
        bytes += size
    }

    /// The writer is about to hand a message to a socket that takes no bytes now.
    public mutating func socketRefusing(since now: ContinuousClock.Instant) {
        if blockedSince == nil { blockedSince = now }
    }

    /// The socket took a message of `size` bytes.
    public mutating func written(size: Int) {
        messages -= 1
        bytes -= size
        blockedSince = nil
    }

    /// Empties the backlog (the receiver is gone). - Returns: the bytes it held.
    public mutating func drop() -> Int {
        defer { self = ReceiverBacklog() }
        return bytes
    }
}
