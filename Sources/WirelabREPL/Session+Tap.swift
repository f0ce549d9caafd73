import Foundation
import LabServer
import WireProtocol

/// `tap` and `untap`: the lab's side of connections, whoever opened them (see ``ServerTap``).
extension Session {
    func tap(_ words: [String]) throws {
        let usage = CommandHelp.named("tap")!.usage
        guard let lab else { throw UsageError("tap shows the in-process lab's connections; this session has none (started with --no-lab?)") }
        guard let first = words.first else { return listTapped(lab.context.taps) }
        let selection: ServerTap.Selection
        switch first {
        case "all" where words.count == 1: selection = .all
        case "--endpoint" where words.count == 2:
            let name = words[1]
            guard lab.registry.endpoint(named: name) != nil || name == "playground" else {
                throw UsageError("no endpoint named '\(name)'; the endpoints are: \(lab.registry.endpoints.map(\.name).joined(separator: ", "))", usage: usage)
            }
            selection = .endpoint(name)
        default:
            guard words.count == 1, let id = Int(first.hasPrefix("tap") ? String(first.dropFirst(3)) : first) else {
                throw UsageError("tap takes a connection id (see tap), all, or --endpoint NAME", usage: usage)
            }
            guard lab.context.taps.summary(id) != nil else {
                throw UsageError("no open connection \(id); tap lists those open now (tap all also follows those to come)")
            }
            selection = .connection(id)
        }
        let tap = serverTap ?? ServerTap(taps: lab.context.taps, style: style, settings: settings) { [weak self] name in
            guard let self else { return { _ in } }
            return self.emitter(for: name)
        }
        serverTap = tap
        let open = tap.follow(selection)
        switch selection {
        case .connection: break
        case .all, .endpoint:
            console.line("tapping \(selection): \(open) open now" + (open == 0 ? "" : ", shown from their start") + ", and those to come · untap to stop")
        }
    }

    func untap() {
        guard let tap = serverTap, !tap.selections.isEmpty else {
            console.line("nothing is tapped")
            return
        }
        let stopped = tap.stop()
        console.line("untapped " + stopped.map(\.description).joined(separator: ", "))
    }

    private func listTapped(_ taps: ConnectionTaps) {
        let live = taps.live
        guard !live.isEmpty else {
            console.line("no connections to the lab are open")
            return
        }
        console.line("connections to the lab, as its sockets see them (tap ID to watch one, tap all for every one):")
        for summary in live {
            let endpoint = summary.endpoint ?? "-"
            let request = summary.request ?? "(no request head yet)"
            console.line("  \(String(summary.id).leftPadded(3))  \(summary.peer.padding(21)) \(endpoint.padding(13)) \(request)")
            console.line("       ↑ \(summary.bytesUp) B from the client · ↓ \(summary.bytesDown) B to it" + (summary.tls ? " (TLS port: decrypted)" : "")
                + (summary.userAgent.map { " · User-Agent: \($0)" } ?? ""))
        }
    }
}

// MARK: peer

extension Session {
    /// A WebSocket client written by someone else: Python's `websockets` sends each message, prints
    /// each reply, and closes with 1000. Its bytes are seen only from the lab's side (`tap`).
    static let pythonPeer = """
        import sys
        from websockets.sync.client import connect
        url, messages = sys.argv[1], sys.argv[2:]
        with connect(url, open_timeout=10, close_timeout=10) as socket:
            for message in messages:
                socket.send(message)
                print("received " + repr(socket.recv(timeout=10)), flush=True)
        print("closed with 1000", flush=True)
        """

    /// `peer python PATH [MESSAGE…]`: runs an independent client against the lab, so that `tap`
    /// has a connection the REPL did not open (its own User-Agent, its own extension offer).
    func peer(_ words: [String]) async throws {
        let usage = CommandHelp.named("peer")!.usage
        guard words.first == "python", words.count >= 2 else { throw UsageError("peer takes python, a path and messages", usage: usage) }
        guard let labAddress else { throw UsageError("peer connects to the in-process lab; this session has none") }
        let path = words[1]
        guard path.hasPrefix("/ws") else { throw UsageError("the Python peer opens a WebSocket: give a /ws… path, e.g. peer python /ws/echo hello", usage: usage) }
        let environment = ProcessInfo.processInfo.environment
        let python = environment["WIRELAB_PYTHON"] ?? FileManager.default.currentDirectoryPath + "/.venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw UsageError("no Python with websockets at \(python): run make python-peers in the repository (or set WIRELAB_PYTHON)")
        }
        let url = "ws://\(labAddress.host):\(labAddress.port)\(path)"
        console.line("python · Python websockets connects to \(url) on its own: only tap shows its bytes")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", Self.pythonPeer, url] + words.dropFirst(2)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let exited = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { exited.continuation.yield($0.terminationStatus); exited.continuation.finish() }
        try process.run()
        let status = await withTaskCancellationHandler {
            await exited.stream.first { _ in true } ?? -1
        } onCancel: {
            process.terminate()
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        for line in text.split(separator: "\n") { console.line("python · " + line) }
        if status != 0 { console.line(style.yellow("python · exited with status \(status)")) }
        // Its last bytes reach the lab's tap just after it exits.
        try? await Task.sleep(for: .milliseconds(100))
    }
}
