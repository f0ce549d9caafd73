import ArgumentParser
import Bench
import Foundation
import WireClient
import WireProtocol

/// `wirelab bench`: load on loopback, measured; see BENCHMARKS.md.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure a WebSocket server on loopback: echo round trips, broadcast fan-out, idle memory, REPL start-up.",
        discussion: """
            Without --url, starts `wirelab serve` as a separate process on a free port, so that its CPU time \
            and memory are its own. With --url, loads that server instead (the guide's paths: /ws/echo and \
            /ws/chat/{id}); give --pid to measure its CPU time and memory too.
            """
    )

    @Option(help: ArgumentHelp("Another server to load, as ws://HOST:PORT.", valueName: "url"))
    var url: String?

    @Option(help: ArgumentHelp("That server's process id, for CPU time and memory.", valueName: "pid"))
    var pid: Int32?

    @Option(help: ArgumentHelp("Seconds per echo run.", valueName: "seconds"))
    var duration: Double = 3

    @Option(help: ArgumentHelp("Echo runs, as connection counts (comma separated).", valueName: "counts"))
    var connections = "1,64"

    @Option(help: "Receivers in the fan-out runs.")
    var receivers = 200

    @Option(help: ArgumentHelp("Message sizes of the fan-out runs, one run each (bytes, comma separated).", valueName: "sizes"))
    var fanOutSizes = "64,8192"

    @Option(help: "Idle connections for the memory run.")
    var idle = 2000

    @Flag(help: "Skip timing the REPL's start-up.")
    var skipRepl = false

    @Flag(help: "Every client offers permessage-deflate, as browsers do (the run fails if the server declines): CPU per round trip and delivery, and memory per connection, with compression.")
    var deflate = false

    func run() async throws {
        raiseFileLimit()
        var options = Benchmark.Options()
        options.duration = .milliseconds(Int64(duration * 1000))
        options.connectionCounts = connections.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        options.receivers = receivers
        options.fanOutSizes = fanOutSizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        options.idleConnections = idle
        if deflate { options.deflate = DeflateOffer() }
        var server: Process?
        if let url {
            guard let target = try? WebSocketAddress(url) else { throw ValidationError("--url takes ws://HOST:PORT, not \(url)") }
            options.host = target.host
            options.port = target.port
            options.serverPID = pid
        } else {
            let port = try freePort()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            // No message rate: the fan-out's sender is the load, not a client to hold back.
            process.arguments = ["serve", "--port", "\(port)", "--ping-interval", "0", "--message-rate", "0"]
            process.standardError = FileHandle.nullDevice
            try process.run()
            server = process
            options.port = port
            options.serverPID = process.processIdentifier
            try await waitUntilListening(port: port)
        }
        defer { server?.terminate() }
        let described = server.map { "wirelab serve (pid \($0.processIdentifier))" } ?? (pid.map { "pid \($0)" } ?? "pid unknown")
        print("wirelab bench · \(described) on \(options.host):\(options.port) · \(ProcessInfo.processInfo.activeProcessorCount) CPUs · loopback")
        try await Benchmark(options: options).run { row in
            print(row.name.padding(deflate ? 31 : 22) + row.figures.map { "\($0.0) \($0.1)" }.joined(separator: " · "))
        }
        if !skipRepl {
            print("REPL start-up".padding(deflate ? 31 : 22) + "to its banner: " + (try await replStartup()))
        }
        if let server {
            server.terminate()
            server.waitUntilExit()
        }
    }

    /// The median of five starts, from spawning `wirelab repl` to its banner on stdout.
    func replStartup() async throws -> String {
        var times: [Duration] = []
        for _ in 0..<5 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            process.arguments = ["repl", "--port", "0", "--no-color"]
            let input = Pipe()
            let output = Pipe()
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            let started = ContinuousClock.now
            try process.run()
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("type help") {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen += chunk
            }
            times.append(ContinuousClock.now - started)
            input.fileHandleForWriting.write(Data("quit\n".utf8))
            process.waitUntilExit()
        }
        let median = times.sorted()[times.count / 2]
        return String(format: "%.3f s (median of %d)", median.seconds, times.count)
    }

    func raiseFileLimit() {
        var limit = rlimit()
        if getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(RLIMIT_NOFILE_VALUE, &limit)
        }
    }

    func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw ValidationError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    func waitUntilListening(port: Int) async throws {
        for _ in 0..<200 {
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
            close(socket)
            if connected { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ValidationError("the server did not start listening on port \(port)")
    }
}

/// ws://HOST:PORT, for --url.
struct WebSocketAddress {
    let host: String
    let port: Int
    init(_ text: String) throws {
        guard text.hasPrefix("ws://") else { throw ValidationError("not ws://") }
        let authority = text.dropFirst(5).prefix { $0 != "/" }
        let parts = authority.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("no port") }
        host = String(parts[0])
        self.port = port
    }
}

private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
