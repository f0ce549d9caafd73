import Foundation
import NIOConcurrencyHelpers
import WireClient
import WireProtocol

/// Opens the connections of one transport's run and counts everything they move, from their taps.
///
/// Two kinds of connection: the *measured* client's (what the table is about) and the *helpers'*
/// (the second client that posts chat messages, the admin who ships orders): the same for every
/// transport, so they are counted apart and shown once, never mixed into the comparison.
public final class Meter: Sendable {
    public enum Role: Sendable { case measured, helper }

    /// What one side's connections moved.
    public struct Counts: Sendable, Equatable {
        public var ledger = ByteLedger()
        /// Body bytes of event streams that are SSE syntax rather than data: field names, colons,
        /// `id:` and `retry:` lines, comments, line endings. Part of ``ledger``'s HTTP bodies.
        public var sseFraming = 0
        public var connections = 0
        public var requests = 0
        public var closed = 0
        /// permessage-deflate, each way: the payload bytes of compressed messages as the wire
        /// carried them, and what they inflated to.
        public var compressedUp = 0
        public var compressedDown = 0
        public var inflatedUp = 0
        public var inflatedDown = 0
        /// Over TLS (`compare --tls`): the bytes the sockets carried each way, in records; the
        /// ledger counts the same connections decrypted. Nil over plain TCP.
        public var tlsUp: TLSLayer.Tally?
        public var tlsDown: TLSLayer.Tally?

        public init() {}

        /// What TLS added on the wire (handshakes with the certificate, record headers, tags):
        /// the records' bytes minus the decrypted bytes, both measured. Nil over plain TCP.
        public var tlsAdded: Int? {
            guard let tlsUp, let tlsDown else { return nil }
            return (tlsUp + tlsDown).bytes - ledger.total
        }

        /// Protocol overhead one way: heads, chunk framing, frame headers, SSE syntax.
        public func overhead(_ direction: Direction) -> Int {
            ledger[direction].overhead + (direction == .down ? sseFraming : 0)
        }

        /// What carried the application's data one way.
        public func payload(_ direction: Direction) -> Int {
            ledger[direction].payload - (direction == .down ? sseFraming : 0)
        }

        /// Compressed messages' payload bytes one way, as the wire carried them.
        public func compressed(_ direction: Direction) -> Int { direction == .up ? compressedUp : compressedDown }
        /// What those messages inflated to.
        public func inflated(_ direction: Direction) -> Int { direction == .up ? inflatedUp : inflatedDown }
        public var compressedPayload: Int { compressedUp + compressedDown }
        public var inflatedPayload: Int { inflatedUp + inflatedDown }

        /// The payload one way with every compressed message counted at its inflated size: what
        /// the same messages weigh uncompressed. Measured (the dissector inflated them), not modelled.
        public func payloadInflated(_ direction: Direction) -> Int {
            payload(direction) - compressed(direction) + inflated(direction)
        }
    }

    public let target: ComparisonTarget
    private let randomness: Randomness
    /// What the WebSocket clients offer for permessage-deflate (nil: nothing).
    private let deflate: DeflateOffer?
    /// Whom TLS clients trust; nil: plain TCP.
    private let tls: ClientTLS.Trust?
    private let counts = NIOLockedValueBox([Role.measured: Counts(), .helper: Counts()])
    private let closers = NIOLockedValueBox<[@Sendable () async -> Void]>([])

    public init(target: ComparisonTarget, randomness: Randomness, deflate: DeflateOffer? = nil, tls: ClientTLS.Trust? = nil) {
        self.target = target
        self.randomness = randomness
        self.deflate = deflate
        self.tls = tls
        if tls != nil {
            counts.withLockedValue { counts in
                for role in counts.keys {
                    counts[role]!.tlsUp = TLSLayer.Tally()
                    counts[role]!.tlsDown = TLSLayer.Tally()
                }
            }
        }
    }

    public subscript(role: Role) -> Counts {
        counts.withLockedValue { $0[role]! }
    }

    /// A WebSocket client; throws if the upgrade is refused.
    public func webSocket(_ path: String, role: Role = .measured) async throws -> WebSocketClient {
        let outcome = try await target.connecting {
            try await WebSocketClient.connect(
                to: WebSocketTarget(host: target.host, port: target.port, path: path, secure: tls != nil),
                requestKey: randomness.requestKey(), randomness: randomness, deflate: deflate, tls: clientTLS(for: role),
                tap: sink(for: role, eventStream: false)
            )
        }
        switch outcome {
        case .open(let client):
            closers.withLockedValue { $0.append { try? await client.close(code: 1000); await client.waitUntilClosed() } }
            return client
        case .refused(let status, let reason):
            throw ComparisonError("the upgrade to \(path) was refused: \(status) \(reason)")
        }
    }

    /// A kept-alive HTTP connection. `eventStream` marks one whose responses are SSE streams.
    public func http(role: Role = .measured, eventStream: Bool = false) async throws -> HTTPConnection {
        let connection = try await target.connecting {
            try await HTTPConnection.connect(
                host: target.host, port: target.port, tls: clientTLS(for: role), tap: sink(for: role, eventStream: eventStream)
            )
        }
        closers.withLockedValue { $0.append { await connection.close() } }
        return connection
    }

    /// Closes every connection this meter opened and waits (up to `limit`) until each is closed,
    /// so that the closing bytes are counted too.
    public func closeAll(within limit: Duration = .seconds(2)) async {
        let closers = closers.withLockedValue { closers in defer { closers = [] }; return closers }
        await withTaskGroup(of: Void.self) { group in
            for close in closers { group.addTask { await close() } }
        }
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let open = counts.withLockedValue { $0.values.reduce(0) { $0 + $1.connections - $1.closed } }
            if open == 0 { return }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// A connection's TLS settings, its raw tap counting records for `role`; nil over plain TCP.
    private func clientTLS(for role: Role) -> ClientTLS? {
        guard let tls else { return nil }
        let layer = NIOLockedValueBox(TLSLayer())
        let counts = self.counts
        return ClientTLS(trust: tls) { event in
            // The plain tap counts the connection's close; this one only its records.
            guard case .bytes(let direction, let bytes) = event else { return }
            let tally = layer.withLockedValue { layer in
                let before = layer[direction]
                _ = layer.feed(direction, bytes)
                return TLSLayer.Tally(bytes: layer[direction].bytes - before.bytes, records: layer[direction].records - before.records)
            }
            counts.withLockedValue { counts in
                if direction == .up {
                    counts[role]!.tlsUp = (counts[role]!.tlsUp ?? .init()) + tally
                } else {
                    counts[role]!.tlsDown = (counts[role]!.tlsDown ?? .init()) + tally
                }
            }
        }
    }

    /// Each connection has its own dissector (and SSE parser): they read one byte stream each.
    private func sink(for role: Role, eventStream: Bool) -> TapSink {
        struct Reader {
            var dissector = WireDissector(inflaters: ZlibMessageInflater.maker)
            var sse = SSEParser()
        }
        counts.withLockedValue { $0[role]!.connections += 1 }
        let reader = NIOLockedValueBox(Reader())
        let counts = self.counts
        return { event in
            guard case .bytes(let direction, let bytes) = event else {
                counts.withLockedValue { $0[role]!.closed += 1 }
                return
            }
            reader.withLockedValue { reader in
                let events = reader.dissector.feed(direction, bytes)
                var sseFraming = 0
                for case .httpBody(.down, let body) in events where eventStream {
                    sseFraming += body.count - Self.dataBytes(in: reader.sse.feed(body))
                }
                counts.withLockedValue { counts in
                    for event in events {
                        counts[role]!.ledger.record(event)
                        if case .httpHead(.up, _) = event { counts[role]!.requests += 1 }
                        if case .frame(let direction, let frame, _) = event, frame.fin, let compression = frame.compression, let inflated = compression.inflated {
                            if direction == .up {
                                counts[role]!.compressedUp += compression.compressedBytes
                                counts[role]!.inflatedUp += inflated.count
                            } else {
                                counts[role]!.compressedDown += compression.compressedBytes
                                counts[role]!.inflatedDown += inflated.count
                            }
                        }
                    }
                    counts[role]!.sseFraming += sseFraming
                }
            }
        }
    }

    /// The bytes of the `data` values among `items`: what an event stream carries for the page.
    static func dataBytes(in items: [SSEParser.Item]) -> Int {
        items.reduce(0) { sum, item in
            guard case .line(_, _, .field(.data(let value))) = item else { return sum }
            return sum + value.utf8.count
        }
    }
}

/// Where the comparison runs: the in-process lab, or another wirelab (`--url`).
public struct ComparisonTarget: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Shown instead of the URL when set: a lab started for one comparison has a port of no
    /// interest (and one that changes each run).
    public var label: String?

    public init(host: String, port: Int, label: String? = nil) {
        self.host = host
        self.port = port
        self.label = label
    }

    /// `http://HOST:PORT`, `ws://HOST:PORT` or `HOST:PORT`; a path is not allowed (the scenarios
    /// know their paths).
    public init(url: String) throws(ComparisonError) {
        var rest = Substring(url)
        for scheme in ["http://", "ws://"] where rest.hasPrefix(scheme) { rest = rest.dropFirst(scheme.count) }
        if rest.hasPrefix("https://") || rest.hasPrefix("wss://") { throw ComparisonError("--url takes http:// or ws://; for TLS, --tls runs against a lab of its own, whose certificate it trusts") }
        if rest.contains("://") { throw ComparisonError("--url takes http://HOST:PORT (or ws://), not \(url)") }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/") else { throw ComparisonError("--url takes a server, not a path: http://HOST:PORT") }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]), (1...65535).contains(port) else {
            throw ComparisonError("--url must look like http://127.0.0.1:8000, not \(url)")
        }
        self.init(host: String(parts[0]), port: port)
    }

    public var description: String { label ?? "http://\(host):\(port)" }

    /// Runs `connect`, turning a failure to reach the server into one plain sentence.
    func connecting<T>(_ connect: () async throws -> T) async throws -> T {
        do {
            return try await connect()
        } catch let error as ComparisonError {
            throw error
        } catch {
            let text = "\(error)"
            let reason = text.contains("refused") ? "connection refused" : text.contains("timed out") || text.contains("Timeout") ? "no answer" : text
            throw ComparisonError("cannot reach \(self): \(reason)")
        }
    }

    /// Whether a TCP connection to the server can be made at all: checked once before a
    /// comparison, so that an unreachable server is one clear error, not a table of zeros.
    /// - Parameter tls: whom to trust, when the server speaks TLS.
    public func checkReachable(tls: ClientTLS.Trust? = nil) async throws {
        let connection = try await connecting {
            try await HTTPConnection.connect(host: host, port: port, tls: tls.map { ClientTLS(trust: $0) { _ in } }, tap: { _ in })
        }
        await connection.close(grace: .milliseconds(100))
    }
}

public struct ComparisonError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
