import Foundation
import NIOConcurrencyHelpers
import WireClient
import WireProtocol

/// What one transport's run measured.
public struct TransportResult: Sendable {
    public let transport: Transport
    /// The measured client's connections: what the table compares.
    public let measured: Meter.Counts
    /// The helpers' connections (the chat sender, the admin shipping orders, setup requests).
    public let helpers: Meter.Counts
    public let deliveries: Deliveries.Summary
    /// From the first event (or request) to the end of the run.
    public let elapsed: Duration
    /// Why the run stopped early, if it did: the numbers so far are still shown.
    public let failure: String?
}

/// A whole comparison: one scenario, every transport that fits, one after another.
public struct ComparisonReport: Sendable {
    public let scenario: Scenario
    public let options: ComparisonOptions
    public let target: ComparisonTarget
    public var results: [TransportResult]
    /// Ctrl-C stopped it: the results cover the transports that had finished (and the one cut off).
    public var interrupted = false
}

/// Runs a scenario over each of its transports against one server and measures each run from the
/// clients' taps.
public struct ComparisonRunner: Sendable {
    public let scenario: Scenario
    public let options: ComparisonOptions
    public let target: ComparisonTarget
    public let randomness: Randomness
    /// Told which transport is running and how long it has left, a few times a second.
    public let progress: @Sendable (String) -> Void
    /// With `options.tls`: whom the clients trust (the lab's own certificate); `target` is then
    /// the lab's TLS port.
    public let tls: ClientTLS.Trust?

    public init(
        scenario: Scenario, options: ComparisonOptions, target: ComparisonTarget, randomness: Randomness,
        tls: ClientTLS.Trust? = nil, progress: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.tls = tls
        self.scenario = scenario
        self.options = options
        self.target = target
        self.randomness = randomness
        self.progress = progress
    }

    public func run() async -> ComparisonReport {
        var report = ComparisonReport(scenario: scenario, options: options, target: target, results: [])
        let transports = scenario.transports
        for (index, transport) in transports.enumerated() {
            if Task.isCancelled {
                report.interrupted = true
                break
            }
            let label = "\(index + 1)/\(transports.count) \(transport.title)"
            let result = await run(transport, label: label)
            report.results.append(result)
            if Task.isCancelled { report.interrupted = true }
        }
        return report
    }

    private func run(_ transport: Transport, label: String) async -> TransportResult {
        let meter = Meter(target: target, randomness: randomness, deflate: options.deflate ? DeflateOffer() : nil, tls: options.tls ? tls ?? .verify(alsoTrusting: []) : nil)
        let deliveries = Deliveries()
        let started = ContinuousClock.now
        let planned = plannedLength
        let ticker = Task {
            while !Task.isCancelled {
                let elapsed = ContinuousClock.now - started
                if let planned {
                    let left = max(0, (planned - elapsed).milliseconds / 1000)
                    progress("compare \(scenario.rawValue) · \(label) · \(Int(left.rounded(.up))) s left")
                } else {
                    progress("compare \(scenario.rawValue) · \(label) · \(deliveries.receivedCount)/\(options.count(for: scenario)) done")
                }
                try await Task.sleep(for: .milliseconds(250))
            }
        }
        var failure: String?
        do {
            let run = ScenarioRun(meter: meter, deliveries: deliveries, options: options, transport: transport)
            try await run.perform(scenario)
        } catch is CancellationError {
            failure = "interrupted"
        } catch {
            failure = Task.isCancelled ? "interrupted" : "\(error)"
        }
        ticker.cancel()
        let elapsed = ContinuousClock.now - started
        await meter.closeAll()
        return TransportResult(
            transport: transport, measured: meter[.measured], helpers: meter[.helper], deliveries: deliveries.summary,
            elapsed: elapsed, failure: failure
        )
    }

    /// How long a run should take, where that is known in advance.
    private var plannedLength: Duration? {
        switch scenario {
        case .chat, .dashboard, .notifications: options.duration
        case .echo, .predict, .job: nil
        }
    }
}
