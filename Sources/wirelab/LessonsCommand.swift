import ArgumentParser
import Foundation
import Lessons
import WirelabREPL

/// `wirelab lessons --check`: the lessons' own test. Every file reads cleanly (every check and
/// exercise known), every step has a check and a hint, every command in them exists, every lesson
/// has its transcript; then each lesson is done as written against a fresh lab, and every step's
/// checks must pass after its own commands.
struct LessonsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lessons", abstract: "List the lessons, or check them (--check).")

    @Flag(help: "Validate every lesson file, then run each lesson's commands against a fresh lab; exit 1 on any problem.")
    var check = false

    @Flag(help: "With --check: only validate the files, without running the lessons.")
    var filesOnly = false

    @Option(help: "With --check: run only this lesson (a number or a name).")
    var only: String?

    @Flag(help: "With --check: print the lines each lesson run typed (a lesson transcript's inputs).")
    var script = false

    @Option(help: "The lessons folder (default: the checkout's lessons/).")
    var directory: String?

    @Option(help: "The transcripts folder, where lesson-ID.md must exist (default: next to the lessons folder).")
    var transcripts: String?

    func run() async throws {
        let catalog = LessonCatalog.load(from: directory ?? LessonCatalog.defaultDirectory())
        guard check else {
            for lesson in catalog.lessons { print("\(lesson.number ?? 0)  \(lesson.title) · \(lesson.steps.count) steps") }
            return
        }
        let transcripts = transcripts ?? (catalog.directory as NSString).deletingLastPathComponent + "/transcripts"
        let problems = catalog.validate(knownCommands: REPLCommands.names, transcripts: transcripts)
        for problem in problems { print(problem) }
        print("\(catalog.lessons.count) lessons, \(catalog.lessons.reduce(0) { $0 + $1.steps.count }) steps, \(problems.count) problems in the files")
        if !problems.isEmpty { throw ExitCode.failure }
        guard !filesOnly else { return }
        var lessons = catalog.lessons
        if let only {
            guard let lesson = catalog.find(only) else { throw ValidationError("no lesson \(only)") }
            lessons = [lesson]
        }
        var failed = 0
        for lesson in lessons {
            let (failures, typed) = try await LessonRunner.run(lesson: lesson, directory: catalog.directory)
            if script { for line in typed { print("wirelab> " + line) } }
            if failures.isEmpty {
                print("ok   \(lesson.id): \(lesson.steps.count) steps pass after their own commands")
            } else {
                failed += 1
                print("FAIL \(lesson.id)")
                for failure in failures { print(failure) }
            }
        }
        print("\(lessons.count - failed) lessons pass, \(failed) fail")
        if failed > 0 { throw ExitCode.failure }
    }
}
