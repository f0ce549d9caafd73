import WireProtocol

/// What a good client does when its connection ends: the rules, apart from any I/O, so that
/// they can be tested without waiting (the REPL's clients follow them and print each step).

/// Exponential backoff: 1, 2, 4, 8, 16 s, … capped, for a limited number of attempts, with
/// optional jitter so that many clients dropped together do not all return in the same instant.
public struct Backoff: Sendable, Equatable {
    public var base: Duration = .seconds(1)
    public var cap: Duration = .seconds(30)
    public var maxAttempts = 10
    /// 0 for none; 0.2 (the default, as a good client has it) spreads each delay over ±20 %.
    public var jitter = 0.2

    public init() {}

    /// The wait before attempt `attempt` (1-based). `random` is a number in 0..<1, injected.
    public func delay(beforeAttempt attempt: Int, random: Double = 0.5) -> Duration {
        var seconds = base.seconds
        for _ in 1..<max(1, attempt) where seconds < cap.seconds { seconds *= 2 }
        seconds = min(seconds, cap.seconds)
        if jitter > 0 { seconds *= 1 + jitter * (2 * random - 1) }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// The first `count` delays without jitter: what a learner expects to see.
    public func schedule(_ count: Int) -> [Duration] {
        var plain = self
        plain.jitter = 0
        return (1...max(1, count)).map { plain.delay(beforeAttempt: $0) }
    }
}

/// Why a connection ended, as the reconnection rule sees it.
public enum ConnectionEnd: Sendable, Equatable {
    /// The user closed it (`close`): whatever the code, that is a decision, not a failure.
    case closedByUser
    /// A close frame from the server with this code.
    case closedByServer(UInt16)
    /// The TCP connection ended without a close frame: 1006, abnormal closure.
    case dropped
    /// The upgrade was answered with something other than 101.
    case refused(status: UInt)
    /// Nothing answered (connection refused, timeout).
    case unreachable

    /// Whether a good client tries again. A normal closure (1000) is the server saying "done"
    /// (the guide: `if (event.code === 1000) return;`); "going away" (1001), a drop (1006), a
    /// refused upgrade (503 while an endpoint is off) or an unreachable server are worth retrying.
    public var shouldReconnect: Bool {
        switch self {
        case .closedByUser: false
        case .closedByServer(let code): code != 1000
        case .dropped, .refused, .unreachable: true
        }
    }

    /// `1006`, `1001`, `503`: the number a learner looks for.
    public var summary: String {
        switch self {
        case .closedByUser: "closed by you"
        case .closedByServer(let code): "closed \(code)"
        case .dropped: "closed 1006 (no close frame)"
        case .refused(let status): "refused \(status)"
        case .unreachable: "unreachable"
        }
    }
}

/// Messages typed while a client is disconnected, sent in order once it is back: each exactly
/// once, since a message leaves the queue only as it is handed to the new connection.
public struct OutboundQueue: Sendable, Equatable {
    public private(set) var waiting: [String] = []
    public let limit: Int

    public init(limit: Int = 1000) {
        self.limit = limit
    }

    /// - Returns: false when the queue is full (the message is not queued).
    public mutating func enqueue(_ message: String) -> Bool {
        guard waiting.count < limit else { return false }
        waiting.append(message)
        return true
    }

    /// Takes the oldest message, to send it.
    public mutating func next() -> String? {
        waiting.isEmpty ? nil : waiting.removeFirst()
    }

    /// Puts a message back at the front: sending it failed, so it waits for the next connection.
    public mutating func putBack(_ message: String) {
        waiting.insert(message, at: 0)
    }

    public var count: Int { waiting.count }
}

/// A client's heartbeat: something that must be answered, every `interval`; no answer within
/// `timeout` means the connection is dead, even if TCP has not noticed (a half-open connection
/// behind a NAT or proxy that dropped it silently).
public struct Heartbeat: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A WebSocket ping frame; every server must answer with a pong (RFC 6455 §5.5.2).
        case pingFrame
        /// The text `ping`, answered with `pong` by the application (the guide's notifications
        /// endpoint); works through anything that passes messages, but only where the app answers.
        case text
    }

    public var interval: Duration
    public var timeout: Duration
    public var kind: Kind

    public init(interval: Duration = .seconds(30), timeout: Duration? = nil, kind: Kind = .pingFrame) {
        self.interval = interval
        self.timeout = timeout ?? min(interval, .seconds(10))
        self.kind = kind
    }
}
