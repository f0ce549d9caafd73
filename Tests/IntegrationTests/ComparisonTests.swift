import Comparison
import Foundation
import LabServer
import Testing
import WireClient
import WireProtocol

@Suite("compare: measured numbers")
struct ComparisonTests {
    /// Short runs: the numbers, not the durations, are under test.
    static func quickOptions() -> ComparisonOptions {
        var options = ComparisonOptions()
        options.duration = .seconds(2)
        options.interval = .milliseconds(500)
        options.count = 3
        return options
    }

    @Test("every byte the comparison reports is a byte an independent proxy saw", arguments: [Scenario.chat, .echo, .notifications, .job])
    func bytesMatchAnIndependentProxy(scenario: Scenario) async throws {
        let (lab, labPort) = try await startLab()
        defer { Task { await lab.stop() } }
        let proxy = try ChildProcess(try Paths.python(), ["\(Paths.peers)/byte_counting_proxy.py", String(labPort)])
        #expect(await proxy.waitFor("listening "))
        let proxyPort = try #require(proxy.stdout.split(separator: "\n").first.flatMap { Int($0.dropFirst("listening ".count)) })

        let report = await ComparisonRunner(
            scenario: scenario, options: Self.quickOptions(), target: ComparisonTarget(host: "127.0.0.1", port: proxyPort),
            randomness: Randomness(.seeded(1))
        ).run()

        #expect(report.results.map(\.transport) == scenario.transports)
        for result in report.results {
            #expect(result.failure == nil, "\(result.transport.title): \(result.failure ?? "")")
            #expect(result.deliveries.delivered == result.deliveries.sent, "\(result.transport.title) lost messages")
            #expect(result.deliveries.sent == (scenario == .job ? 4 : 3))
        }
        let connections = report.results.reduce(0) { $0 + $1.measured.connections + $1.helpers.connections }
        let closed = try await Self.closedConnections(reportedBy: proxy, expecting: connections)

        #expect(closed.count == connections)
        let reportedUp = report.results.reduce(0) { $0 + $1.measured.ledger.up.total + $1.helpers.ledger.up.total }
        let reportedDown = report.results.reduce(0) { $0 + $1.measured.ledger.down.total + $1.helpers.ledger.down.total }
        #expect(closed.reduce(0) { $0 + $1.up } == reportedUp)
        #expect(closed.reduce(0) { $0 + $1.down } == reportedDown)
        // Nothing the dissector could not place: every byte is overhead or payload.
        for result in report.results {
            #expect(result.measured.ledger.up.other == 0 && result.measured.ledger.down.other == 0)
        }
    }

    /// The byte counts of each connection the proxy saw end (it reports one once both of its
    /// directions have ended), once `connections` have or 10 s have passed; the proxy is stopped.
    static func closedConnections(reportedBy proxy: ChildProcess, expecting connections: Int) async throws -> [(up: Int, down: Int)] {
        let deadline = ContinuousClock.now + .seconds(10)
        var closed: [(up: Int, down: Int)] = []
        repeat {
            closed = proxy.stdout.split(separator: "\n").compactMap { line -> (Int, Int)? in
                guard let match = line.wholeMatch(of: /closed up=(\d+) down=(\d+)/) else { return nil }
                return (Int(match.1)!, Int(match.2)!)
            }
            if closed.count >= connections { break }
            try await Task.sleep(for: .milliseconds(20))
        } while ContinuousClock.now < deadline
        proxy.signal(SIGKILL)
        _ = await proxy.waitForExit()
        return closed
    }

    @Test("over TLS, the wire's bytes are the bytes an independent proxy saw, and TLS adds to the decrypted ones", arguments: [Scenario.echo, .chat])
    func tlsBytesMatchAnIndependentProxy(scenario: Scenario) async throws {
        let (lab, _) = try await startLab { $0.tls = LabTLSConfiguration(port: 0) }
        defer { Task { await lab.stop() } }
        let tlsPort = try #require(lab.tlsPort)
        let proxy = try ChildProcess(try Paths.python(), ["\(Paths.peers)/byte_counting_proxy.py", String(tlsPort)])
        #expect(await proxy.waitFor("listening "))
        let proxyPort = try #require(proxy.stdout.split(separator: "\n").first.flatMap { Int($0.dropFirst("listening ".count)) })
        var options = Self.quickOptions()
        options.tls = true
        let report = await ComparisonRunner(
            scenario: scenario, options: options, target: ComparisonTarget(host: "localhost", port: proxyPort),
            randomness: Randomness(.seeded(1)), tls: .verify(alsoTrusting: lab.tlsIdentity?.certificateChain ?? [])
        ).run()

        for result in report.results {
            #expect(result.failure == nil, "\(result.transport.title): \(result.failure ?? "")")
            #expect(result.deliveries.delivered == result.deliveries.sent, "\(result.transport.title) lost messages")
            let up = try #require(result.measured.tlsUp)
            let down = try #require(result.measured.tlsDown)
            // At least a handshake (a ClientHello up; a ServerHello and the certificate down) per connection.
            #expect(up.records >= result.measured.connections && down.records >= 2 * result.measured.connections)
            let added = try #require(result.measured.tlsAdded)
            // Each connection's handshake carries the certificate (hundreds of bytes) at least.
            #expect(added > 300 * result.measured.connections, "\(result.transport.title): TLS added \(added) B")
        }
        let connections = report.results.reduce(0) { $0 + $1.measured.connections + $1.helpers.connections }
        let closed = try await Self.closedConnections(reportedBy: proxy, expecting: connections)
        #expect(closed.count == connections)
        let wireUp = report.results.reduce(0) { $0 + ($1.measured.tlsUp?.bytes ?? 0) + ($1.helpers.tlsUp?.bytes ?? 0) }
        let wireDown = report.results.reduce(0) { $0 + ($1.measured.tlsDown?.bytes ?? 0) + ($1.helpers.tlsDown?.bytes ?? 0) }
        #expect(closed.reduce(0) { $0 + $1.up } == wireUp)
        #expect(closed.reduce(0) { $0 + $1.down } == wireDown)
        // The table and the JSON show it.
        let table = report.table(width: 200)
        #expect(table.contains { $0.hasPrefix("TLS on the wire") })
        #expect(table.contains { $0.hasPrefix("  TLS overhead") })
        #expect(report.json.text.contains(#""wire_bytes_up""#))
    }

    @Test("short polling waits for the next poll; pushes do not")
    func shortPollingDelayFollowsTheInterval() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        var options = Self.quickOptions()
        // Polls a second apart, so that a push has half a second to beat a poll even when the
        // whole test suite shares this process's threads.
        options.duration = .seconds(4)
        options.interval = .seconds(1)
        options.count = 4
        options.randomArrivals = false
        let report = await ComparisonRunner(
            scenario: .chat, options: options, target: ComparisonTarget(host: "127.0.0.1", port: port), randomness: Randomness(.seeded(1))
        ).run()
        let byTransport = Dictionary(uniqueKeysWithValues: report.results.map { ($0.transport, $0) })
        // Messages at 0.5, 1.5, 2.5 and 3.5 s of a 4 s run, polls every second from 0: each
        // message waits half a second for the next poll, and the first poll finds nothing.
        let polled = try #require(byTransport[.shortPolling])
        #expect(polled.measured.requests == 5)  // at 0, 1, 2, 3 and 4 s
        #expect(polled.deliveries.emptyResponses == 1)
        #expect(polled.deliveries.delivered == 4)
        // Timing is the machine's: compare the transports with each other, not with a clock.
        let pollWait = try #require(polled.deliveries.delays.percentile(50))
        for transport in [Transport.webSocket, .eventStream, .longPolling] {
            let result = try #require(byTransport[transport])
            #expect(result.deliveries.delivered == 4)
            #expect(try #require(result.deliveries.delays.percentile(50)) < pollWait, "\(transport.title) should deliver sooner than a poll")
            #expect(result.deliveries.emptyResponses == 0)
        }
        #expect(try #require(byTransport[.webSocket]).measured.requests == 1)
        // --json carries the same numbers, for a program to read.
        let json = try JSON(parsing: report.json.text)
        guard case .array(let results)? = json["results"] else { Issue.record("no results in \(json.text)"); return }
        #expect(results.map { $0["transport"]?.stringValue } == ["websocket", "sse", "short_polling", "long_polling"])
        #expect(results[2]["http_requests"]?.numberValue == 5)
        #expect(results[2]["expected"]?["http_requests"]?.numberValue == 5)
        #expect(results[2]["bytes_up"]?["total"]?.numberValue == Double(polled.measured.ledger.up.total))
        #expect(results[2]["delivered"]?.numberValue == 4)
        #expect(try #require(byTransport[.longPolling]).measured.requests == 5)  // one per message, one held at the end
    }

    @Test("a switched-off endpoint is reported, not hidden")
    func aSwitchedOffEndpointIsReported() async throws {
        let (lab, port) = try await startLab(only: ["echo"])
        defer { Task { await lab.stop() } }
        let report = await ComparisonRunner(
            scenario: .chat, options: Self.quickOptions(), target: ComparisonTarget(host: "127.0.0.1", port: port), randomness: Randomness(.seeded(1))
        ).run()
        #expect(report.results.count == 4)
        for result in report.results {
            #expect(result.failure?.contains("503") == true, "\(result.transport.title): \(result.failure ?? "no failure")")
        }
        #expect(report.table().contains { $0.contains("stopped early") })
    }
}
