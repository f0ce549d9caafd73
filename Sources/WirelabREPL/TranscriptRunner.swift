import Foundation
import LabServer
import WireProtocol

/// Replays transcripts against a fresh in-process lab and compares what comes out.
public enum TranscriptRunner {
    public struct Result: Sendable {
        public let file: String
        public let passed: Bool
        public let steps: Int
    }

    /// Replays each file, prints `ok`/`FAIL` with a diff, and a closing `N passed, M failed` line.
    /// - Parameter report: where the verdicts and diffs go (standard output by default).
    public static func replay(files: [String], overwrite: Bool, report: (String) -> Void = { print($0) }) async -> [Result] {
        var results: [Result] = []
        for file in files {
            let result = await replay(file: file, overwrite: overwrite, report: report)
            results.append(result)
        }
        let failed = results.filter { !$0.passed }.count
        report("\(results.count - failed) passed, \(failed) failed")
        return results
    }

    static func replay(file: String, overwrite: Bool, report: (String) -> Void) async -> Result {
        let transcript: Transcript
        let original: String
        do {
            original = try String(contentsOfFile: file, encoding: .utf8)
            transcript = try Transcript(parsing: original)
        } catch {
            report("FAIL \(file): \(error)")
            return Result(file: file, passed: false, steps: 0)
        }
        let outputs: [[String]]
        do {
            outputs = try await run(transcript)
        } catch {
            report("FAIL \(file): the session could not start: \(error)")
            return Result(file: file, passed: false, steps: 0)
        }
        let steps = transcript.steps
        let passed = zip(steps, outputs).allSatisfy { TranscriptMatch.lines($0.expected, $1) } && steps.count == outputs.count
        if passed {
            report("ok   \(file) (\(steps.filter { $0.input != nil }.count) commands)")
            try? FileManager.default.removeItem(atPath: file + ".err")
            return Result(file: file, passed: true, steps: steps.count)
        }
        // Where a step matched, keep its expected lines (and their placeholders).
        let merged = zip(steps, outputs).map { TranscriptMatch.lines($0.expected, $1) ? $0.expected : $1 }
        let actualText = transcript.rendered(outputs: merged)
        if overwrite {
            try? actualText.write(toFile: file, atomically: true, encoding: .utf8)
            report("rewrote \(file)")
            return Result(file: file, passed: true, steps: steps.count)
        }
        try? actualText.write(toFile: file + ".err", atomically: true, encoding: .utf8)
        report("FAIL \(file) (actual output in \(file).err)")
        let diff = UnifiedDiff.make(
            expected: original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init),
            actual: actualText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init),
            expectedName: file, actualName: file + ".err"
        )
        report(diff.joined(separator: "\n"))
        return Result(file: file, passed: false, steps: steps.count)
    }

    /// The HTTP `Date` header comes from the server's real clock: it reads `[DATE]` in transcripts.
    static func redact(_ line: String) -> String {
        guard let range = line.range(of: #"Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT"#, options: .regularExpression) else {
            return line
        }
        return line.replacingCharacters(in: range, with: "Date: [DATE]")
    }

    /// Runs the transcript's inputs in a fresh deterministic session.
    /// - Returns: the output of each step, port redacted.
    /// A fresh lab on port 0 with every source of nondeterminism fixed, and no saved state.
    static func deterministicOptions() -> REPLOptions {
        var options = REPLOptions()
        options.lab?.port = 0
        // Timestamps from a clock that starts at a fixed instant and ticks 1 ms per reading.
        options.lab?.clock = .stepping(from: Date(timeIntervalSince1970: 1_767_225_600), by: 0.001)
        // A fixed signing key, so that the tokens in transcripts are the same every run.
        options.lab?.tokenSecret = Array("wirelab transcripts, not a secret".utf8)
        options.entropy = .seeded(1)
        // The server's idle pings come by the clock (every 30 s, 16 random bytes): a transcript
        // that runs long on a busy machine would show them, at places no run repeats.
        options.lab?.limits.pingInterval = nil
        // The TLS listener, as in every REPL, with a pinned key (its certificate's signature,
        // and so its fingerprint, still differs per run: transcripts show it as [..]).
        options.lab?.tls = LabTLSConfiguration(port: 0, source: .generated(keyBytes: Array(repeating: 0x2A, count: 32)))
        options.historyPath = nil
        // Each transcript starts with no lesson progress, and leaves none behind.
        options.progressPath = nil
        return options
    }

    static func run(_ transcript: Transcript) async throws -> [[String]] {
        let options = deterministicOptions()
        let console = CaptureConsole()
        let session = try await REPL.start(options, console: console, style: Styler(enabled: false), interactive: false)
        let port = session.labAddress?.port
        let tlsPort = session.lab?.tlsPort
        var outputs: [[String]] = []
        var consumed = 0
        func take() -> [String] {
            let text = console.text
            let new = String(text.dropFirst(consumed))
            consumed = text.count
            var lines = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if lines.last == "" { lines.removeLast() }
            return lines.map { line in
                // Whole numbers only: one port may begin with the other's digits.
                var line = line
                for (number, name) in [(port, "[PORT]"), (tlsPort, "[TLS-PORT]")] {
                    guard let number else { continue }
                    line = line.replacingOccurrences(of: ":\(number)(?![0-9])", with: ":\(name)", options: .regularExpression)
                }
                return redact(line)
            }
        }
        var stepsIterator = transcript.steps.makeIterator()
        var step = stepsIterator.next()
        if step?.input == nil {
            outputs.append(take())
            step = stepsIterator.next()
        } else {
            _ = take()  // a transcript that does not show the banner does not check it
        }
        var ended = false
        while let current = step {
            if !ended, let input = current.input {
                ended = !(await session.execute(input))
            }
            outputs.append(take())
            step = stepsIterator.next()
        }
        await REPL.finish(session)
        return outputs
    }
}
