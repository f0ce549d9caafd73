import WireProtocol

/// How fast one connection may send to a chat-like endpoint (chat, room, live chat): on average
/// ``perSecond`` messages, up to ``burst`` back to back after a quiet spell (a token bucket).
/// A message beyond that is not delivered and gets an error reply; after ``strikes`` such
/// messages (each forgiven in the time it takes to earn one message) the lab closes the
/// connection with 1008. The guide has no
/// limit: any one client can flood every other.
public struct MessageRate: Sendable, Equatable {
    public var perSecond: Double
    public var burst: Int
    public var strikes: Int

    public init(perSecond: Double = 20, burst: Int = 40, strikes: Int = 10) {
        self.perSecond = perSecond
        self.burst = max(1, burst)
        self.strikes = max(1, strikes)
    }

    /// `20 a second, 40 at once`: how the REPL and the error replies say it.
    public var description: String {
        let rate = perSecond == perSecond.rounded() ? String(Int(perSecond)) : String(perSecond)
        return "\(rate) a second, \(burst) at once"
    }
}

/// One connection's account against a ``MessageRate``. Pure: the caller says what time it is
/// (any monotonic origin), so tests need no waiting.
struct MessageRateLimiter: Sendable {
    enum Verdict: Equatable {
        case deliver
        /// Not delivered; `left` more refusals close the connection.
        case refuse(left: Int)
        case close
    }

    let rate: MessageRate
    private var tokens: Double
    private var strikes: Double = 0
    private var last: Duration?

    init(rate: MessageRate) {
        self.rate = rate
        self.tokens = Double(rate.burst)
    }

    mutating func admit(at now: Duration) -> Verdict {
        if let last {
            let elapsed = max(0, (now - last).seconds)
            tokens = min(Double(rate.burst), tokens + elapsed * rate.perSecond)
            strikes = max(0, strikes - elapsed * rate.perSecond)
        }
        last = now
        if tokens >= 1 {
            tokens -= 1
            return .deliver
        }
        strikes += 1
        let left = rate.strikes - Int(strikes.rounded(.up))
        return left < 0 ? .close : .refuse(left: left)
    }
}
