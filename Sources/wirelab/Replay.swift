import ArgumentParser
import Foundation
import WirelabREPL

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay recorded REPL sessions and compare their output.",
        discussion: "Each file runs against a fresh in-process lab with seed 1. Set WIRELAB_TRANSCRIPTS=overwrite to rewrite the expected output (never on CI)."
    )

    @Argument(help: "Transcript files (.md).")
    var files: [String]

    func run() async throws {
        let overwrite = ProcessInfo.processInfo.environment["WIRELAB_TRANSCRIPTS"] == "overwrite"
        let results = await TranscriptRunner.replay(files: files, overwrite: overwrite)
        if results.contains(where: { !$0.passed }) { throw ExitCode.failure }
    }
}
