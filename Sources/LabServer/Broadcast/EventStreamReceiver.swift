import NIOConcurrencyHelpers
import WireProtocol

/// A `text/event-stream` response as a receiver of a topic: each entry becomes one SSE event whose
/// `id:` is the entry's id, so a client that reconnects with `Last-Event-ID` can catch up.
///
/// The stream is the response body; the lab's HTTP layer finishes it when the client goes away,
/// which is how the receiver learns it is gone.
public final class EventStreamReceiver: TopicReceiver {
    public let name: String
    public let stream: AsyncStream<String>
    public let continuation: AsyncStream<String>.Continuation
    private let onGone = NIOLockedValueBox<[@Sendable () -> Void]>([])

    public init(name: String) {
        self.name = name
        (stream, continuation) = AsyncStream<String>.makeStream()
        let onGone = self.onGone
        continuation.onTermination = { _ in
            for action in onGone.withLockedValue({ actions in defer { actions = [] }; return actions }) { action() }
        }
    }

    public func whenGone(_ action: @escaping @Sendable () -> Void) {
        onGone.withLockedValue { $0.append(action) }
    }

    /// SSE has no per-client queue to fill: the HTTP body writer drains the stream.
    public func deliver(_ entry: Topic.Entry, mode: BroadcastMode) async {
        continuation.yield(SSEEvent(id: String(entry.id), data: entry.text).wireText)
    }

    public func write(_ text: String) {
        continuation.yield(text)
    }

    /// The reply that streams this receiver's events.
    public var reply: HTTPReply {
        HTTPReply(eventStream: stream, continuation: continuation)
    }
}
