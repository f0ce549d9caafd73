#if canImport(Glibc)
@preconcurrency import Glibc
#endif
@preconcurrency import CLibEdit
import Foundation
import NIOConcurrencyHelpers
import WireProtocol

/// The interactive REPL on a terminal: libedit reads lines, and text from other threads is printed
/// above the prompt without disturbing the half-typed line.
///
/// libedit is not thread-safe, so every libedit call happens on one thread, the UI thread. Other
/// threads hand it text through a queue and wake it with a byte on a pipe.
final class TerminalUI: Console, Sendable {
    private enum Message {
        case text(String)
        case status(String?)
        case pin(String?)
        case commandFinished
    }

    private let queue = NIOLockedValueBox<[Message]>([])
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let prompt: @Sendable () -> String
    private let historyPath: String?
    private let onInterrupt: @Sendable () -> Void

    /// The byte a SIGINT writes to the wake pipe; ordinary wake-ups write 1.
    private static let interruptByte: UInt8 = 2

    /// - Parameter onInterrupt: called on Ctrl-C while a command runs (to cancel it).
    init(prompt: @escaping @Sendable () -> String, historyPath: String?, onInterrupt: @escaping @Sendable () -> Void) {
        var fds: [Int32] = [0, 0]
        pipe(&fds)
        wakeRead = fds[0]
        wakeWrite = fds[1]
        self.prompt = prompt
        self.historyPath = historyPath
        self.onInterrupt = onInterrupt
        // Ctrl-C must not kill the REPL: the handler only wakes the UI thread (write(2) is
        // async-signal-safe), which then clears the line or cancels the running command.
        TerminalUI.signalPipe = wakeWrite
        rl_catch_signals = 0
        signal(SIGINT) { _ in
            var byte = TerminalUI.interruptByte
            _ = Glibc.write(TerminalUI.signalPipe, &byte, 1)
        }
    }

    func write(_ text: String) {
        post(.text(text))
    }

    func status(_ text: String?) {
        post(.status(text))
    }

    func pin(_ text: String?) {
        post(.pin(text))
    }

    /// Called when a command has finished: the prompt comes back.
    func commandFinished() {
        post(.commandFinished)
    }

    private func post(_ message: Message) {
        queue.withLockedValue { $0.append(message) }
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    /// Starts the UI thread. Lines typed arrive on the stream; it finishes on Ctrl-D.
    func lines() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let thread = Thread { self.runLoop(continuation) }
        thread.name = "wirelab-ui"
        thread.start()
        return stream
    }

    // MARK: The UI thread

    /// libedit reads multibyte characters only in a UTF-8 character locale, and a C program
    /// starts in the "C" locale whatever the environment says: without this, `café` or an emoji
    /// typed at the prompt was dropped. The environment's locale first; if that is not UTF-8
    /// (LANG unset, or POSIX), C.UTF-8, since wirelab writes UTF-8 in any case. Only the
    /// character type is set: numbers and dates keep their C formatting.
    static func useUTF8Input() {
        if let chosen = setlocale(LC_CTYPE, ""), String(cString: chosen).lowercased().replacingOccurrences(of: "-", with: "").contains("utf8") {
            return
        }
        _ = setlocale(LC_CTYPE, "C.UTF-8")
    }

    /// State of the C line callback. libedit calls it on the UI thread only, and this is the
    /// only place it can leave the line: a `@convention(c)` function captures nothing.
    nonisolated(unsafe) private static var receivedLine: String?
    nonisolated(unsafe) private static var receivedEOF = false
    /// The wake pipe's write end, for the SIGINT handler (which can capture nothing either).
    nonisolated(unsafe) private static var signalPipe: Int32 = -1
    /// Set by the Ctrl-C key binding (in raw mode the terminal sends 0x03, not SIGINT).
    nonisolated(unsafe) private static var ctrlCPressed = false

    private func runLoop(_ continuation: AsyncStream<String>.Continuation) {
        Self.useUTF8Input()
        using_history()
        stifle_history(1000)
        if let historyPath { read_history(historyPath) }
        var busy = false
        var shownPrompt = ""
        /// The progress line under the output while a command runs, if any.
        var statusLine: String?
        /// The line kept just above the prompt (a live sparkline), if any.
        var pinned: String?
        func install() {
            shownPrompt = prompt()
            rl_callback_handler_install(shownPrompt) { line in
                if let line {
                    TerminalUI.receivedLine = String(cString: line)
                    free(line)
                } else {
                    TerminalUI.receivedEOF = true
                }
            }
            rl_bind_key(3) { _, _ in
                TerminalUI.ctrlCPressed = true
                return 0
            }
        }
        install()
        while true {
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            if !busy { fds.append(pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)) }
            guard poll(&fds, nfds_t(fds.count), -1) >= 0 else {
                if errno == EINTR { continue }
                break
            }
            if fds[0].revents & Int16(POLLIN) != 0 {
                var drain = [UInt8](repeating: 0, count: 256)
                let count = read(wakeRead, &drain, drain.count)
                if count > 0, drain[..<count].contains(TerminalUI.interruptByte) {
                    interrupt(busy: busy, promptWidth: shownPrompt.cells, pinned: pinned)
                }
                for message in queue.withLockedValue({ queue in defer { queue = [] }; return queue }) {
                    switch message {
                    case .text(let text):
                        if busy {
                            print((statusLine == nil ? "" : "\r\u{1B}[K") + text + (statusLine.map(fitted) ?? ""))
                        } else {
                            printAbovePrompt(text, promptWidth: shownPrompt.cells, pinned: pinned, wasPinned: pinned != nil)
                        }
                    case .pin(let text):
                        if !busy { printAbovePrompt("", promptWidth: shownPrompt.cells, pinned: text, wasPinned: pinned != nil) }
                        pinned = text
                    case .status(let text):
                        guard busy else { break }
                        print("\r\u{1B}[K" + (text.map(fitted) ?? ""))
                        statusLine = text
                    case .commandFinished:
                        if statusLine != nil { print("\r\u{1B}[K") }
                        statusLine = nil
                        if let pinned { print(fitted(pinned) + "\n") }
                        busy = false
                        // Reinstalling also puts libedit back in raw mode; after each line it
                        // drops to cooked mode and arrow keys would echo as ^[[A.
                        install()
                    }
                }
            }
            if !busy, fds.count > 1, fds[1].revents & Int16(POLLIN | POLLHUP) != 0 {
                rl_callback_read_char()
                if TerminalUI.ctrlCPressed {
                    TerminalUI.ctrlCPressed = false
                    interrupt(busy: false, promptWidth: shownPrompt.cells, pinned: pinned)
                }
                if TerminalUI.receivedEOF {
                    rl_callback_handler_remove()
                    print("")
                    break
                }
                if let line = TerminalUI.receivedLine {
                    TerminalUI.receivedLine = nil
                    rl_callback_handler_remove()
                    if !line.trimmingCharacters(in: .whitespaces).isEmpty { add_history(line) }
                    busy = true
                    continuation.yield(line)
                }
            }
        }
        if let historyPath { write_history(historyPath) }
        continuation.finish()
    }

    /// Ctrl-C: cancel the running command. At the prompt it only says how to clear the line and
    /// how to leave: libedit's callback interface offers no working way to empty its buffer
    /// (rl_replace_line ignores "", rl_delete_text and rl_kill_text leave it as it was).
    private func interrupt(busy: Bool, promptWidth: Int, pinned: String?) {
        if busy {
            print("\n")  // the terminal has echoed ^C itself: it is in cooked mode while a command runs
            onInterrupt()
        } else {
            printAbovePrompt("^C · Ctrl-U clears the line; quit or Ctrl-D leaves wirelab\n", promptWidth: promptWidth, pinned: pinned, wasPinned: pinned != nil)
        }
    }

    /// A status line cut to the terminal's width, so that it never wraps (a wrapped line could not
    /// be redrawn in place).
    private func fitted(_ text: String) -> String {
        text.fitted(toCells: max(10, terminalColumns - 1))
    }

    /// Terminal cells from the start of the typed line to the cursor. libedit's `rl_point` counts
    /// bytes of the line's UTF-8, and a CJK character is three of them but two cells.
    private var cellsBeforeCursor: Int {
        guard let line = rl_line_buffer else { return Int(rl_point) }
        let bytes = UnsafeRawBufferPointer(start: line, count: min(max(0, Int(rl_point)), strlen(line)))
        return String(decoding: bytes, as: UTF8.self).cells
    }

    private var terminalColumns: Int {
        var size = winsize()
        return ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
    }

    private func print(_ text: String) {
        fputs(text, stdout)
        fflush(stdout)
    }

    /// Moves to the prompt's first row (or the pinned line above it), clears it and everything
    /// below, prints, puts the pinned line back, and lets libedit draw the prompt and the typed
    /// text again.
    private func printAbovePrompt(_ text: String, promptWidth: Int, pinned: String? = nil, wasPinned: Bool = false) {
        let rowsUp = (promptWidth + cellsBeforeCursor) / terminalColumns + (wasPinned ? 1 : 0)
        var out = rowsUp > 0 ? "\u{1B}[\(rowsUp)A" : ""
        out += "\r\u{1B}[J" + text + (pinned.map { fitted($0) + "\n" } ?? "")
        print(out)
        rl_forced_update_display()
    }
}
