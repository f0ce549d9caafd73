import ArgumentParser
import Foundation
import LabServer
import Logging
import NIOCore
import NIOPosix
import WireProtocol
import WirelabREPL

@main
struct Wirelab: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wirelab",
        abstract: "See HTTP polling, SSE and WebSocket on the wire.",
        subcommands: [Repl.self, Serve.self, Compare.self, BenchCommand.self, LessonsCommand.self, Replay.self],
        defaultSubcommand: Repl.self
    )
}

/// Options shared by everything that runs a lab server.
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one.")
    var port = 8000

    @Option(help: ArgumentHelp("Switch on only these endpoints (comma separated).", valueName: "names"))
    var only: String?

    @Option(help: ArgumentHelp("Seconds between the server's pings on idle WebSockets; 0 turns them off.", valueName: "seconds"))
    var pingInterval: Double = 30

    @Option(help: ArgumentHelp("Seconds between `: heartbeat` comments on idle SSE streams.", valueName: "seconds"))
    var sseHeartbeat: Double = 15

    @Option(help: ArgumentHelp("Seconds between the dashboard's pushes.", valueName: "seconds"))
    var dashboardInterval: Double = 1

    @Flag(help: "Broadcast as the guide does: await each receiver in turn, so one slow receiver stalls all.")
    var naiveBroadcast = false

    @Flag(help: "Decline permessage-deflate (RFC 7692) offers; by default the lab accepts them, as uvicorn does.")
    var noDeflate = false

    @Option(help: ArgumentHelp("Seconds a receiver's socket may take no bytes before the lab cuts it off (queued broadcast).", valueName: "seconds"))
    var stallLimit: Double = 10

    @Option(help: ArgumentHelp("Bytes one receiver may have waiting, with its socket full, before it is cut off (e.g. 16MiB).", valueName: "size"))
    var queueCap = "16MiB"

    @Option(help: ArgumentHelp("Bytes all receivers' queues may hold together; past it, senders wait (e.g. 256MiB).", valueName: "size"))
    var outboundBudget = "256MiB"

    @Option(
        name: .customLong("allowed-origin"),
        help: ArgumentHelp(
            "A web origin (scheme://host[:port]) allowed to open WebSockets, besides pages on localhost; repeatable; * allows all. Others get 403.",
            valueName: "origin"
        )
    )
    var allowedOrigins: [String] = []

    @Option(help: ArgumentHelp("The largest WebSocket message the lab takes (bytes, or with KiB or MiB); a larger one is refused with close 1009.", valueName: "size"))
    var maxMessageSize = "1MiB"

    @Option(help: ArgumentHelp("TCP connections the lab holds at once, HTTP and WebSocket alike; one more is answered 503.", valueName: "count"))
    var maxConnections = LabLimits().maxConnections

    @Option(
        help: ArgumentHelp(
            "Messages a second one connection may send to chat, room and live chat (twice as many back to back); faster ones get an error reply, then close 1008. 0 turns the limit off.",
            valueName: "count"
        )
    )
    var messageRate: Double = MessageRate().perSecond

    @Option(help: ArgumentHelp("Also listen with TLS (wss://, https://) on this port; 0 picks a free one. The REPL does by default, on a free port.", valueName: "port"))
    var tlsPort: Int?

    @Flag(name: .customLong("no-tls"), help: "No TLS listener (the REPL has one by default).")
    var noTLS = false

    @Option(help: ArgumentHelp("A PEM certificate chain (leaf first) for the TLS port, instead of a self-signed one made at start; needs --key.", valueName: "file"))
    var cert: String?

    @Option(help: ArgumentHelp("The PEM private key of --cert.", valueName: "file"))
    var key: String?

    func validate() throws {
        if let tlsPort, !(0...65535).contains(tlsPort) { throw ValidationError("--tls-port must be from 0 to 65535") }
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together: the certificate and its private key") }
        if noTLS, tlsPort != nil || cert != nil { throw ValidationError("--no-tls turns TLS off; leave out --tls-port, --cert and --key") }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
        guard messageRate >= 0 else { throw ValidationError("--message-rate cannot be negative (0 turns the limit off)") }
        guard pingInterval >= 0 else { throw ValidationError("--ping-interval cannot be negative") }
        guard sseHeartbeat >= 0.1 else { throw ValidationError("--sse-heartbeat must be at least 0.1 s") }
        guard dashboardInterval >= 0.05 else { throw ValidationError("--dashboard-interval must be at least 0.05 s") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
        for origin in allowedOrigins where origin != "*" && !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) {
            throw ValidationError("--allowed-origin takes an origin such as https://app.example.com (or *), not \(origin)")
        }
        guard let size = LabLimits.parseByteCount(maxMessageSize) else {
            throw ValidationError("--max-message-size takes a number of bytes, or one with KiB or MiB (e.g. 65536, 64KiB, 16MiB), not '\(maxMessageSize)'")
        }
        guard LabLimits.messageSizeRange.contains(size) else { throw ValidationError("--max-message-size must be from 1 byte to 1 GiB") }
        guard (0.1...600).contains(stallLimit) else { throw ValidationError("--stall-limit must be from 0.1 to 600 seconds") }
        for (name, value) in [("--queue-cap", queueCap), ("--outbound-budget", outboundBudget)] {
            guard let size = LabLimits.parseByteCount(value), size >= 1024 else {
                throw ValidationError("\(name) takes a size of at least 1KiB, such as 16MiB, not '\(value)'")
            }
        }
        if let names = onlyNames {
            let known = Endpoint.names
            for name in names where !known.contains(name) {
                throw ValidationError("no endpoint named '\(name)'; the endpoints are: \(known.joined(separator: ", "))")
            }
        }
    }

    var onlyNames: [String]? {
        only.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    /// The TLS listener asked for: `--tls-port` or `--cert` (8443 by default then), or, when
    /// `byDefault` (the REPL), one on a free port unless `--no-tls`.
    func tlsConfiguration(byDefault: Bool) -> LabTLSConfiguration? {
        guard !noTLS, byDefault || tlsPort != nil || cert != nil else { return nil }
        let source: LabTLSConfiguration.Source = if let cert, let key { .files(certificate: cert, key: key) } else { .generated() }
        return LabTLSConfiguration(port: tlsPort ?? (byDefault ? 0 : 8443), source: source)
    }

    func labConfiguration(logLevel: Logger.Level, tlsByDefault: Bool = false) -> LabConfiguration {
        var configuration = LabConfiguration()
        configuration.tls = tlsConfiguration(byDefault: tlsByDefault)
        configuration.host = host
        configuration.port = port
        configuration.only = onlyNames
        configuration.allowedOrigins = allowedOrigins
        configuration.logger.logLevel = logLevel
        configuration.broadcastMode = naiveBroadcast ? .naive : .queued
        configuration.acceptsDeflate = !noDeflate
        configuration.limits.heartbeatInterval = .milliseconds(Int64(sseHeartbeat * 1000))
        configuration.limits.dashboardInterval = .milliseconds(Int64(dashboardInterval * 1000))
        configuration.limits.pingInterval = pingInterval > 0 ? .milliseconds(Int64(pingInterval * 1000)) : nil
        if let size = LabLimits.parseByteCount(maxMessageSize) { configuration.limits.maxMessageSize = size }  // checked in validate()
        configuration.limits.maxConnections = maxConnections
        configuration.limits.slowReaders = SlowReaderPolicy(
            stallLimit: .milliseconds(Int64(stallLimit * 1000)), queueByteCap: LabLimits.parseByteCount(queueCap) ?? configuration.limits.slowReaders.queueByteCap
        )
        configuration.limits.outboundBudget = LabLimits.parseByteCount(outboundBudget) ?? configuration.limits.outboundBudget
        configuration.limits.messageRate = messageRate > 0 ? MessageRate(perSecond: messageRate, burst: Int((messageRate * 2).rounded(.up))) : nil
        return configuration
    }
}

struct Repl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start the REPL with the lab server inside (the default).")

    @OptionGroup var server: ServerOptions

    @Option(help: "Seed for Sec-WebSocket-Keys and masking keys, so runs repeat byte for byte.")
    var seed: UInt64?

    @Flag(help: "No colours (NO_COLOR=1 does the same).")
    var noColor = false

    @Flag(help: "Run no lab server; clients then need full ws:// URLs.")
    var noLab = false

    @Flag(help: "Show tokens' signatures and passwords as they are (by default they are masked on screen).")
    var showSecrets = false

    func run() async throws {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var options = REPLOptions()
        options.lab = noLab ? nil : server.labConfiguration(logLevel: .warning, tlsByDefault: true)
        options.entropy = seed.map { .seeded($0) } ?? .system
        if noColor { options.color = false }
        options.showSecrets = showSecrets
        do {
            try await REPL.run(options)
        } catch let error as LabError {
            throw failure(error.description)
        } catch let error as LabTLSIdentity.LoadFailed {
            throw failure(error.description)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the lab server alone, for any client (browser, wscat, Python).")

    @OptionGroup var server: ServerOptions

    @Flag(help: "Log every request (debug level).")
    var verbose = false

    @Flag(help: "Print every connection's bytes to standard output, taken apart as the REPL shows them (its `tap all`).")
    var tap = false

    @Flag(help: "No colours in the --tap output (NO_COLOR=1 does the same).")
    var noColor = false

    @Option(help: ArgumentHelp("Write the TLS port's certificate (PEM) here, for curl --cacert or Python's ssl.", valueName: "file"))
    var saveCert: String?

    func run() async throws {
        // Swift concurrency's jobs run on NIO's event loops instead of a pool of their own, so a
        // message's task and its socket share a thread: no hand-over between threads per message
        // (BENCHMARKS.md, "Where the time goes"). Only here: the REPL keeps the default pool, as
        // its tests and transcripts do; `bench` keeps it so that its clients' tasks do not queue
        // behind socket events, which showed as a few-millisecond p99 that was the load's, not
        // the server's.
        // One event loop per core this process may use (`taskset -c 1` leaves one), not per core
        // of the machine; before anything touches NIO's singletons.
        if let usable = usableCoreCount(), usable < System.coreCount { NIOSingletons.groupLoopCountSuggestion = usable }
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let lab: Lab
        do {
            lab = try Lab(configuration: server.labConfiguration(logLevel: verbose ? .debug : .info))
        } catch let error as LabTLSIdentity.LoadFailed {
            throw failure(error.description)
        }
        if let saveCert {
            guard let identity = lab.tlsIdentity else { throw failure("--save-cert needs a TLS port (--tls-port)") }
            do {
                try identity.certificatePEM.write(toFile: saveCert, atomically: true, encoding: .utf8)
            } catch {
                throw failure("cannot write the certificate to \(saveCert): \(error.localizedDescription)")
            }
        }
        let colour = !noColor && ProcessInfo.processInfo.environment["NO_COLOR"] == nil && isatty(STDOUT_FILENO) == 1
        let printer = tap ? ServerTap.printingEverything(of: lab, style: Styler(enabled: colour), print: Self.printLine) : nil
        defer { _ = printer?.stop() }
        do {
            try await lab.runUntilSignalled { port in
                let names = lab.registry.enabledEndpoints.map(\.name).joined(separator: ", ")
                lab.configuration.logger.info("wirelab lab server listening on \(server.host):\(port) · endpoints on: \(names)")
                lab.configuration.logger.info("playground for your browser: \(Playground.url(host: server.host, port: port))")
                if let tlsPort = lab.tlsPort, let identity = lab.tlsIdentity {
                    lab.configuration.logger.info("TLS (wss://, https://) on \(server.host):\(tlsPort) · \(identity.summary)")
                    lab.configuration.logger.info("certificate SHA-256 \(identity.fingerprintText)")
                    if let saveCert { lab.configuration.logger.info("certificate saved to \(saveCert) (curl --cacert \(saveCert) https://localhost:\(tlsPort)/events)") }
                }
            }
        } catch let error as LabError {
            throw failure(error.description)
        }
    }
}

extension Serve {
    /// One line to standard output, flushed at once: `--tap` output is read live by people and scripts.
    @Sendable static func printLine(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

/// Prints a one-line error (no stack trace) and gives the exit status to throw.
func failure(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("wirelab: \(message)\n".utf8))
    return ExitCode.failure
}
