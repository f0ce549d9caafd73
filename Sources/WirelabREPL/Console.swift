import NIOConcurrencyHelpers
import WireProtocol

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the REPL's output goes. Text may come from any thread (pushed frames arrive on the
/// network's threads), so implementations serialise it.
public protocol Console: Sendable {
    /// Writes whole lines; `text` ends with a newline.
    func write(_ text: String)
    /// Shows (or, with nil, removes) a one-line status while a command runs, such as a progress
    /// line; it is redrawn in place and never becomes part of the output.
    func status(_ text: String?)
    /// Keeps (or, with nil, removes) one line just above the prompt, redrawn in place when it
    /// changes (a live sparkline).
    func pin(_ text: String?)
    /// Clears the terminal's screen (`clear`); pipes and transcripts have none.
    func clearScreen()
}

extension Console {
    /// Pipes and transcripts keep only lasting output.
    public func status(_ text: String?) {}
    public func pin(_ text: String?) {}
    public func clearScreen() {}
}

extension Console {
    func line(_ text: String = "") { write(text + "\n") }
    func lines(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        write(lines.joined(separator: "\n") + "\n")
    }
}

/// Passes everything on with secrets masked (``Secrets/masked(_:)``): what the REPL shows, and
/// so every transcript, never holds a usable token or password. `--show-secrets` leaves it out.
final class SecretMaskingConsole: Console {
    private let base: any Console

    init(base: any Console) {
        self.base = base
    }

    func write(_ text: String) { base.write(Secrets.masked(text)) }
    func status(_ text: String?) { base.status(text.map(Secrets.masked)) }
    func pin(_ text: String?) { base.pin(text.map(Secrets.masked)) }
    func clearScreen() { base.clearScreen() }
}

/// Standard output, for pipes and scripts.
public final class PlainConsole: Console {
    private let lock = NIOLock()

    public init() {}

    public func write(_ text: String) {
        lock.withLock {
            fputs(text, stdout)
            fflush(stdout)
        }
    }
}

/// Collects output in memory: for transcript replay and tests.
public final class CaptureConsole: Console {
    private let buffer = NIOLockedValueBox("")

    public init() {}

    public func write(_ text: String) {
        buffer.withLockedValue { $0 += text }
    }

    public var text: String { buffer.withLockedValue { $0 } }
}

/// ANSI styling, switched off for pipes, `NO_COLOR` and `--no-color`.
public struct Styler: Sendable {
    public let enabled: Bool

    public init(enabled: Bool) {
        self.enabled = enabled
    }

    private func wrap(_ code: String, _ text: String) -> String {
        enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    func bold(_ text: String) -> String { wrap("1", text) }
    func dim(_ text: String) -> String { wrap("2", text) }
    func red(_ text: String) -> String { wrap("31", text) }
    func green(_ text: String) -> String { wrap("32", text) }
    func yellow(_ text: String) -> String { wrap("33", text) }
    func blue(_ text: String) -> String { wrap("34", text) }
    func magenta(_ text: String) -> String { wrap("35", text) }
    func cyan(_ text: String) -> String { wrap("36", text) }
}
