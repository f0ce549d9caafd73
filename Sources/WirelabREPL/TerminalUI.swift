#if canImport(Glibc)
@preconcurrency import Glibc
#endif
@preconcurrency import CLibEdit
import CTerminalGuard
import Foundation
import NIOConcurrencyHelpers
import WireProtocol

/// The interactive REPL on a terminal: libedit reads lines, and text from other threads is printed
/// above the prompt without disturbing the half-typed line.
///
/// libedit is not thread-safe, so every libedit call happens on one thread, the UI thread. Other
/// threads hand it text through a queue and wake it with a byte on a pipe; the signal handlers
/// (`CTerminalGuard`) wake it the same way.
///
/// It uses libedit's own interface, not its readline emulation: that one's callback mode wrote
/// through a stale pointer after each key once a line passed about 8 KiB (heap corruption), and
/// copied the whole line twice per key.
final class TerminalUI: Console, Sendable {
    private enum Message {
        case text(String)
        case status(String?)
        case pin(String?)
        case clearScreen
        case commandFinished
        case shutdown
    }

    /// The longest line the editor takes, in characters. A longer one (a runaway paste) is shown
    /// up to here, the rest is counted, and at Enter the line is refused with a message instead of
    /// run. Far above any command; `send --fill N` makes messages of any size.
    static let maxLineLength = 262_144

    private let queue = NIOLockedValueBox<[Message]>([])
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let prompt: @Sendable () -> String
    private let historyPath: String?
    private let onInterrupt: @Sendable () -> Void
    private let completer: @Sendable (String) -> [String]
    private let finished = DispatchSemaphore(value: 0)
    private let started = NIOLockedValueBox(false)

    /// - Parameters:
    ///   - onInterrupt: called on Ctrl-C while a command runs (to cancel it), and on SIGTERM or SIGHUP.
    ///   - completer: the words that could stand at the end of the given text (the line up to the
    ///     cursor), for Tab.
    init(
        prompt: @escaping @Sendable () -> String, historyPath: String?,
        completer: @escaping @Sendable (String) -> [String] = { _ in [] },
        onInterrupt: @escaping @Sendable () -> Void
    ) {
        var fds: [Int32] = [0, 0]
        pipe(&fds)
        wakeRead = fds[0]
        wakeWrite = fds[1]
        self.prompt = prompt
        self.historyPath = historyPath
        self.onInterrupt = onInterrupt
        self.completer = completer
        // Saved before libedit changes anything: every way out puts these settings back.
        _ = wirelab_terminal_guard_install(STDIN_FILENO, wakeWrite)
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

    func clearScreen() {
        post(.clearScreen)
    }

    /// Called when a command has finished: the prompt comes back.
    func commandFinished() {
        post(.commandFinished)
    }

    /// Ends the UI thread (if it is still running) and returns once it has put the terminal's
    /// settings back and saved the history.
    func shutdown() async {
        guard started.withLockedValue({ $0 }) else {
            // The UI thread never ran (the lab did not start): only the signal handlers' state to undo.
            wirelab_terminal_guard_restore()
            return
        }
        post(.shutdown)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiter = Thread { [finished] in
                finished.wait()
                finished.signal()
                continuation.resume()
            }
            waiter.start()
        }
    }

    /// SIGTERM or SIGHUP if one ended the session, to be raised again once everything is closed.
    var terminationSignal: Int32? {
        let signal = wirelab_terminal_guard_termination_signal()
        return signal == 0 ? nil : signal
    }

    private func post(_ message: Message) {
        queue.withLockedValue { $0.append(message) }
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }

    /// Starts the UI thread. Lines typed arrive on the stream; it finishes on Ctrl-D, a
    /// termination signal or ``shutdown()``.
    func lines() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        started.withLockedValue { $0 = true }
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

    /// What the UI thread draws around the typed line.
    fileprivate struct Screen {
        var busy = false
        var prompt = ""
        /// The progress line under the output while a command runs, if any.
        var statusLine: String?
        /// The line kept just above the prompt (a live sparkline), if any.
        var pinned: String?
    }

    private func runLoop(_ continuation: AsyncStream<String>.Continuation) {
        Self.useUTF8Input()
        guard let editLine = wirelab_el_init("wirelab"), let history = history_init() else {
            wirelab_terminal_guard_restore()
            continuation.finish()
            finished.signal()
            return
        }
        EditorState.editLine = editLine
        EditorState.ui = self
        wirelab_history_set_size(history, 1000)
        wirelab_history_set_unique(history, 1)
        if let historyPath { wirelab_history_load(history, historyPath) }
        wirelab_el_set_history(editLine, history)
        wirelab_el_set_editor(editLine, "emacs")
        wirelab_el_set_prompt(editLine, EditorState.promptText)
        wirelab_el_set_getc(editLine, EditorState.readCharacter)
        bindKeys(editLine)
        _ = el_source(editLine, nil)  // the user's ~/.editrc, as every libedit program reads it

        var screen = Screen()
        var leaving = false
        func startLine() {
            screen.prompt = prompt()
            EditorState.setPrompt(screen.prompt)
            EditorState.dropped = 0
            // Leaving and re-entering libedit's character mode empties the line, puts the
            // terminal in raw mode and draws the prompt.
            wirelab_el_set_unbuffered(editLine, 0)
            wirelab_el_set_unbuffered(editLine, 1)
        }
        startLine()
        EditorState.screen = screen
        while !leaving {
            EditorState.screen = screen
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            if !screen.busy { fds.append(pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)) }
            let pending = !screen.busy && EditorState.input.hasBytes
            guard poll(&fds, nfds_t(fds.count), pending ? 0 : -1) >= 0 else {
                if errno == EINTR { continue }
                break
            }
            if fds[0].revents & Int16(POLLIN) != 0 {
                var drain = [UInt8](repeating: 0, count: 256)
                let count = read(wakeRead, &drain, drain.count)
                let bytes = count > 0 ? drain[..<count] : []
                if bytes.contains(UInt8(WIRELAB_WAKE_TERMINATE)) {
                    onInterrupt()
                    leaving = true
                }
                if bytes.contains(UInt8(WIRELAB_WAKE_RESIZE)) {
                    el_resize(editLine)
                    if !screen.busy { _ = wirelab_el_redraw(editLine) }
                }
                if !leaving, bytes.contains(UInt8(WIRELAB_WAKE_INTERRUPT)) {
                    if screen.busy {
                        print("\n")  // the terminal has echoed ^C itself: it is in cooked mode while a command runs
                        onInterrupt()
                    } else {
                        abandonLine(editLine, prompt: screen.prompt)
                        startLine()
                    }
                }
                for message in queue.withLockedValue({ queue in defer { queue = [] }; return queue }) {
                    switch message {
                    case .text(let text):
                        if screen.busy {
                            print((screen.statusLine == nil ? "" : "\r\u{1B}[K") + text + (screen.statusLine.map(fitted) ?? ""))
                        } else {
                            printAbovePrompt(text, screen: screen)
                        }
                    case .pin(let text):
                        let before = screen
                        screen.pinned = text
                        if !screen.busy { printAbovePrompt("", screen: screen, wasPinned: before.pinned != nil) }
                    case .status(let text):
                        guard screen.busy else { break }
                        print("\r\u{1B}[K" + (text.map(fitted) ?? ""))
                        screen.statusLine = text
                    case .clearScreen:
                        print("\u{1B}[H\u{1B}[2J\u{1B}[3J")
                        if !screen.busy {
                            if let pinned = screen.pinned { print(fitted(pinned) + "\n") }
                            _ = wirelab_el_redraw(editLine)
                        }
                    case .commandFinished:
                        if screen.statusLine != nil { print("\r\u{1B}[K") }
                        screen.statusLine = nil
                        if let pinned = screen.pinned { print(fitted(pinned) + "\n") }
                        screen.busy = false
                        if !leaving { startLine() }
                    case .shutdown:
                        leaving = true
                    }
                }
            }
            guard !leaving, !screen.busy, pending || (fds.count > 1 && fds[1].revents & Int16(POLLIN | POLLHUP | POLLERR) != 0) else {
                continue
            }
            // Keys one by one while there are bytes, but not forever: pushed text and signals
            // get a turn between batches of a long paste.
            var keys = 0
            repeat {
                var count: Int32 = 0
                let line = el_wgets(editLine, &count)
                keys += 1
                if EditorState.endOfInput || wirelab_terminal_guard_termination_signal() != 0 {
                    // Ctrl-D, the terminal gone, or SIGTERM while a key sequence was read.
                    print("\n")
                    leaving = true
                    break
                }
                guard let line, count > 0 else { continue }
                let characters = UnsafeBufferPointer(start: line, count: Int(count))
                if count == 1, characters[0] == 4 {  // Ctrl-D on an empty line
                    print("\n")
                    leaving = true
                    break
                }
                guard characters[Int(count) - 1] == 10 else { continue }  // not yet Enter
                let text = Self.string(characters.dropLast())
                if EditorState.dropped > 0 {
                    let total = EditorState.dropped + Int(count) - 1
                    print(Self.tooLongMessage(characters: total) + "\n")
                    startLine()
                    continue
                }
                wirelab_el_set_unbuffered(editLine, 0)  // cooked mode while the command runs: Ctrl-C is SIGINT
                if !text.trimmingCharacters(in: .whitespaces).isEmpty {
                    wirelab_history_enter(history, text)
                    saveHistory(history)
                }
                screen.busy = true
                continuation.yield(text)
            } while !leaving && !screen.busy && EditorState.input.hasBytes && keys < 4096
        }
        wirelab_el_set_unbuffered(editLine, 0)
        saveHistory(history)
        EditorState.editLine = nil
        el_end(editLine)
        history_end(history)
        wirelab_terminal_guard_restore()
        continuation.finish()
        finished.signal()
    }

    /// What a line longer than ``maxLineLength`` gets instead of being run.
    static func tooLongMessage(characters: Int) -> String {
        "that line was \(characters.formatted()) characters long; wirelab takes lines of up to \(maxLineLength.formatted()), so it was not run"
            + " (send --fill N sends a message of N bytes)"
    }

    private func bindKeys(_ editLine: OpaquePointer) {
        wirelab_el_add_command(editLine, "wirelab-complete", "complete commands, clients, paths and options", EditorState.complete)
        wirelab_el_bind(editLine, "^I", "wirelab-complete")
        wirelab_el_add_command(editLine, "wirelab-clear", "clear the screen", EditorState.clear)
        wirelab_el_bind(editLine, "^L", "wirelab-clear")
        // What readline users expect, as libedit's readline emulation binds them.
        wirelab_el_bind(editLine, "^R", "em-inc-search-prev")
        for (keys, command) in [
            ("\\e[1~", "ed-move-to-beg"), ("\\e[4~", "ed-move-to-end"), ("\\e[7~", "ed-move-to-beg"), ("\\e[8~", "ed-move-to-end"),
            ("\\e[H", "ed-move-to-beg"), ("\\e[F", "ed-move-to-end"), ("\\e[3~", "ed-delete-next-char"),
            ("\\e[1;5C", "em-next-word"), ("\\e[1;5D", "ed-prev-word"),
        ] {
            wirelab_el_bind(editLine, keys, command)
        }
    }

    /// Ctrl-C at the prompt: the line stays on the screen with ^C after it, as in a shell, and a
    /// fresh prompt comes below.
    private func abandonLine(_ editLine: OpaquePointer, prompt: String) {
        guard let info = el_wline(editLine)?.pointee else { return }
        // Back to the prompt's first row, then libedit draws the line again with the cursor at its end.
        let rowsUp = (prompt.cells + cellsBeforeCursor) / terminalColumns
        _ = el_cursor(editLine, Int32(info.lastchar - info.cursor))
        print((rowsUp > 0 ? "\u{1B}[\(rowsUp)A" : "") + "\r\u{1B}[J")
        _ = wirelab_el_redraw(editLine)
        print(info.lastchar == info.buffer ? "^C · quit or Ctrl-D leaves wirelab\n" : "^C\n")
    }

    private func saveHistory(_ history: OpaquePointer) {
        guard let historyPath else { return }
        // Written beside and renamed over: a crash while writing cannot leave half a file.
        let temporary = historyPath + ".new"
        guard let file = fopen(temporary, "w") else { return }
        let saved = wirelab_history_save_file(history, file)
        fclose(file)
        if saved >= 0 { rename(temporary, historyPath) } else { unlink(temporary) }
    }

    static func string<C: Collection>(_ characters: C) -> String where C.Element == wchar_t {
        var scalars = String.UnicodeScalarView()
        for character in characters {
            if let scalar = Unicode.Scalar(UInt32(bitPattern: character)) { scalars.append(scalar) }
        }
        return String(scalars)
    }

    /// A status line cut to the terminal's width, so that it never wraps (a wrapped line could not
    /// be redrawn in place).
    fileprivate func fitted(_ text: String) -> String {
        text.fitted(toCells: max(10, terminalColumns - 1))
    }

    /// Terminal cells from the start of the typed line to the cursor: a CJK character is two.
    private var cellsBeforeCursor: Int {
        guard let editLine = EditorState.editLine, let info = el_wline(editLine)?.pointee, let start = info.buffer, let cursor = info.cursor else { return 0 }
        return Self.string(UnsafeBufferPointer(start: start, count: cursor - start)).cells
    }

    private var terminalColumns: Int {
        var size = winsize()
        return ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
    }

    fileprivate func print(_ text: String) {
        fputs(text, stdout)
        fflush(stdout)
    }

    /// Moves to the prompt's first row (or the pinned line above it), clears it and everything
    /// below, prints, puts the pinned line back, and lets libedit draw the prompt and the typed
    /// text again.
    fileprivate func printAbovePrompt(_ text: String, screen: Screen, wasPinned: Bool? = nil) {
        let rowsUp = (screen.prompt.cells + cellsBeforeCursor) / terminalColumns + ((wasPinned ?? (screen.pinned != nil)) ? 1 : 0)
        var out = rowsUp > 0 ? "\u{1B}[\(rowsUp)A" : ""
        out += "\r\u{1B}[J" + text + (screen.pinned.map { fitted($0) + "\n" } ?? "")
        print(out)
        if let editLine = EditorState.editLine { _ = wirelab_el_redraw(editLine) }
    }

    /// Tab: the longest text all candidates share is inserted; when they differ after it, they
    /// are listed above the prompt.
    fileprivate func complete(_ editLine: OpaquePointer) -> UInt8 {
        guard let info = el_wline(editLine)?.pointee, let start = info.buffer, let cursor = info.cursor else { return UInt8(CC_ERROR) }
        let before = Self.string(UnsafeBufferPointer(start: start, count: cursor - start))
        let word = before.split(separator: " ", omittingEmptySubsequences: false).last.map(String.init) ?? ""
        let candidates = completer(before).filter { $0.hasPrefix(word) }
        guard !candidates.isEmpty else { return UInt8(CC_REFRESH_BEEP) }
        let shared = candidates.dropFirst().reduce(candidates[0]) { String($0.commonPrefix(with: $1)) }
        var insertion = String(shared.dropFirst(word.count))
        if candidates.count == 1 { insertion += " " }
        if !insertion.isEmpty {
            let wide = insertion.unicodeScalars.map { wchar_t(bitPattern: $0.value) } + [0]
            _ = el_winsertstr(editLine, wide)
            return UInt8(CC_REFRESH)
        }
        printAbovePrompt(candidates.joined(separator: "  ") + "\n", screen: EditorState.screen)
        return UInt8(CC_NORM)
    }
}

/// State that libedit's C callbacks reach: a `@convention(c)` function captures nothing. Used on
/// the UI thread only.
private enum EditorState {
    nonisolated(unsafe) static var editLine: OpaquePointer?
    nonisolated(unsafe) static var ui: TerminalUI?
    nonisolated(unsafe) static var screen = TerminalUI.Screen()
    nonisolated(unsafe) static var input = InputBuffer()
    /// Set when stdin ended (the terminal closed) or failed.
    nonisolated(unsafe) static var endOfInput = false
    /// Characters typed past ``TerminalUI/maxLineLength`` on the current line.
    nonisolated(unsafe) static var dropped = 0
    nonisolated(unsafe) private static var prompt: UnsafeMutablePointer<CChar>?

    static func setPrompt(_ text: String) {
        free(prompt)
        prompt = strdup(text)
    }

    static let promptText: @convention(c) (OpaquePointer?) -> UnsafeMutablePointer<CChar>? = { _ in
        EditorState.prompt
    }

    /// libedit's input: characters decoded from stdin, read in large blocks (libedit alone reads
    /// one byte per system call). Characters beyond the longest line are counted, not passed on;
    /// control keys always are, so Enter, Ctrl-U and Ctrl-C still work.
    static let readCharacter: @convention(c) (OpaquePointer?, UnsafeMutablePointer<wchar_t>?) -> Int32 = { editLine, out in
        var state = mbstate_t()
        while let byte = EditorState.input.next() {
            var character: wchar_t = 0
            var source = CChar(bitPattern: byte)
            let result = mbrtowc(&character, &source, 1, &state)
            if result == -2 { continue }  // more bytes of this character to come
            if result == -1 {  // not UTF-8: dropped, as libedit itself does
                state = mbstate_t()
                continue
            }
            if character >= 0x20, character != 0x7F, let editLine, let info = el_wline(editLine)?.pointee,
               info.lastchar - info.buffer >= TerminalUI.maxLineLength {
                EditorState.dropped += 1
                continue
            }
            out?.pointee = character
            return 1
        }
        EditorState.endOfInput = true
        return 0
    }

    static let complete: @convention(c) (OpaquePointer?, Int32) -> UInt8 = { editLine, _ in
        guard let editLine, let ui = EditorState.ui else { return UInt8(CC_ERROR) }
        return ui.complete(editLine)
    }

    static let clear: @convention(c) (OpaquePointer?, Int32) -> UInt8 = { editLine, _ in
        guard let editLine, let ui = EditorState.ui else { return UInt8(CC_ERROR) }
        ui.print("\u{1B}[H\u{1B}[2J\u{1B}[3J")
        if let pinned = EditorState.screen.pinned { ui.print(ui.fitted(pinned) + "\n") }
        _ = wirelab_el_redraw(editLine)
        return UInt8(CC_NORM)
    }
}

/// Bytes read from stdin in blocks and handed out one at a time.
private struct InputBuffer {
    private var bytes = [UInt8](repeating: 0, count: 65_536)
    private var start = 0
    private var end = 0

    var hasBytes: Bool { start < end }

    /// The next byte; waits for the terminal when none is buffered (the rest of a key sequence,
    /// or a key inside Ctrl-R's search). Nil at end of input, on an error, or once SIGTERM or
    /// SIGHUP came.
    mutating func next() -> UInt8? {
        while start == end {
            if wirelab_terminal_guard_termination_signal() != 0 { return nil }
            var fds = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 1, 200) > 0 else { continue }
            let count = bytes.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count > 0 {
                start = 0
                end = count
            } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                return nil
            }
        }
        defer { start += 1 }
        return bytes[start]
    }
}
