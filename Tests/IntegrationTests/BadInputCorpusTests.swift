import Foundation
import Testing
@testable import WirelabREPL

/// Every line of `corpus/bad-input.txt` is fed to one REPL session, in order: each must get a clear
/// message (the text after `=>` on its line), none may crash or hang the session, and the
/// session must still work at the end.
///
/// The corpus is plain text; `\xNN` stands for a byte (control characters, escape sequences) and
/// `{{c*N}}` for N copies of the character c (huge lines).
@Suite struct BadInputCorpusTests {
    struct Case: Sendable, CustomStringConvertible {
        let line: Int
        let input: String
        let expected: String
        var description: String { "corpus line \(line): \(input.prefix(60))" }
    }

    static let corpusPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("corpus/bad-input.txt").path

    static func cases() throws -> [Case] {
        let text = try String(contentsOfFile: corpusPath, encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { index, raw in
            guard !raw.isEmpty, !raw.hasPrefix("## ") else { return nil }
            let parts = raw.components(separatedBy: " => ")
            return Case(line: index + 1, input: expand(parts[0]), expected: parts.count > 1 ? parts[1] : "")
        }
    }

    /// `\xNN` → that byte; `{{c*N}}` → c repeated N times.
    static func expand(_ text: String) -> String {
        var out = text
        while let range = out.range(of: #"\{\{(.)\*(\d+)\}\}"#, options: .regularExpression) {
            let inner = out[range].dropFirst(2).dropLast(2)
            let character = String(inner.prefix(1))
            let count = Int(inner.dropFirst(2)) ?? 0
            out.replaceSubrange(range, with: String(repeating: character, count: count))
        }
        while let range = out.range(of: #"\\x[0-9a-fA-F]{2}"#, options: .regularExpression) {
            let value = UInt8(out[range].dropFirst(2), radix: 16) ?? 0
            out.replaceSubrange(range, with: String(UnicodeScalar(value)))
        }
        return out
    }

    @Test func everyBadLineGetsAClearMessageAndTheSessionLivesOn() async throws {
        let cases = try Self.cases()
        #expect(cases.count >= 100)
        let (session, console) = try await startScriptedSession()
        // Clients for the lines to stumble over: an echo, a chat member, and the current client closed.
        for setup in ["view quiet", "open /ws/echo as e", "open /ws/chat/ann as ann", "open /ws/echo as gone", "close"] {
            #expect(await session.execute(setup))
        }
        let printing = ProcessInfo.processInfo.environment["WIRELAB_CORPUS_PRINT"] != nil
        for badCase in cases {
            let before = console.text.count
            let started = ContinuousClock.now
            let keepGoing = await session.execute(badCase.input)
            let output = String(console.text.dropFirst(before))
            if printing { print("#\(badCase.line) \(badCase.input.prefix(50).debugDescription)\n\(output.prefix(400))") }
            #expect(keepGoing, "\(badCase) ended the session")
            #expect(ContinuousClock.now - started < .seconds(10), "\(badCase) took too long")
            #expect(!badCase.expected.isEmpty && output.contains(badCase.expected), "\(badCase): expected \(badCase.expected.debugDescription), got \(output.prefix(300).debugDescription)")
        }
        // Still alive and still correct.
        let before = console.text.count
        #expect(await session.execute("e: still here"))
        #expect(String(console.text.dropFirst(before)).contains("Echo: still here"))
        await REPL.finish(session)
    }
}
