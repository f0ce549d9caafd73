import Foundation
import Testing
@testable import WirelabREPL

/// The replayer is what keeps transcripts honest: it must fail when output differs.
@Suite struct TranscriptTests {
    @Test func placeholdersMatchWhatTheyShould() {
        #expect(TranscriptMatch.line("port [PORT]", "port [PORT]"))
        #expect(TranscriptMatch.line("took [..] ms", "took 0.42 ms"))
        #expect(TranscriptMatch.line("[..]", "anything at all"))
        #expect(TranscriptMatch.line("a [..] c [..] e", "a b c d e"))
        #expect(!TranscriptMatch.line("took [..] ms", "took 0.42 s"))
        #expect(!TranscriptMatch.line("exact", "exact "))
        #expect(TranscriptMatch.lines(["a", "...", "z"], ["a", "b", "c", "z"]))
        #expect(TranscriptMatch.lines(["a", "...", "z"], ["a", "z"]))
        #expect(!TranscriptMatch.lines(["a", "...", "z"], ["a", "b"]))
        #expect(!TranscriptMatch.lines(["a", "b"], ["a", "b", "c"]))
    }

    @Test func parsingKeepsProseAndSplitsSteps() throws {
        let text = "# Title\nprose\n```wirelab\nbanner\nwirelab> open /ws/echo\nc1 open\nwirelab> quit\n```\nmore prose\n"
        let transcript = try Transcript(parsing: text)
        #expect(transcript.steps.map(\.input) == [nil, "open /ws/echo", "quit"])
        #expect(transcript.steps.map(\.expected) == [["banner"], ["c1 open"], []])
        #expect(transcript.rendered(outputs: transcript.steps.map(\.expected)) == text)
        #expect(throws: Transcript.FormatError.self) { try Transcript(parsing: "```wirelab\nwirelab> help\n") }
    }

    @Test func theDiffShowsWhatChanged() {
        let diff = UnifiedDiff.make(expected: ["a", "b", "c"], actual: ["a", "B", "c"], expectedName: "x", actualName: "y")
        #expect(diff == ["--- x", "+++ y", "@@ -1,3 +1,3 @@", " a", "-b", "+B", " c"])
    }

    @Test func aWrongTranscriptFailsAndAStaleOneIsReported() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wirelab-transcripts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.md").path
        let bad = directory.appendingPathComponent("bad.md").path
        try "```wirelab\nwirelab> view quiet\nview: quiet\n```\n".write(toFile: good, atomically: true, encoding: .utf8)
        try "```wirelab\nwirelab> view quiet\nview: loud\n```\n".write(toFile: bad, atomically: true, encoding: .utf8)
        var report: [String] = []
        let results = await TranscriptRunner.replay(files: [good, bad], overwrite: false) { report.append($0) }
        #expect(report.last == "1 passed, 1 failed")
        #expect(report.contains { $0.contains("\n-view: loud") })
        #expect(results.map(\.passed) == [true, false])
        let actual = try String(contentsOfFile: bad + ".err", encoding: .utf8)
        #expect(actual.contains("view: quiet"))

        let rewritten = await TranscriptRunner.replay(files: [bad], overwrite: true) { _ in }
        #expect(rewritten.allSatisfy { $0.passed })
        #expect(try String(contentsOfFile: bad, encoding: .utf8) == "```wirelab\nwirelab> view quiet\nview: quiet\n```\n")
    }
}
