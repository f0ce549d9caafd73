import Foundation
import WireProtocol

/// One piece of work the comparison does over every transport that fits it.
public enum Scenario: String, Sendable, CaseIterable, Codable {
    /// N exchanges, each waiting for its answer.
    case echo
    /// A second client posts M messages; the measured client receives them.
    case chat
    /// The server pushes a metrics snapshot every second.
    case dashboard
    /// An admin ships orders at irregular times; their owner is told.
    case notifications
    /// K predictions, each waiting for its answer.
    case predict
    /// A training job reports its progress epoch by epoch.
    case job

    public var summary: String {
        switch self {
        case .echo: "N echo exchanges, one after another (/ws/echo vs POST /http/echo)"
        case .chat: "another client posts M chat messages; the measured client receives them"
        case .dashboard: "the server's metrics snapshot, pushed every second or polled"
        case .notifications: "an admin ships orders at random times; their owner hears of each"
        case .predict: "K predictions, one after another (/ws/predict vs POST /http/predict)"
        case .job: "a training job's progress, epoch by epoch (/ws/jobs, SSE, polling GET /jobs/{id})"
        }
    }

    /// The transports that fit: push scenarios over all four ways to hear from a server;
    /// ask-and-answer ones over a WebSocket and plain request/response.
    public var transports: [Transport] {
        switch self {
        case .echo, .predict: [.webSocket, .requestResponse]
        case .dashboard: [.webSocket, .eventStream, .shortPolling]
        case .chat, .notifications, .job: [.webSocket, .eventStream, .shortPolling, .longPolling]
        }
    }

    /// Whether a delay is the time from an event to its receipt (push) or a round trip (asked).
    public var measuresRoundTrips: Bool { self == .echo || self == .predict }

    /// What the delay is measured from, for the table's notes.
    public var delayOrigin: String {
        switch self {
        case .echo, .predict: "round trip: from sending the request to reading its answer"
        case .chat: "from the other client's POST to the measured client's receipt"
        case .notifications: "from the admin's POST /orders/{id}/ship to the owner's receipt"
        case .dashboard, .job: "from the server's timestamp in the message to its receipt (same machine, same clock)"
        }
    }
}

/// How a comparison runs; every default is what `compare SCENARIO` does without options.
public struct ComparisonOptions: Sendable, Equatable {
    /// How long each push transport's run lasts (chat, dashboard, notifications).
    public var duration: Duration = .seconds(10)
    /// The short-polling interval.
    public var interval: Duration = .seconds(1)
    /// Messages (chat, notifications), exchanges (echo, predict) or epochs (job); nil: the default.
    public var count: Int?
    /// How long a long poll may be held.
    public var longPollWait: Duration = .seconds(30)
    /// When events happen: at seeded random times (the default: then short-poll waits spread
    /// from 0 to a whole interval), or evenly spread (`--steady`).
    public var randomArrivals = true
    public var seed: UInt64 = 1
    /// WebSocket clients offer permessage-deflate (`--deflate`), as browsers do.
    public var deflate = false
    /// Every connection over TLS (`--tls`): wss:// and https:// to the lab's TLS port, and the
    /// table counts the records on the wire beside the decrypted bytes.
    public var tls = false

    public init() {}

    public func count(for scenario: Scenario) -> Int {
        if let count { return count }
        switch scenario {
        case .echo, .predict: return 20
        case .chat: return 10
        case .notifications: return 6
        case .dashboard: return 0
        case .job: return 30
        }
    }

    /// When each of `count` events happens, from the start of a run: evenly spread over the
    /// duration (at the middle of each slot), or at seeded random times.
    public func arrivals(for scenario: Scenario) -> [Duration] {
        let count = self.count(for: scenario)
        let seconds = duration.milliseconds / 1000
        guard randomArrivals else {
            return (0..<count).map { .seconds((Double($0) + 0.5) * seconds / Double(count)) }
        }
        var generator = SeededGenerator(seed: seed)
        // Not in the last tenth, so that even a poll at the end of the run can pick the last one up.
        return (0..<count).map { _ in Double.random(in: 0..<(seconds * 0.9), using: &generator) }.sorted().map { .seconds($0) }
    }
}
