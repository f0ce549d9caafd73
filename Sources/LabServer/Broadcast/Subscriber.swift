import HummingbirdWebSocket
import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import WireProtocol

/// One WebSocket connection as a receiver of broadcasts.
///
/// In queued mode (the default) `deliver` does not wait for the write, so a slow receiver delays
/// nobody: the frame goes to the connection's channel on its event loop, where NIO holds it until
/// the socket takes it, and a callback counts it written. No task per receiver, no hop through
/// Swift concurrency per delivery (BENCHMARKS.md, "Where the time goes"). A connection that
/// negotiated permessage-deflate is written by a writer task through the WebSocket library,
/// which compresses. Either way the backlog holds each message's bytes as the topic made them,
/// once for all receivers. Who is cut off is the ``SlowReaderPolicy``'s call: a socket that has
/// taken no bytes for the stall limit, or a backlog over the byte cap with the socket full.
/// Every queued byte also counts against the lab's ``OutboundBudget``, which makes publishers
/// wait when all queues together hold too much. In naive mode `deliver` awaits the write, as
/// the guide's loop does.
public final class Subscriber: TopicReceiver {
    public let name: String
    private let session: WebSocketSession
    /// For a connection that compresses: the queue its writer task takes messages from.
    private let compressedQueue: (stream: AsyncStream<ByteBuffer>, continuation: AsyncStream<ByteBuffer>.Continuation)?
    private struct State {
        var backlog = ReceiverBacklog()
        var gone = false
        var departed = false
        /// A check of the stall rule is scheduled.
        var stallCheckArmed = false
    }
    private let state = NIOLockedValueBox(State())
    /// Called once, when the subscriber is cut off or its connection fails.
    private let onGone: NIOLockedValueBox<(@Sendable () -> Void)?>

    public init(name: String, session: WebSocketSession) {
        self.name = name
        self.session = session
        compressedQueue = session.compresses ? AsyncStream<ByteBuffer>.makeStream() : nil
        onGone = NIOLockedValueBox(nil)
        session.beforeClose.add { [weak self] in await self?.drained(within: .seconds(2)) }
        session.lifecycle.track { [weak self] in self?.state.withLockedValue { $0.gone ? 0 : $0.backlog.messages } ?? 0 }
    }

    private var lab: LabContext { session.lab }

    /// Waits until every queued message has been written (or the receiver is gone, or `limit`
    /// passes): the lab closes a connection only after what it accepted for it.
    func drained(within limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline, state.withLockedValue({ $0.backlog.messages > 0 && !$0.gone }) {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    var isGone: Bool { state.withLockedValue { $0.gone } }

    /// True once the lab has sent this connection's close (or lost it): its name is free.
    var isClosing: Bool { session.lifecycle.closeSent || isGone }

    /// True the first time only: a departure is announced once, whether the connection ended by
    /// itself or a newcomer took its name while it was closing.
    func departOnce() -> Bool {
        state.withLockedValue { state in
            defer { state.departed = true }
            return !state.departed
        }
    }

    /// Runs the writer while `body` runs; afterwards the queue gets a moment to drain, and is closed.
    public func run(_ body: () async throws -> Void) async throws {
        let writer = compressedQueue.map { queue in Task { await self.writeCompressed(queue.stream) } }
        do {
            try await body()
        } catch {
            compressedQueue?.continuation.finish()
            writer?.cancel()
            markGone()
            throw error
        }
        compressedQueue?.continuation.finish()
        if let writer {
            await finish(within: .seconds(2)) { await writer.value }
            writer.cancel()
        } else {
            await drained(within: .seconds(2))
        }
        // Nothing more will be written: a publisher waiting for this queue must not wait on.
        markGone()
    }

    /// Hands a queued message to the connection: on its channel, or to the compressing writer.
    private func write(_ payload: ByteBuffer, socketWritable: Bool) {
        if let queue = compressedQueue {
            queue.continuation.yield(payload)
            return
        }
        if !socketWritable { socketRefusing() }
        let size = payload.readableBytes
        let channel = session.channel
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { result in
            switch result {
            case .success: self.wrote(size: size)
            case .failure: self.markGone()
            }
        }
        // Through the loop's task queue even from the loop itself, so that messages from
        // publishers on different threads keep the order they were delivered in.
        channel.eventLoop.execute {
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .text, data: payload), promise: written)
        }
    }

    /// A connection that compresses: its messages go through the WebSocket library one by one.
    private func writeCompressed(_ stream: AsyncStream<ByteBuffer>) async {
        for await payload in stream {
            if !session.channel.isWritable { socketRefusing() }
            do {
                try await session.outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: payload)))
            } catch {
                markGone()
                return
            }
            wrote(size: payload.readableBytes)
        }
    }

    /// The socket took a message: progress, and its bytes go back to the lab's budget.
    private func wrote(size: Int) {
        let counted = state.withLockedValue { state -> Bool in
            guard !state.gone else { return false }
            state.backlog.written(size: size)
            return true
        }
        if counted { lab.outboundBudget.release(size) }
    }

    /// A message is going to a socket that takes no bytes now: notes since when, and checks the
    /// stall rule when the limit is up (no new message may come to find it stalled).
    private func socketRefusing() {
        let arm = state.withLockedValue { state -> Bool in
            state.backlog.socketRefusing(since: .now)
            defer { state.stallCheckArmed = true }
            return !state.stallCheckArmed
        }
        if arm { checkStall(in: lab.slowReaders.stallLimit) }
    }

    private func checkStall(in delay: Duration) {
        session.channel.eventLoop.scheduleTask(in: TimeAmount(delay)) {
            let policy = self.lab.slowReaders
            let (stall, again) = self.state.withLockedValue { state -> (String?, Duration?) in
                if !state.gone, let stall = state.backlog.stall(policy: policy, now: .now) { return (stall, nil) }
                guard !state.gone, let since = state.backlog.blockedSince else {
                    state.stallCheckArmed = false
                    return (nil, nil)
                }
                // Blocked again since the last check: look again when this spell reaches the limit.
                return (nil, policy.stallLimit - (ContinuousClock.now - since))
            }
            if let stall { self.cutOff(reason: stall) }
            if let again { self.checkStall(in: again) }
        }
    }

    public func whenGone(_ action: @escaping @Sendable () -> Void) {
        onGone.withLockedValue { $0 = action }
    }

    public func deliver(_ entry: Topic.Entry, mode: BroadcastMode) async {
        await deliver(entry.payload, mode: mode)
    }

    /// Hands one message (its wire text, shared with the other receivers) to this receiver, in
    /// the lab's current broadcast mode.
    func deliver(_ payload: ByteBuffer, mode: BroadcastMode) async {
        if isGone { return }
        switch mode {
        case .naive:
            // The guide: `await ws.send_json(message)`, one receiver after another.
            do {
                try await session.outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: payload)))
            } catch {
                markGone()
            }
        case .queued:
            let size = payload.readableBytes
            await lab.outboundBudget.reserve(size)
            let policy = lab.slowReaders
            let writable = session.channel.isWritable
            let admission = state.withLockedValue { state -> ReceiverBacklog.Admission? in
                guard !state.gone else { return nil }
                let admission = state.backlog.admit(size: size, policy: policy, socketWritable: writable, now: .now)
                if case .cutOff = admission { return admission }
                state.backlog.queued(size: size)
                return admission
            }
            switch admission {
            case nil:
                lab.outboundBudget.release(size)
            case .queue:
                write(payload, socketWritable: writable)
            case .queueAndWait:
                write(payload, socketWritable: writable)
                await waitUntilUnderCap()
            case .cutOff(let reason):
                lab.outboundBudget.release(size)
                cutOff(reason: reason)
            }
        }
    }

    /// The lab is behind, not this receiver: its backlog is over the cap but its socket still
    /// takes bytes. Waits (in the publisher's task, so the senders slow down) until the writer has
    /// brought the backlog back under the cap; cuts the receiver off if its socket fills first.
    /// The wait happens only when the lab is overloaded, so a short poll is simple and cheap.
    private func waitUntilUnderCap() async {
        while true {
            let policy = lab.slowReaders
            let (over, gone, bytes) = state.withLockedValue { ($0.backlog.overCap(policy), $0.gone, $0.backlog.bytes) }
            if gone || !over || Task.isCancelled { return }
            if !session.channel.isWritable {
                cutOff(reason: "too slow: \(ByteSize(bytes)) waiting, over its cap of \(ByteSize(policy.queueByteCap)), and its socket full")
                return
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Sends to this receiver alone (a reply, the history), in order with its broadcasts.
    public func send(_ message: JSON) async {
        await deliver(ByteBuffer(bytes: message.utf8), mode: lab.broadcastMode)
    }

    /// Sends plain text to this receiver alone (the notifications socket's `pong`).
    public func send(text: String) async {
        await deliver(ByteBuffer(string: text), mode: lab.broadcastMode)
    }

    /// Marks the receiver gone, gives its queued bytes back to the lab's budget, and tells the
    /// topic (once).
    private func markGone() {
        let (first, held) = state.withLockedValue { state in
            defer { state.gone = true }
            return (!state.gone, state.gone ? 0 : state.backlog.drop())
        }
        lab.outboundBudget.release(held)
        if first { onGone.withLockedValue { $0 }?() }
    }

    /// Closes a receiver that cannot keep up: a close frame if it can still take one, and the
    /// TCP connection in any case.
    private func cutOff(reason: String) {
        guard !isGone else { return }
        markGone()
        compressedQueue?.continuation.finish()
        lab.announce("cutting off \(name) (\(reason); the rule: \(lab.slowReaders.description)) · a 1008 close frame if its buffers can still take one, then the TCP connection is closed")
        let session = self.session
        let closeReason = reason.count <= 100 ? reason : String(reason.prefix(100))
        Task {
            await finish(within: .seconds(1)) { try? await session.outbound.close(.policyViolation, reason: closeReason) }
            try? await session.channel.close()
        }
    }
}
