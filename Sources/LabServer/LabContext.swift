import Foundation
import Logging
import NIOConcurrencyHelpers
import WireProtocol

/// Where the lab's timestamps come from. Injected so that transcripts see the same times every run.
public struct LabClock: Sendable {
    public let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date) {
        self.now = now
    }

    public static let system = LabClock { Date() }

    /// Starts at `start` and moves on by `step` at every reading: repeatable, and still increasing.
    public static func stepping(from start: Date, by step: TimeInterval) -> LabClock {
        let readings = NIOLockedValueBox(0)
        return LabClock {
            let count = readings.withLockedValue { value in
                defer { value += 1 }
                return value
            }
            return start.addingTimeInterval(Double(count) * step)
        }
    }

    /// See ``Timestamp``.
    public func timestamp() -> String {
        Timestamp.format(now())
    }
}

/// How a broadcast reaches its receivers.
public enum BroadcastMode: String, Sendable, CaseIterable {
    /// Each connection has its own bounded queue and writer: a slow receiver delays nobody, and
    /// one that falls too far behind is cut off.
    case queued
    /// The guide's loop: await each receiver's send in turn. One stuck receiver stalls everyone.
    case naive
}

/// What every endpoint of one lab shares: its clock, its limits, its broadcast mode, its logger.
public final class LabContext: Sendable {
    public let clock: LabClock
    public let limits: LabLimits
    public let logger: Logger
    public let metrics: LabMetrics
    /// Long polls being held for something new, across every topic.
    let heldPolls = NIOLockedValueBox(0)
    public var heldPollCount: Int { heldPolls.withLockedValue { $0 } }
    /// Live server-side WebSocket connections, for switching off, shutdown and the dashboard.
    public let connections = LiveConnections()
    /// Event streams being sent, so that stopping the lab can end them (an SSE response never
    /// ends by itself, and a graceful shutdown waits for every response).
    public let eventStreams = OpenEventStreams()
    /// Every TCP connection's raw bytes, for `tap` (``ConnectionTaps``).
    public let taps = ConnectionTaps()
    /// Open TCP connections, against ``LabLimits/maxConnections``.
    public let openConnections: ConnectionCount
    public let auth: Authenticator
    /// Failed authentications per client address (``LabLimits/authFailures``).
    public let authThrottle: AuthThrottle
    public let orders = OrderBook()
    /// Whether upgrades may agree on permessage-deflate.
    public let compression = CompressionSwitch()
    /// Set up after `self` exists, as the per-user topics need the context.
    public private(set) var notifications: Notifications! {
        get { notificationsBox.withLockedValue { $0 } }
        set { notificationsBox.withLockedValue { $0 = newValue } }
    }
    private let notificationsBox = NIOLockedValueBox<Notifications?>(nil)
    private let mode: NIOLockedValueBox<BroadcastMode>
    private let slowReaderPolicy: NIOLockedValueBox<SlowReaderPolicy>
    /// The bytes all receiver queues may hold together (``LabLimits/outboundBudget``).
    public let outboundBudget: OutboundBudget
    private let rate: NIOLockedValueBox<MessageRate?>
    /// Messages a chat-like endpoint has taken and not yet finished handling, and whether it still
    /// takes any (see ``stopAccepting()``).
    private let acceptance = NIOLockedValueBox((stopping: false, inFlight: 0))
    private let notices = NIOLockedValueBox<(@Sendable (String) -> Void)?>(nil)

    /// - Parameter tokenSecret: the key tokens are signed with; nil picks 32 random bytes.
    public init(clock: LabClock, limits: LabLimits, broadcastMode: BroadcastMode, logger: Logger, tokenSecret: [UInt8]? = nil) {
        self.clock = clock
        self.limits = limits
        self.logger = logger
        self.openConnections = ConnectionCount(limit: limits.maxConnections)
        self.metrics = LabMetrics(clock: clock)
        var generator = SystemRandomNumberGenerator()
        self.auth = Authenticator(secret: tokenSecret ?? (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }, clock: clock)
        self.authThrottle = AuthThrottle(failures: limits.authFailures, window: limits.authFailureWindow.seconds, clock: clock)
        self.mode = NIOLockedValueBox(broadcastMode)
        self.slowReaderPolicy = NIOLockedValueBox(limits.slowReaders)
        self.outboundBudget = OutboundBudget(limit: limits.outboundBudget)
        self.rate = NIOLockedValueBox(limits.messageRate)
        self.notifications = Notifications(lab: self)
    }

    public var broadcastMode: BroadcastMode {
        get { mode.withLockedValue { $0 } }
        set { mode.withLockedValue { $0 = newValue } }
    }

    /// Where the lab's own decisions about a connection go besides the log (the REPL prints them).
    public var noticeHandler: (@Sendable (String) -> Void)? {
        get { notices.withLockedValue { $0 } }
        set { notices.withLockedValue { $0 = newValue } }
    }

    /// Logs a decision the lab took about a connection, and tells the notice handler.
    func announce(_ text: String) {
        logger.info("\(text)")
        noticeHandler?(text)
    }

    /// Takes a message for handling (``leave()`` when handled). - Returns: false once the lab is
    /// stopping: the message must then be refused, not half delivered.
    func enter() -> Bool {
        acceptance.withLockedValue { state in
            guard !state.stopping else { return false }
            state.inFlight += 1
            return true
        }
    }

    func leave() {
        acceptance.withLockedValue { $0.inFlight -= 1 }
    }

    /// Takes no more messages, then waits (at most `limit`) for those taken to be handled, so that
    /// each one is in every receiver's queue before the queues drain and the 1001s go out.
    func stopAccepting(within limit: Duration = .seconds(2)) async {
        acceptance.withLockedValue { $0.stopping = true }
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline, acceptance.withLockedValue({ $0.inFlight > 0 }) {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// How fast one connection may send to a chat-like endpoint (starts at `limits.messageRate`;
    /// the REPL's `set rate` changes it for connections opened afterwards).
    public var messageRate: MessageRate? {
        get { rate.withLockedValue { $0 } }
        set { rate.withLockedValue { $0 = newValue } }
    }

    /// When a queued receiver is cut off (starts at `limits.slowReaders`; the REPL's `set
    /// broadcast queued --stall … --cap …` changes it while the lab runs).
    public var slowReaders: SlowReaderPolicy {
        get { slowReaderPolicy.withLockedValue { $0 } }
        set { slowReaderPolicy.withLockedValue { $0 = newValue } }
    }
}

/// Limits every endpoint shares.
public struct LabLimits: Sendable {
    /// The largest message (all its fragments together) the lab takes; a larger one fails the
    /// connection with close code 1009. `wirelab serve --max-message-size`.
    public var maxMessageSize = 1 << 20
    /// How often the server pings an idle connection; nil turns server pings off.
    public var pingInterval: Duration? = .seconds(30)
    /// When a receiver of a queued broadcast is cut off: no progress for 10 s, or over 16 MiB
    /// queued with its socket full (``SlowReaderPolicy``). `wirelab serve --stall-limit --queue-cap`.
    public var slowReaders = SlowReaderPolicy()
    /// The bytes all receiver queues of the lab may hold together; past it, publishers wait.
    /// `wirelab serve --outbound-budget`.
    public var outboundBudget = 256 << 20
    /// The kernel send buffer of each server-side connection (SO_SNDBUF; Linux doubles it), nil
    /// for the system's autotuning, which grows it to megabytes. Kept small, a receiver that stops
    /// reading backs up into the lab's own queues within a few messages, where it can be seen and
    /// limited, instead of hiding megabytes in the kernel.
    public var socketSendBuffer: Int? = 64 << 10
    /// Messages a chat or room keeps for HTTP pollers.
    public var retainedMessages = 1000
    /// The longest a long poll may wait.
    public var maxLongPoll: Duration = .seconds(60)
    /// How often an idle SSE stream gets a `: heartbeat` comment.
    public var heartbeatInterval: Duration = .seconds(15)
    /// The `retry:` an SSE stream announces, in milliseconds.
    public var sseRetry = 3000
    /// How often the dashboard pushes its metrics.
    public var dashboardInterval: Duration = .seconds(1)
    /// How long `/ws/secure` waits for the first (auth) message.
    public var authTimeout: Duration = .seconds(5)
    /// Failed logins and token checks one client address may have within ``authFailureWindow``;
    /// after that it gets `429` (or close 1008) until the window has moved on.
    public var authFailures = 10
    public var authFailureWindow: Duration = .seconds(60)
    /// TCP connections the lab holds at once, HTTP and WebSocket alike; one more is answered
    /// `503` and closed. `wirelab serve --max-connections`.
    public var maxConnections = 10_000
    /// How long a new connection may take to send its whole first request head; a slower one
    /// (a "slow loris") gets `408` and is closed. nil waits for ever.
    public var requestHeadTimeout: Duration? = .seconds(10)
    /// How long a kept-alive HTTP connection may sit between requests before the lab closes it.
    /// (A WebSocket whose peer has vanished is found by the pings: ``pingInterval``.)
    public var idleTimeout: Duration? = .seconds(75)
    /// How fast one connection may send to a chat-like endpoint (chat, room, live chat); nil for
    /// no limit. `wirelab serve --message-rate`.
    public var messageRate: MessageRate? = MessageRate()

    public init() {}
}

extension LabLimits {
    /// The range `--max-message-size` accepts: at least one byte, at most 1 GiB (NIO's frame
    /// decoder takes at most 4 GiB, and a message is held whole in memory).
    public static let messageSizeRange = 1...(1 << 30)

    /// A size as a person writes it: `1048576`, `64KiB`, `16 MiB`, `1GiB` (binary units, any
    /// case; `B` for bytes may follow a plain number). nil for anything else.
    public static func parseByteCount(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(suffix: String, factor: Int)] = [("kib", 1 << 10), ("mib", 1 << 20), ("gib", 1 << 30), ("b", 1), ("", 1)]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            let number = String(trimmed.dropLast(suffix.count)).trimmingCharacters(in: .whitespaces)
            guard !number.isEmpty, number.allSatisfy(\.isASCII), let value = Int(number), value >= 0 else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: factor)
            return overflow ? nil : product
        }
        return nil
    }
}

/// The event-stream responses in progress.
public final class OpenEventStreams: Sendable {
    private let streams = NIOLockedValueBox<(next: Int, open: [Int: AsyncStream<String>.Continuation])>((0, [:]))

    public init() {}

    func track(_ continuation: AsyncStream<String>.Continuation) -> Int {
        streams.withLockedValue { state in
            defer { state.next += 1 }
            state.open[state.next] = continuation
            return state.next
        }
    }

    func untrack(_ id: Int) {
        streams.withLockedValue { _ = $0.open.removeValue(forKey: id) }
    }

    /// Ends every stream: each response sends its last chunk, and its client sees the end.
    public func finishAll() {
        let open = streams.withLockedValue { state in defer { state.open = [:] }; return Array(state.open.values) }
        for continuation in open { continuation.finish() }
    }

    public var count: Int { streams.withLockedValue { $0.open.count } }
}
