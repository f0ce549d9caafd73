import NIOConcurrencyHelpers
import Synchronization
import NIOCore
import WireProtocol

/// Every TCP connection to the lab as raw bytes, for the REPL's `tap` and `wirelab serve --tap`:
/// the lab's own view of clients it did not open (a browser, a Python script, curl).
///
/// ``ServerWireTap`` is the first handler of every server connection, so what it reports is what
/// the socket read and wrote, before any decoding and after all encoding. Directions are the
/// client's, as everywhere in wirelab: `.up` is what the client sent (the server read), `.down`
/// what the server wrote.
///
/// Each connection keeps its first ``historyLimit`` bytes, so that a tap started after the
/// handshake still shows it; observers get everything after that as it happens.
public final class ConnectionTaps: Sendable {
    /// What `tap` lists about one connection.
    public struct Summary: Sendable, Equatable {
        public let id: Int
        /// `address:port` of the client.
        public let peer: String
        /// The first request's method and target (query included), once its head is in.
        public var request: String?
        /// The endpoint the first request went to; nil until its head is in, or when none matched.
        public var endpoint: String?
        public var userAgent: String?
        /// Bytes the client sent (the server read) and received (the server wrote).
        public var bytesUp = 0
        public var bytesDown = 0
        public var closed = false
        /// Came in on the TLS port: the bytes counted and kept are the decrypted ones.
        public var tls = false
    }

    /// One observed piece of a connection. `sequence` numbers a connection's pieces from 0, so
    /// that an observer that also read the history can tell which it has already seen.
    public enum Piece: Sendable {
        case bytes(Direction, [UInt8])
        case closed
    }

    public struct News: Sendable {
        public let summary: Summary
        public let sequence: Int
        public let piece: Piece
    }

    /// What a late observer needs to take a connection apart from its start.
    public struct History: Sendable {
        public let pieces: [Piece]
        /// False when more bytes went by than were kept: the rest cannot be taken apart, as
        /// frames would be cut in the middle.
        public let complete: Bool
    }

    public static let historyLimit = 16 * 1024

    fileprivate struct Record {
        var summary: Summary
        var history: [Piece] = []
        var historyBytes = 0
        var historyComplete = true
        var sequence = 0
        /// The first request head as it arrives, until it is whole.
        var head: [UInt8] = []
        var headDone = false
    }

    /// One connection's record, behind a lock of its own: the handler of that connection is the
    /// only writer, so the per-read and per-write path never contends with other connections.
    final class Connection: Sendable {
        fileprivate let record: NIOLockedValueBox<Record>
        let id: Int

        fileprivate init(id: Int, peer: String, tls: Bool) {
            self.id = id
            var summary = Summary(id: id, peer: peer)
            summary.tls = tls
            record = NIOLockedValueBox(Record(summary: summary))
        }
    }

    private struct State {
        var next = 1
        var connections: [Int: Connection] = [:]
        var nextObserver = 0
        var observers: [Int: @Sendable (News) -> Void] = [:]
    }

    private let state = NIOLockedValueBox(State())
    /// Read on every read and write of every connection: observers are rare, so the hot path
    /// asks this instead of the shared lock.
    private let observerCount = Atomic<Int>(0)
    /// Names the endpoint of a request target (set by the registry that owns the routes).
    private let endpointNamer: NIOLockedValueBox<(@Sendable (String) -> String?)?> = NIOLockedValueBox(nil)

    public init() {}

    func nameEndpoints(with namer: @escaping @Sendable (String) -> String?) {
        endpointNamer.withLockedValue { $0 = namer }
    }

    private func connection(_ id: Int) -> Connection? {
        state.withLockedValue { $0.connections[id] }
    }

    /// The live connections, oldest first.
    public var live: [Summary] {
        state.withLockedValue { Array($0.connections.values) }.map { $0.record.withLockedValue(\.summary) }.sorted { $0.id < $1.id }
    }

    public func summary(_ id: Int) -> Summary? {
        connection(id)?.record.withLockedValue(\.summary)
    }

    /// Calls `observer` with every piece of every connection from now on (on the connection's
    /// event loop, in wire order for each connection). - Returns: an id for ``stopObserving(_:)``.
    public func observe(_ observer: @escaping @Sendable (News) -> Void) -> Int {
        state.withLockedValue { state in
            defer { state.nextObserver += 1 }
            state.observers[state.nextObserver] = observer
            observerCount.store(state.observers.count, ordering: .relaxed)
            return state.nextObserver
        }
    }

    public func stopObserving(_ id: Int) {
        state.withLockedValue { state in
            _ = state.observers.removeValue(forKey: id)
            observerCount.store(state.observers.count, ordering: .relaxed)
        }
    }

    private var observers: [@Sendable (News) -> Void] {
        state.withLockedValue { Array($0.observers.values) }
    }

    /// The kept start of a connection, up to (not including) piece `sequence` (nil: every piece
    /// so far), and the sequence number of the next piece to come.
    public func history(_ id: Int, before sequence: Int? = nil) -> (history: History, next: Int)? {
        connection(id)?.record.withLockedValue { record in
            let end = sequence ?? record.sequence
            let history = History(pieces: Array(record.history.prefix(end)), complete: end <= record.history.count)
            return (history, end)
        }
    }

    // MARK: Fed by ServerWireTap

    func opened(peer: String, tls: Bool) -> Connection {
        state.withLockedValue { state in
            defer { state.next += 1 }
            let connection = Connection(id: state.next, peer: peer, tls: tls)
            state.connections[state.next] = connection
            return connection
        }
    }

    /// Counts `buffer`'s bytes; copies them only while the connection's start is being kept or
    /// someone is watching, so an untapped connection costs a count per read and write, under
    /// its own lock.
    func record(_ connection: Connection, _ direction: Direction, _ buffer: ByteBuffer) {
        let watched = observerCount.load(ordering: .relaxed) > 0
        let news = connection.record.withLockedValue { record -> News? in
            let count = buffer.readableBytes
            if direction == .up { record.summary.bytesUp += count } else { record.summary.bytesDown += count }
            let keeping = record.historyComplete && record.historyBytes + count <= Self.historyLimit
            if record.historyComplete && !keeping { record.historyComplete = false }
            guard keeping || watched || (direction == .up && !record.headDone) else {
                record.sequence += 1
                return nil
            }
            let bytes = Array(buffer.readableBytesView)
            if direction == .up, !record.headDone { Self.readFirstHead(bytes, into: &record, namer: endpointNamer.withLockedValue { $0 }) }
            let piece = Piece.bytes(direction, bytes)
            if keeping {
                record.history.append(piece)
                record.historyBytes += count
            }
            defer { record.sequence += 1 }
            return News(summary: record.summary, sequence: record.sequence, piece: piece)
        }
        guard watched, let news else { return }
        for observer in observers { observer(news) }
    }

    func closed(_ connection: Connection) {
        state.withLockedValue { _ = $0.connections.removeValue(forKey: connection.id) }
        let news = connection.record.withLockedValue { record in
            record.summary.closed = true
            return News(summary: record.summary, sequence: record.sequence, piece: .closed)
        }
        for observer in observers { observer(news) }
    }

    private static func readFirstHead(_ bytes: [UInt8], into record: inout Record, namer: (@Sendable (String) -> String?)?) {
        record.head += bytes
        switch HTTPHead.parse(record.head) {
        case .head(let head, _):
            record.headDone = true
            record.head = []
            if case .request(let method, let target, _) = head.startLine {
                record.summary.request = "\(method) \(target)"
                record.summary.endpoint = namer?(target)
            }
            record.summary.userAgent = head.field("User-Agent")
        case .needMoreBytes where record.head.count < historyLimit:
            break
        default:
            record.headDone = true
            record.head = []
        }
    }
}

/// The first handler of every server connection: hands the raw bytes read and written to
/// ``ConnectionTaps``. It changes nothing that passes.
final class ServerWireTap: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let taps: ConnectionTaps
    /// Behind NIOSSL's handler on the TLS port: it sees the decrypted bytes.
    private let tls: Bool
    private var connection: ConnectionTaps.Connection?

    init(taps: ConnectionTaps, tls: Bool = false) {
        self.taps = taps
        self.tls = tls
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let peer = context.channel.remoteAddress.map { address in
            "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        } ?? "?"
        connection = taps.opened(peer: peer, tls: tls)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let connection { taps.record(connection, .up, unwrapInboundIn(data)) }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if let connection, case .byteBuffer(let buffer) = unwrapOutboundIn(data) {
            taps.record(connection, .down, buffer)
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    private func finish() {
        if let connection {
            self.connection = nil
            taps.closed(connection)
        }
    }
}
