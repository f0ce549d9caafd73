import Foundation
import Synchronization
import LabServer
import Testing
import WireClient
@testable import Bench

/// The benchmark's bookkeeping, on a small run against an in-process lab. Counts are asserted,
/// never speeds: CI machines are noisy, and `make bench` is where the figures are read.
@Suite struct BenchTests {
    @Test func percentilesAndTheMessageNumber() {
        let values: [Duration] = (1...100).map { .milliseconds($0) }
        #expect(Benchmark.percentile(values, 0.5) == .milliseconds(51))
        #expect(Benchmark.percentile(values, 0.99) == .milliseconds(99))
        #expect(Benchmark.percentile([], 0.5) == nil)
        #expect(Benchmark.benchNumber(in: Array(#"{"type":"message","from":"s","text":"bench 12","timestamp":"…"}"#.utf8)) == 12)
        #expect(Benchmark.benchNumber(in: Array(#"{"type":"user_joined"}"#.utf8)) == nil)
        #expect(Benchmark.spoken(.microseconds(250)) == "250 µs")
        #expect(Benchmark.spoken(.milliseconds(3)) == "3.00 ms")
    }

    @Test func theOwnProcessHasCPUTimeAndMemory() throws {
        let stats = try #require(ProcessStats(pid: getpid()))
        #expect(stats.cpuSeconds > 0)
        #expect(stats.residentBytes > 1 << 20)
        #expect(stats.peakResidentBytes >= stats.residentBytes)
        #expect(ProcessStats(pid: nil) == nil)
    }

    /// A lab in this process: its CPU time and memory are this process's.
    static func startLab(deflate: Bool = true) async throws -> (Lab, Int) {
        var configuration = LabConfiguration()
        configuration.port = 0
        configuration.logger.logLevel = .warning
        configuration.limits.pingInterval = nil
        configuration.acceptsDeflate = deflate
        let lab = try Lab(configuration: configuration)
        return (lab, try await lab.start())
    }

    /// A run small enough for a test, against a lab in this process.
    static func smallRun(port: Int) -> Benchmark.Options {
        var options = Benchmark.Options()
        options.port = port
        options.serverPID = getpid()
        options.duration = .milliseconds(300)
        options.connectionCounts = [3]
        options.receivers = 5
        options.fanOutMessages = 4
        options.idleConnections = 20
        return options
    }

    @Test func withDeflateEveryRowSaysSoAndCountsTheSame() async throws {
        let (lab, port) = try await Self.startLab()
        var options = Self.smallRun(port: port)
        options.connectionCounts = [2]
        options.receivers = 3
        options.fanOutMessages = 3
        options.fanOutSizes = [8192]
        options.idleConnections = 10
        options.deflate = DeflateOffer()
        let rows = NIOLockedRows()
        try await Benchmark(options: options).run { rows.append($0) }
        #expect(rows.all.map(\.name) == ["idle connections, deflate", "echo, 2 connections, deflate", "fan-out to 3, 8 KiB, deflate"])
        #expect(Dictionary(uniqueKeysWithValues: rows.all[2].figures)["deliveries"] == "9 of 9", "compressed broadcasts are read and counted")
        let idle = Dictionary(uniqueKeysWithValues: rows.all[0].figures)
        #expect(idle["connections"] == "10")
        #expect(idle["per connection"] != nil && idle["after one echo each"] != nil)
        await lab.stop()
    }

    @Test func withDeflateARefusingServerIsAnError() async throws {
        let (lab, port) = try await Self.startLab(deflate: false)
        var options = Benchmark.Options()
        options.port = port
        options.connectionCounts = [1]
        options.deflate = DeflateOffer()
        await #expect {
            try await Benchmark(options: options).run { _ in }
        } throws: { error in
            "\(error)".contains("declined permessage-deflate")
        }
        await lab.stop()
    }

    @Test func aSmallRunCountsEveryRoundTripAndDelivery() async throws {
        let (lab, port) = try await Self.startLab()
        let options = Self.smallRun(port: port)
        let rows = NIOLockedRows()
        try await Benchmark(options: options).run { rows.append($0) }
        let names = rows.all.map(\.name)
        #expect(names == ["idle connections", "echo, 3 connections", "fan-out to 5, 64 B", "fan-out to 5, 8 KiB"])
        let echo = Dictionary(uniqueKeysWithValues: rows.all[1].figures)
        #expect(Double(echo["round trips/s"] ?? "") ?? 0 > 0)
        #expect(echo["server CPU/round trip"] != nil)
        #expect(echo["load CPU/round trip"] == nil, "the server runs in this process: its CPU time is not the load's alone")
        for fanOut in rows.all[2...3] {
            let figures = Dictionary(uniqueKeysWithValues: fanOut.figures)
            #expect(figures["deliveries"] == "20 of 20")
            #expect(figures["server CPU/delivery"] != nil)
        }
        #expect(Dictionary(uniqueKeysWithValues: rows.all[0].figures)["connections"] == "20")
        // Every client was closed again: the lab has no live connections left.
        #expect(await eventually { lab.registry.connections.count(endpoint: "echo") == 0 && lab.registry.connections.count(endpoint: "chat") == 0 })
        await lab.stop()
    }
}

final class NIOLockedRows: Sendable {
    private let rows = Mutex<[Benchmark.Row]>([])
    func append(_ row: Benchmark.Row) { rows.withLock { $0.append(row) } }
    var all: [Benchmark.Row] { rows.withLock { $0 } }
}

func eventually(_ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(5)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return false
}
