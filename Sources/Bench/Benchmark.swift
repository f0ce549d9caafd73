import Foundation
import NIOConcurrencyHelpers
import NIOCore
import WireClient
import WireProtocol

/// `wirelab bench`: loads a WebSocket server on loopback and reports what it measured.
///
/// Every figure is measured in this run: round trips and deliveries are counted, latencies come
/// from the monotonic clock around each one, and the server's CPU time and memory come from
/// `/proc/PID` of the server process (when its pid is known).
public struct Benchmark: Sendable {
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        public var port = 8000
        /// The server's process, for its CPU time and memory; nil leaves those rows out.
        public var serverPID: Int32?
        public var duration: Duration = .seconds(3)
        public var connectionCounts = [1, 64]
        public var receivers = 200
        public var fanOutMessages = 50
        /// Message sizes for the fan-out runs (bytes of JSON text): one row each, with the server's
        /// CPU time per delivery, so that a cost growing with size shows.
        public var fanOutSizes = [64, 8192]
        public var idleConnections = 2000
        public var payloadSize = 32
        /// Every client offers permessage-deflate (`--deflate`) and the run fails if the server
        /// declines: each figure is then with compression both ways (a zlib stream per direction
        /// per connection, kept between messages).
        public var deflate: DeflateOffer?
        public init() {}
    }

    public struct Row: Sendable {
        public let name: String
        public let figures: [(String, String)]
    }

    let options: Options
    let randomness = Randomness(.seeded(1))

    public init(options: Options) {
        self.options = options
    }

    /// Runs every measurement in turn; `report` gets each row as soon as it is measured.
    public func run(report: @Sendable (Row) -> Void) async throws {
        // Idle memory first, on a server that has served nothing yet: after the other runs, the
        // memory they freed is reused by the new connections and hides what each one costs.
        if options.serverPID != nil {
            report(try await idleMemory())
        }
        for count in options.connectionCounts {
            report(try await echo(connections: count))
        }
        for size in options.fanOutSizes {
            report(try await fanOut(size: size))
        }
    }

    /// This process, when it is only the load: its CPU time shows how much of the machine the
    /// clients took from the server they share it with.
    var loadPID: Int32? {
        let own = getpid()
        return options.serverPID == own ? nil : own
    }

    // MARK: Echo

    func echo(connections: Int) async throws -> Row {
        let clients = try await connect(connections, path: { _ in "/ws/echo" })
        let cpuBefore = ProcessStats(pid: options.serverPID)
        let loadBefore = ProcessStats(pid: loadPID)
        let started = ContinuousClock.now
        let deadline = started + options.duration
        let payload = Array(repeating: UInt8(ascii: "x"), count: options.payloadSize)
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for client in clients {
                group.addTask {
                    var measured: [Duration] = []
                    var answers = client.frames.makeAsyncIterator()
                    while ContinuousClock.now < deadline {
                        let sent = ContinuousClock.now
                        try await client.send(.text, payload: payload)
                        guard await answers.next() != nil else { break }
                        measured.append(ContinuousClock.now - sent)
                    }
                    return measured
                }
            }
            var all: [Duration] = []
            for try await measured in group { all += measured }
            return all
        }
        let elapsed = ContinuousClock.now - started
        let cpuAfter = ProcessStats(pid: options.serverPID)
        let loadAfter = ProcessStats(pid: loadPID)
        await closeAll(clients)
        let perSecond = Double(latencies.count) / elapsed.seconds
        var figures = [
            ("round trips/s", String(format: "%.0f", perSecond)),
            ("p50", Self.spoken(Self.percentile(latencies, 0.50))),
            ("p99", Self.spoken(Self.percentile(latencies, 0.99))),
        ]
        if let before = cpuBefore, let after = cpuAfter, !latencies.isEmpty {
            let perRoundTrip = (after.cpuSeconds - before.cpuSeconds) / Double(latencies.count)
            figures.append(("server CPU/round trip", String(format: "%.1f µs", perRoundTrip * 1e6)))
        }
        if let before = loadBefore, let after = loadAfter, !latencies.isEmpty {
            let perRoundTrip = (after.cpuSeconds - before.cpuSeconds) / Double(latencies.count)
            figures.append(("load CPU/round trip", String(format: "%.1f µs", perRoundTrip * 1e6)))
        }
        return Row(name: "echo, \(connections) connection\(connections == 1 ? "" : "s")" + deflated, figures: figures)
    }

    // MARK: Fan-out

    /// One sender in the chat, `receivers` listeners, messages of about `size` bytes: the delay
    /// from the send to each delivery, and the server's CPU time per delivery.
    func fanOut(size: Int) async throws -> Row {
        // Ids of this round's own: the last round's, closed by the client, may still be held for
        // a moment until the server has seen the close (409 otherwise).
        let receivers = try await connect(options.receivers, path: { "/ws/chat/bench\(size)-r\($0)" })
        let sender = try await connect(1, path: { _ in "/ws/chat/bench\(size)-sender" })[0]
        let sendTimes = NIOLockedValueBox<[Int: ContinuousClock.Instant]>([:])
        let expected = options.fanOutMessages
        let padding = String(repeating: "x", count: max(0, size - #"{"text":"bench 00 "}"#.utf8.count))
        let cpuBefore = NIOLockedValueBox<ProcessStats?>(nil)
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for receiver in receivers {
                group.addTask {
                    var measured: [Duration] = []
                    for await frame in receiver.frames {
                        let arrived = ContinuousClock.now
                        guard let number = Self.benchNumber(in: frame.unmaskedData.readableBytesView) else { continue }
                        if let sent = sendTimes.withLockedValue({ $0[number] }) { measured.append(arrived - sent) }
                        if number == expected { break }
                    }
                    return measured
                }
            }
            group.addTask {
                // Joins are broadcast too; let them settle before timing anything.
                try await Task.sleep(for: .milliseconds(500))
                cpuBefore.withLockedValue { $0 = ProcessStats(pid: options.serverPID) }
                for number in 1...expected {
                    sendTimes.withLockedValue { $0[number] = ContinuousClock.now }
                    try await sender.send(.text, payload: Array(#"{"text":"bench \#(number) \#(padding)"}"#.utf8))
                    try await Task.sleep(for: .milliseconds(20))
                }
                return []
            }
            var all: [Duration] = []
            for try await measured in group { all += measured }
            return all
        }
        let cpuAfter = ProcessStats(pid: options.serverPID)
        await closeAll(receivers + [sender])
        var figures = [
            ("deliveries", "\(latencies.count) of \(expected * options.receivers)"),
            ("p50", Self.spoken(Self.percentile(latencies, 0.50))),
            ("p99", Self.spoken(Self.percentile(latencies, 0.99))),
        ]
        if let before = cpuBefore.withLockedValue({ $0 }), let after = cpuAfter, !latencies.isEmpty {
            let perDelivery = (after.cpuSeconds - before.cpuSeconds) / Double(latencies.count)
            figures.append(("server CPU/delivery", String(format: "%.1f µs", perDelivery * 1e6)))
        }
        return Row(name: "fan-out to \(options.receivers), \(ByteSize(size))" + deflated, figures: figures)
    }

    /// `"text":"bench 12"` in a chat message: 12.
    static func benchNumber(in bytes: some Collection<UInt8>) -> Int? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let range = text.range(of: "\"bench ") else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }

    // MARK: Idle memory

    /// Memory of idle connections: just opened, then again after one echo on each (a server
    /// may set up per-connection state, such as zlib's streams, only when the first message comes).
    func idleMemory() async throws -> Row {
        let before = ProcessStats(pid: options.serverPID)
        let clients = try await connect(options.idleConnections, path: { _ in "/ws/echo" })
        try await Task.sleep(for: .seconds(1))
        let opened = ProcessStats(pid: options.serverPID)
        let payload = Array(repeating: UInt8(ascii: "x"), count: options.payloadSize)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients {
                group.addTask {
                    var answers = client.frames.makeAsyncIterator()
                    try await client.send(.text, payload: payload)
                    _ = await answers.next()
                }
            }
            try await group.waitForAll()
        }
        try await Task.sleep(for: .seconds(1))
        let echoed = ProcessStats(pid: options.serverPID)
        await closeAll(clients)
        var figures = [("connections", "\(clients.count)")]
        if let before, let opened, let echoed {
            func perConnection(_ stats: ProcessStats) -> String {
                String(format: "%.1f KiB", Double(stats.residentBytes - before.residentBytes) / Double(clients.count) / 1024)
            }
            figures.append(("server memory", String(format: "+%.1f MiB", Double(opened.residentBytes - before.residentBytes) / 1_048_576)))
            figures.append(("per connection", perConnection(opened)))
            figures.append(("after one echo each", perConnection(echoed)))
        }
        return Row(name: "idle connections" + deflated, figures: figures)
    }

    /// Said in every row's name when permessage-deflate is on.
    var deflated: String { options.deflate == nil ? "" : ", deflate" }

    // MARK: Helpers

    func connect(_ count: Int, path: @escaping @Sendable (Int) -> String) async throws -> [WebSocketClient] {
        var clients: [WebSocketClient] = []
        // In batches, so that a listen backlog of 256 is never the limit being measured.
        for batchStart in stride(from: 0, to: count, by: 100) {
            try await withThrowingTaskGroup(of: WebSocketClient.self) { group in
                for index in batchStart..<min(count, batchStart + 100) {
                    group.addTask {
                        let target = WebSocketTarget(host: options.host, port: options.port, path: path(index))
                        switch try await WebSocketClient.connect(
                            to: target, requestKey: randomness.requestKey(), randomness: randomness, deflate: options.deflate, tap: { _ in }
                        ) {
                        case .open(let client):
                            if options.deflate != nil, client.deflate == nil {
                                await client.drop()
                                throw BenchError("\(target) declined permessage-deflate (--deflate measures it negotiated)")
                            }
                            return client
                        case .refused(let status, let reason): throw BenchError("\(target) refused the upgrade: \(status) \(reason)")
                        }
                    }
                }
                for try await client in group { clients.append(client) }
            }
        }
        return clients
    }

    func closeAll(_ clients: [WebSocketClient]) async {
        await withTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { await client.drop() } }
        }
    }

    static func percentile(_ values: [Duration], _ fraction: Double) -> Duration? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
    }

    static func spoken(_ value: Duration?) -> String {
        guard let value else { return "–" }
        let milliseconds = value.seconds * 1000
        return milliseconds < 1 ? String(format: "%.0f µs", milliseconds * 1000) : String(format: "%.2f ms", milliseconds)
    }
}

public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// CPU time and memory of a process, from `/proc/PID/stat` and `/proc/PID/status`.
public struct ProcessStats: Sendable {
    public let cpuSeconds: Double
    public let residentBytes: Int
    public let peakResidentBytes: Int

    public init?(pid: Int32?) {
        guard let pid,
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        else { return nil }
        // Fields after the command name (which may hold spaces, inside parentheses).
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after ") state".
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        cpuSeconds = (user + system) / ticks
        func kilobytes(_ name: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") } ?? ""
            return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }
        residentBytes = kilobytes("VmRSS")
        peakResidentBytes = kilobytes("VmHWM")
    }
}
