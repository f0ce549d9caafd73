import Foundation
import Lessons
import NIOConcurrencyHelpers
import LabServer
import Logging
import WireClient
import WireProtocol

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// How a REPL session starts.
public struct REPLOptions: Sendable {
    /// The in-process lab server; nil runs the REPL without one (clients then need full URLs).
    public var lab: LabConfiguration? = LabConfiguration()
    public var entropy: Entropy = .system
    /// nil decides from the terminal and `NO_COLOR`.
    public var color: Bool?
    public var historyPath: String? = REPLOptions.defaultHistoryPath()
    /// Where lesson progress is saved; nil keeps it for this session only.
    public var progressPath: String? = ProgressStore.defaultPath()
    /// Nil: the checkout's `lessons/` (or `WIRELAB_LESSONS`).
    public var lessonDirectory: String?
    /// Print tokens' signatures and passwords as they are (`--show-secrets`); by default they
    /// are masked on screen and in transcripts.
    public var showSecrets = false

    public init() {}

    /// `$XDG_STATE_HOME/wirelab/history`, default `~/.local/state/wirelab/history`.
    public static func defaultHistoryPath() -> String? {
        let environment = ProcessInfo.processInfo.environment
        let base = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["HOME"].map { $0 + "/.local/state" }
        guard let base else { return nil }
        let directory = base + "/wirelab"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory + "/history"
    }
}

public enum REPL {
    /// Runs a REPL on the process's stdin and stdout until `quit` or end of input.
    public static func run(_ options: REPLOptions) async throws {
        let terminal = isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1
        let colorEnv = ProcessInfo.processInfo.environment["NO_COLOR"].map { $0.isEmpty } ?? true
        let style = Styler(enabled: options.color ?? (terminal && colorEnv))
        let prompt = PromptState()
        let running = NIOLockedValueBox<Task<Bool, Never>?>(nil)
        let completions = NIOLockedValueBox(CompletionIndex())
        let ui = terminal
            ? TerminalUI(
                prompt: { prompt.text }, historyPath: options.historyPath,
                completer: { text in completions.withLockedValue { $0 }.candidates(for: text) }
            ) { running.withLockedValue { $0?.cancel() } }
            : nil
        let console: any Console = ui ?? PlainConsole()
        let session: Session
        do {
            session = try await start(options, console: console, style: style, interactive: terminal)
        } catch {
            await ui?.shutdown()
            throw error
        }
        if terminal {
            await session.fitToTerminal()
            let index = await session.completionIndex
            completions.withLockedValue { $0 = index }
        }
        let lines = ui?.lines() ?? readLines()
        for await line in lines {
            if terminal { await session.fitToTerminal() }
            // Each command runs as its own task, so that Ctrl-C can cancel it.
            let task = Task { await session.execute(line) }
            running.withLockedValue { $0 = task }
            let keepGoing = await task.value
            running.withLockedValue { $0 = nil }
            // `quit` must not bring the prompt (and libedit's raw mode) back.
            if !keepGoing { break }
            prompt.text = await session.promptText
            if terminal {
                let index = await session.completionIndex
                completions.withLockedValue { $0 = index }
            }
            ui?.commandFinished()
        }
        // The terminal's settings and the history first: closing the clients can take a second.
        await ui?.shutdown()
        await finish(session)
        if let signal = ui?.terminationSignal {
            // Ended by SIGTERM or SIGHUP: everything is closed; die of it, as the caller expects.
            // This thread may block it (as the runtime's threads do): unblock it here first.
            Glibc.signal(signal, SIG_DFL)
            var only = sigset_t()
            sigemptyset(&only)
            sigaddset(&only, signal)
            pthread_sigmask(SIG_UNBLOCK, &only, nil)
            raise(signal)
            exit(128 + signal)
        }
    }

    /// Starts the lab (when configured) and prints the banner.
    static func start(_ options: REPLOptions, console unmasked: any Console, style: Styler, interactive: Bool) async throws -> Session {
        let console: any Console = options.showSecrets ? unmasked : SecretMaskingConsole(base: unmasked)
        var lab: Lab?
        var address: (host: String, port: Int)?
        if var configuration = options.lab {
            // The REPL's screen is for the wire; server chatter below warnings stays out of it.
            if configuration.logger.logLevel < .warning { configuration.logger.logLevel = .warning }
            let server = try Lab(configuration: configuration)
            let port = try await server.start()
            lab = server
            address = (configuration.host, port)
        }
        let session = Session(
            lab: lab, labAddress: address, console: console, style: style, randomness: Randomness(options.entropy), interactive: interactive,
            progressPath: options.progressPath, lessonDirectory: options.lessonDirectory
        )
        var lines = banner(lab: lab, address: address, style: style)
        if interactive {
            // Wrapped at words for the terminal; scripts and transcripts keep whole lines.
            await session.fitToTerminal()
            let width = session.settings.columns
            lines = lines.flatMap { wrapWords($0, width: width) }
        }
        console.lines(lines)
        return session
    }

    static func finish(_ session: Session) async {
        await session.closeAll()
        await session.lab?.stop()
    }

    static func banner(lab: Lab?, address: (host: String, port: Int)?, style: Styler) -> [String] {
        guard let lab, let address else {
            return [style.bold("wirelab") + " · no lab server in this session; open clients with full ws:// URLs", "type help for the commands"]
        }
        let on = lab.registry.enabledEndpoints.map(\.name)
        return [
            style.bold("wirelab") + " · lab server listening on \(address.host):\(address.port), inside this process",
            "endpoints on: " + (on.isEmpty ? "none (enable NAME switches one on)" : on.joined(separator: ", ") + " (endpoints lists their URLs)"),
            "playground for your browser: " + Playground.url(host: address.host, port: address.port) + " (tap shows its connections)",
        ] + tlsBanner(lab: lab, host: address.host) + [
            "type help for the commands, or start with: open /ws/echo",
        ]
    }

    /// The TLS listener's line: its port and the certificate's fingerprint, to check against
    /// what a client is shown.
    static func tlsBanner(lab: Lab, host: String) -> [String] {
        guard let port = lab.tlsPort, let identity = lab.tlsIdentity else { return [] }
        return ["TLS for wss:// and https:// on \(host):\(port) · certificate SHA-256 \(identity.fingerprintText) (tls tells more)"]
    }

    /// Plain lines from stdin, read on their own thread so that no task blocks.
    static func readLines() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let thread = Thread {
            while let line = readLine(strippingNewline: true) { continuation.yield(line) }
            continuation.finish()
        }
        thread.start()
        return stream
    }
}

/// The prompt shows the current client; the UI thread reads it, the session sets it.
final class PromptState: Sendable {
    private let value = NIOLockedValueBox("wirelab> ")
    var text: String {
        get { value.withLockedValue { $0 } }
        set { value.withLockedValue { $0 = newValue } }
    }
}

extension Session {
    /// One-line summaries fit the terminal as it is now (it may have been resized).
    func fitToTerminal() {
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 {
            settings.columns = Int(size.ws_col)
        }
    }

    var promptText: String {
        currentName.map { "wirelab \($0)> " } ?? "wirelab> "
    }

    /// What Tab can complete now.
    var completionIndex: CompletionIndex {
        var paths: [String] = []
        for endpoint in lab?.registry.endpoints ?? [] {
            let patterns = endpoint.webSocketRoutes.map(\.pattern.description) + endpoint.httpRoutes.map(\.pattern.description)
            for pattern in patterns {
                let path = String(pattern.prefix { $0 != "{" })
                if !paths.contains(path) { paths.append(path) }
            }
        }
        return CompletionIndex(clients: clientNames, paths: paths)
    }
}
