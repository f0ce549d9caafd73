import NIOConcurrencyHelpers
import NIOCore
import WireProtocol

/// Something a topic pushes its entries to: a WebSocket ``Subscriber``, or an SSE stream.
public protocol TopicReceiver: AnyObject, Sendable {
    var name: String { get }
    /// Hands one entry over, in the lab's current broadcast mode.
    func deliver(_ entry: Topic.Entry, mode: BroadcastMode) async
    /// Registers what to do when the receiver's connection is gone.
    func whenGone(_ action: @escaping @Sendable () -> Void)
}

/// One conversation (the chat, a room, the live chat, one user's notifications): the single
/// source of truth for its messages. Receivers (WebSocket or SSE) get each message pushed; HTTP
/// pollers read the same log by id, so every kind of client sees the same messages, none lost,
/// none twice.
public final class Topic: Sendable {
    public struct Entry: Sendable {
        public let id: Int
        public let message: JSON
        /// The message's wire text, made once when it was published and shared by every
        /// receiver: a broadcast to N receivers costs one serialization, not N.
        public let payload: ByteBuffer

        init(id: Int, message: JSON, payload: ByteBuffer) {
            self.id = id
            self.message = message
            self.payload = payload
        }

        /// The wire text as a string (an SSE event's `data`).
        public var text: String { String(buffer: payload) }
    }

    private struct State {
        var nextID = 1
        var log: [Entry] = []
        /// In the order they joined, so a naive broadcast visits them in a repeatable order.
        var receivers: [any TopicReceiver] = []
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
        /// Waiters whose time ran out before they started waiting.
        var expired: Set<Int> = []
        /// The last entry that reached at least one receiver: what follows waits for the next one.
        var deliveredThrough = 0
    }

    private let state = NIOLockedValueBox(State())
    private let lab: LabContext

    public init(lab: LabContext) {
        self.lab = lab
    }

    public func add(_ receiver: any TopicReceiver) {
        state.withLockedValue { $0.receivers.append(receiver) }
        receiver.whenGone { [weak self, weak receiver] in
            guard let self, let receiver else { return }
            self.remove(receiver)
        }
    }

    public func remove(_ receiver: any TopicReceiver) {
        state.withLockedValue { $0.receivers.removeAll { $0 === receiver } }
    }

    public var receiverNames: [String] {
        state.withLockedValue { $0.receivers.map(\.name) }
    }

    /// Logs `message` (so pollers see it) and pushes it to every receiver but `excluded`.
    /// - Returns: the message's id.
    @discardableResult
    public func publish(_ message: JSON, excluding excluded: (any TopicReceiver)? = nil) async -> Int {
        // Serialized here, once, for the log and every receiver.
        let payload = ByteBuffer(bytes: message.utf8)
        let (entry, receivers, waiters) = state.withLockedValue { state in
            let id = state.nextID
            state.nextID += 1
            let entry = Entry(id: id, message: message, payload: payload)
            state.log.append(entry)
            state.deliveredThrough = state.receivers.isEmpty ? state.deliveredThrough : id
            if state.log.count > lab.limits.retainedMessages { state.log.removeFirst(state.log.count - lab.limits.retainedMessages) }
            let waiters = Array(state.waiters.values)
            state.waiters = [:]
            return (entry, state.receivers, waiters)
        }
        waiters.forEach { $0.resume() }
        let mode = lab.broadcastMode
        for receiver in receivers where receiver !== excluded {
            await receiver.deliver(entry, mode: mode)
        }
        return entry.id
    }

    /// Adds a receiver and returns, atomically, the entries it must catch up on: those after
    /// `after`, or (when nil) those no receiver has had yet — a notification sent while its user
    /// was offline is delivered on the next connection.
    public func add(_ receiver: any TopicReceiver, catchingUpAfter after: Int?) -> [Entry] {
        let missed = state.withLockedValue { state -> [Entry] in
            let from = after ?? state.deliveredThrough
            state.receivers.append(receiver)
            state.deliveredThrough = state.nextID - 1
            return state.log.filter { $0.id > from }
        }
        receiver.whenGone { [weak self, weak receiver] in
            guard let self, let receiver else { return }
            self.remove(receiver)
        }
        return missed
    }

    /// Forgets the log but not the numbering, so a poller's `since` stays meaningful.
    public func clearLog() {
        state.withLockedValue { $0.log = [] }
    }

    /// Entries newer than `since`, oldest first.
    public func entries(since: Int) -> [Entry] {
        state.withLockedValue { state in state.log.filter { $0.id > since } }
    }

    public var lastID: Int { state.withLockedValue { $0.nextID - 1 } }

    /// The HTTP polling answer: entries after `since`; with `wait`, held until one arrives or the
    /// wait ends. `{"messages":[{"id":…,…}],"last_id":N,"outcome":"…"}`.
    public func poll(since asked: Int, wait: Duration?) async -> JSON {
        // An id past the newest (`since=latest`, or one from before a restart) means "from now".
        let since = min(asked, lastID)
        var found = entries(since: since)
        var outcome = "immediate"
        if found.isEmpty, let wait {
            let deadline = ContinuousClock.now + min(wait, lab.limits.maxLongPoll)
            lab.heldPolls.withLockedValue { $0 += 1 }
            defer { lab.heldPolls.withLockedValue { $0 -= 1 } }
            while found.isEmpty && ContinuousClock.now < deadline && !Task.isCancelled {
                await waitForPublish(after: since, until: deadline)
                found = entries(since: since)
            }
            outcome = found.isEmpty ? "timeout" : "new_messages"
        }
        let messages = found.map { entry -> JSON in
            guard case .object(let members) = entry.message else { return entry.message }
            return .object([("id", .number(Double(entry.id)))] + members)
        }
        return .object([("messages", .array(messages)), ("last_id", .number(Double(max(since, found.last?.id ?? lastID)))), ("outcome", .string(outcome))])
    }

    /// Returns once something newer than `since` is published, or at `deadline`.
    private func waitForPublish(after since: Int, until deadline: ContinuousClock.Instant) async {
        let id = state.withLockedValue { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let resumeNow = self.state.withLockedValue { state -> Bool in
                        if state.nextID - 1 > since || state.expired.remove(id) != nil { return true }
                        state.waiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(until: deadline)
                let waiting = self.state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                    if let continuation = state.waiters.removeValue(forKey: id) { return continuation }
                    state.expired.insert(id)
                    return nil
                }
                waiting?.resume()
            }
            await group.next()
            group.cancelAll()
        }
        state.withLockedValue { _ = $0.expired.remove(id) }
    }
}
