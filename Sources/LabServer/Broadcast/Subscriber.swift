import HummingbirdWebSocket
import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import WireProtocol

/// One WebSocket connection as a receiver of broadcasts.
///
/// In queued mode (the default) it owns a bounded queue and a writer task: `deliver` does not wait
/// for the write, so a slow receiver delays nobody. A receiver more than `outboundQueueLimit`
/// messages behind whose socket is full (it is not reading fast enough) is cut off with 1008. One
/// that far behind whose socket still takes bytes is not at fault: the lab itself is behind, and
/// the publisher waits until this queue is back within the limit, which slows the senders instead
/// of cutting off a receiver that reads. In naive mode `deliver` awaits the write, as the guide's
/// loop does.
public final class Subscriber: TopicReceiver {
    public let name: String
    private let session: WebSocketSession
    private let queue: AsyncStream<String>.Continuation
    private let stream: AsyncStream<String>
    private struct State {
        var pending = 0
        var gone = false
    }
    private let state = NIOLockedValueBox(State())
    /// Called once, when the subscriber is cut off or its connection fails.
    private let onGone: NIOLockedValueBox<(@Sendable () -> Void)?>

    public init(name: String, session: WebSocketSession) {
        self.name = name
        self.session = session
        (stream, queue) = AsyncStream<String>.makeStream()
        onGone = NIOLockedValueBox(nil)
        session.beforeClose.add { [weak self] in await self?.drained(within: .seconds(2)) }
    }

    /// Waits until every queued message has been written (or the receiver is gone, or `limit`
    /// passes): the lab closes a connection only after what it accepted for it.
    func drained(within limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline, state.withLockedValue({ $0.pending > 0 && !$0.gone }) {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    var isGone: Bool { state.withLockedValue { $0.gone } }

    /// Runs the writer while `body` runs; afterwards the queue gets a moment to drain, and is closed.
    public func run(_ body: () async throws -> Void) async throws {
        let writer = Task { await self.writeQueued() }
        do {
            try await body()
        } catch {
            queue.finish()
            writer.cancel()
            throw error
        }
        queue.finish()
        await finish(within: .seconds(2)) { await writer.value }
        writer.cancel()
        // Nothing more will be written: a publisher waiting for this queue must not wait on.
        state.withLockedValue { $0.gone = true }
    }

    private func writeQueued() async {
        for await text in stream {
            do {
                try await session.outbound.write(.text(text))
            } catch {
                markGone()
                return
            }
            state.withLockedValue { $0.pending -= 1 }
        }
    }

    public func whenGone(_ action: @escaping @Sendable () -> Void) {
        onGone.withLockedValue { $0 = action }
    }

    public func deliver(_ entry: Topic.Entry, mode: BroadcastMode) async {
        await deliver(entry.message.text, mode: mode)
    }

    /// Hands one message to this receiver, in the lab's current broadcast mode.
    func deliver(_ text: String, mode: BroadcastMode) async {
        if isGone { return }
        switch mode {
        case .naive:
            // The guide: `await ws.send_json(message)`, one receiver after another.
            do {
                try await session.outbound.write(.text(text))
            } catch {
                markGone()
            }
        case .queued:
            let waiting = state.withLockedValue { state -> Int in
                state.pending += 1
                return state.pending
            }
            guard waiting > session.lab.outboundQueueLimit else {
                queue.yield(text)
                return
            }
            guard session.channel.isWritable else {
                cutOff(reason: "too slow: \(waiting) messages waiting, its socket full")
                return
            }
            queue.yield(text)
            await waitUntilWithinLimit()
        }
    }

    /// The lab is behind, not this receiver: its queue is over the limit but its socket still
    /// takes bytes. Waits (in the publisher's task, so the senders slow down) until the writer has
    /// brought the queue back within the limit; cuts the receiver off if its socket fills first.
    /// The wait happens only when the lab is overloaded, so a short poll is simple and cheap.
    private func waitUntilWithinLimit() async {
        while true {
            let (pending, gone) = state.withLockedValue { ($0.pending, $0.gone) }
            if gone || pending <= session.lab.outboundQueueLimit || Task.isCancelled { return }
            if !session.channel.isWritable {
                cutOff(reason: "too slow: \(pending) messages waiting, its socket full")
                return
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Sends to this receiver alone (a reply, the history), in order with its broadcasts.
    public func send(_ message: JSON) async {
        await deliver(message.text, mode: session.lab.broadcastMode)
    }

    private func markGone() {
        let first = state.withLockedValue { state in
            defer { state.gone = true }
            return !state.gone
        }
        if first { onGone.withLockedValue { $0 }?() }
    }

    /// Closes a receiver that cannot keep up: a close frame if it can still take one, and the
    /// TCP connection in any case.
    private func cutOff(reason: String) {
        markGone()
        queue.finish()
        session.lab.announce("cutting off \(name) (\(reason); the limit is \(session.lab.outboundQueueLimit)) · a 1008 close frame if its buffers can still take one, then the TCP connection is closed")
        let session = self.session
        Task {
            await finish(within: .seconds(1)) { try? await session.outbound.close(.policyViolation, reason: reason) }
            try? await session.channel.close()
        }
    }
}
