import ArgumentParser
import Comparison
import Foundation
import LabServer
import Logging
import WireClient
import WireProtocol

/// `wirelab compare SCENARIO …`: the REPL's `compare`, printed once, then exit.
struct Compare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one scenario over every transport that fits and print the measured table.",
        usage: "wirelab compare " + ComparisonRequest.usage.dropFirst("compare ".count),
        discussion: """
            Scenarios: \(Scenario.allCases.map { "\($0.rawValue) (\($0.summary))" }.joined(separator: "; ")).
            Without --url, a lab server is started in this process on a free port. Every byte count comes \
            from the clients' taps and every delay from the clock; (≈ …) is what a simple model predicts.
            """
    )

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The scenario and its options, as in the REPL.", valueName: "scenario-and-options"))
    var words: [String] = []

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        if words.isEmpty || words.contains("--help") || words.contains("-h") {
            print(Compare.helpMessage())
            return
        }
        let request: ComparisonRequest
        do {
            request = try ComparisonRequest(parsing: words)
        } catch {
            throw failure("\(error)\nusage: wirelab \(ComparisonRequest.usage)")
        }
        var lab: Lab?
        let target: ComparisonTarget
        var trust: ClientTLS.Trust?
        if let given = request.target {
            target = given
        } else {
            var configuration = LabConfiguration()
            configuration.port = 0
            configuration.logger.logLevel = .warning
            // --tls: a certificate made now, trusted by this process's clients only.
            configuration.tls = request.options.tls ? LabTLSConfiguration(port: 0) : nil
            let started = try Lab(configuration: configuration)
            let port = try await started.start()
            if request.options.tls, let tlsPort = started.tlsPort, let identity = started.tlsIdentity {
                target = ComparisonTarget(host: "localhost", port: tlsPort, label: "https://localhost:\(tlsPort)")
                trust = .verify(alsoTrusting: identity.certificateChain)
            } else {
                target = ComparisonTarget(host: configuration.host, port: port)
            }
            lab = started
        }
        let showsProgress = isatty(STDERR_FILENO) == 1
        let runner = ComparisonRunner(
            scenario: request.scenario, options: request.options, target: target,
            randomness: Randomness(.seeded(request.options.seed)), tls: trust,
            progress: { line in
                if showsProgress { FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8)) }
            }
        )
        do {
            try await target.checkReachable(tls: trust)
        } catch {
            await lab?.stop()
            throw failure("\(error)")
        }
        let report = await runner.run()
        if showsProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        print(request.json ? report.json.text : report.table().joined(separator: "\n"))
        await lab?.stop()
        if report.results.contains(where: { $0.failure != nil }) { throw ExitCode.failure }
    }
}
