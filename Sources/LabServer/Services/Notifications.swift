import NIOConcurrencyHelpers
import WireProtocol

/// Per-user notifications: one topic per user, so that the user's open WebSockets and SSE streams
/// get each notification pushed, HTTP pollers read the same log, a stream that reconnects with
/// `Last-Event-ID` catches up, and a notification sent while the user is offline waits for the
/// next connection.
public final class Notifications: Sendable {
    private let lab: LabContext
    private let topics = NIOLockedValueBox<[String: Topic]>([:])

    init(lab: LabContext) {
        self.lab = lab
    }

    public func topic(for user: String) -> Topic {
        topics.withLockedValue { topics in
            if let topic = topics[user] { return topic }
            let topic = Topic(lab: lab)
            topics[user] = topic
            return topic
        }
    }

    /// The guide's `push_to_user`, to every connection the user has open (or the next one).
    @discardableResult
    public func push(_ message: JSON, to user: String) async -> Int {
        await topic(for: user).publish(message)
    }
}
