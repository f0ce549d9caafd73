import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A plain TCP connection: exact bytes out, whatever arrives in, and when the server ends its side.
/// Nothing here knows WebSocket: the suite builds and reads every byte itself.
final class RawSocket: Sendable {
    enum Arrival: Equatable {
        case bytes([UInt8])
        /// The server ended its side (FIN), or the connection failed (`why` says how).
        case end(why: String?)
        case timedOut
    }

    private let channel: any Channel
    private let inbox: Inbox
    private let slots: Int

    private init(channel: any Channel, inbox: Inbox, slots: Int) {
        self.channel = channel
        self.inbox = inbox
        self.slots = slots
    }

    /// Connects once `slots` ``ConnectionSlots`` are free (a connection that moves megabytes
    /// takes them all, so that it runs alone); ``close()`` gives them back.
    static func connect(port: Int, slots: Int = 1) async throws -> RawSocket {
        await ConnectionSlots.shared.acquire(slots)
        do {
            return try await connectNow(port: port, slots: slots)
        } catch {
            ConnectionSlots.shared.release(slots)
            throw error
        }
    }

    private static func connectNow(port: Int, slots: Int) async throws -> RawSocket {
        let inbox = Inbox()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            // Reading after the server's FIN is how a half-closed server is seen to end its side.
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(inbox: inbox))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawSocket(channel: channel, inbox: inbox, slots: slots)
    }

    func write(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Everything that arrived since the last call, waiting for something until `deadline`.
    func read(before deadline: ContinuousClock.Instant) async -> Arrival {
        await inbox.take(before: deadline)
    }

    /// Sends a FIN: the suite will write no more, and still reads.
    func shutdownOutput() async throws {
        try await channel.close(mode: .output)
    }

    private let released = NIOLockedValueBox(false)

    func close() {
        channel.close(promise: nil)
        let first = released.withLockedValue { released in
            defer { released = true }
            return !released
        }
        if first { ConnectionSlots.shared.release(slots) }
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let inbox: Inbox

        init(inbox: Inbox) {
            self.inbox = inbox
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            inbox.deliver(Array(unwrapInboundIn(data).readableBytesView))
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? ChannelEvent, event == .inputClosed { inbox.end(why: nil) }
            context.fireUserInboundEventTriggered(event)
        }

        func channelInactive(context: ChannelHandlerContext) {
            inbox.end(why: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            inbox.end(why: "\(error)")  // e.g. a reset: the test says what it expected instead
            context.close(promise: nil)
        }
    }
}

/// Bytes that have arrived and not yet been taken, for one reader that waits with a deadline.
private final class Inbox: Sendable {
    private struct State {
        var pending: [UInt8] = []
        var ended = false
        var why: String?
        var waiter: CheckedContinuation<Void, Never>?

        mutating func takeWaiter() -> CheckedContinuation<Void, Never>? {
            defer { waiter = nil }
            return waiter
        }
    }

    private let state = NIOLockedValueBox(State())

    func deliver(_ bytes: [UInt8]) {
        state.withLockedValue { state in
            state.pending += bytes
            return state.takeWaiter()
        }?.resume()
    }

    func end(why: String?) {
        state.withLockedValue { state in
            if !state.ended { state.why = why }
            state.ended = true
            return state.takeWaiter()
        }?.resume()
    }

    func take(before deadline: ContinuousClock.Instant) async -> RawSocket.Arrival {
        while true {
            let ready = state.withLockedValue { state -> RawSocket.Arrival? in
                if !state.pending.isEmpty {
                    defer { state.pending = [] }
                    return .bytes(state.pending)
                }
                return state.ended ? .end(why: state.why) : nil
            }
            if let ready { return ready }
            if ContinuousClock.now >= deadline { return .timedOut }
            let timer = Task {
                do {
                    try await Task.sleep(until: deadline)
                    self.wake()
                } catch {}  // cancelled: the bytes came first
            }
            await withCheckedContinuation { continuation in
                let now = state.withLockedValue { state -> Bool in
                    if !state.pending.isEmpty || state.ended { return true }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
            timer.cancel()
        }
    }

    private func wake() {
        state.withLockedValue { $0.takeWaiter() }?.resume()
    }
}

/// How many connections the suite has open at once. Swift Testing starts every case at the same
/// moment; a thousand connections then share two cores with the lab (and with the other test
/// targets), and cases time out for want of CPU, not for anything the server did.
final class ConnectionSlots: Sendable {
    static let capacity = 8
    static let shared = ConnectionSlots(count: capacity)

    private struct State {
        var free: Int
        /// First come, first served: a large request is not overtaken by small ones.
        var waiting: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state: NIOLockedValueBox<State>

    init(count: Int) {
        state = NIOLockedValueBox(State(free: count))
    }

    func acquire(_ count: Int = 1) async {
        await withCheckedContinuation { continuation in
            let granted = state.withLockedValue { state -> Bool in
                guard state.waiting.isEmpty, state.free >= count else {
                    state.waiting.append((count, continuation))
                    return false
                }
                state.free -= count
                return true
            }
            if granted { continuation.resume() }
        }
    }

    func release(_ count: Int = 1) {
        let ready = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.free += count
            var ready: [CheckedContinuation<Void, Never>] = []
            while let first = state.waiting.first, first.count <= state.free {
                state.free -= first.count
                ready.append(state.waiting.removeFirst().continuation)
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }
}
