import ArgumentParser
import Foundation
import Lessons
import WirelabREPL

/// `wirelab lessons --check`: the lessons' own test. Every file reads cleanly, every step has a
/// check and a hint, every command in them exists, every lesson has its transcript.
struct LessonsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lessons", abstract: "List the lessons, or check their files (--check).")

    @Flag(help: "Validate every lesson file; exit 1 on any problem.")
    var check = false

    @Option(help: "The lessons folder (default: the checkout's lessons/).")
    var directory: String?

    @Option(help: "The transcripts folder, where lesson-ID.md must exist (default: next to the lessons folder).")
    var transcripts: String?

    func run() throws {
        let catalog = LessonCatalog.load(from: directory ?? LessonCatalog.defaultDirectory())
        guard check else {
            for lesson in catalog.lessons { print("\(lesson.number ?? 0)  \(lesson.title) · \(lesson.steps.count) steps") }
            return
        }
        let transcripts = transcripts ?? (catalog.directory as NSString).deletingLastPathComponent + "/transcripts"
        let problems = catalog.validate(knownCommands: REPLCommands.names, transcripts: transcripts)
        for problem in problems { print(problem) }
        print("\(catalog.lessons.count) lessons, \(catalog.lessons.reduce(0) { $0 + $1.steps.count }) steps, \(problems.count) problems")
        if !problems.isEmpty { throw ExitCode.failure }
    }
}
