import Foundation
import Lessons

/// `wirelab lessons --check`: each lesson done as written, in a fresh lab. Every step's own
/// commands (or, for a task the text leaves to the learner, its solution) are typed, its question
/// answered from the session, and its checks must pass before `next`.
public enum LessonRunner {
    public struct StepFailure: Sendable, CustomStringConvertible {
        public var lesson: String
        public var step: Int
        public var title: String
        /// The checks that did not pass, and the last lines of output.
        public var unmet: [String]
        public var output: [String]

        public var description: String {
            (["\(lesson).md: step \(step) \"\(title)\" does not pass after its own commands:"] + unmet.map { "  - \($0)" }
                + ["  last output:"] + output.map { "    " + $0 }).joined(separator: "\n")
        }
    }

    /// Runs one lesson in a fresh session. - Returns: the steps that did not pass, and every line
    /// typed (a lesson transcript's inputs: `lessons --check --script`).
    public static func run(lesson: Lesson, directory: String) async throws -> (failures: [StepFailure], typed: [String]) {
        var options = TranscriptRunner.deterministicOptions()
        options.lessonDirectory = directory
        let console = CaptureConsole()
        let session = try await REPL.start(options, console: console, style: Styler(enabled: false), interactive: false)
        var failures: [StepFailure] = []
        var typed: [String] = []
        func type(_ line: String) async {
            typed.append(line)
            _ = await session.execute(line)
        }
        await type("lesson \(lesson.number.map(String.init) ?? lesson.id)")
        for (index, step) in lesson.steps.enumerated() {
            let before = console.text.count
            for command in await session.stepCommands() {
                await type(command)
            }
            if step.exercise != nil, let answer = await session.expectedAnswer() {
                await type("answer \(answer)")
                // A prediction is judged against what happens after it: do the step again.
                if step.exercise?.isPrediction == true {
                    for command in await session.stepCommands() { await type(command) }
                }
            }
            if let status = await session.stepStatus(), !status.passed {
                let lines = String(console.text.dropFirst(before)).split(separator: "\n").suffix(12).map(String.init)
                failures.append(StepFailure(lesson: lesson.id, step: index + 1, title: step.title, unmet: status.unmet.map { "\($0)" }, output: lines))
            }
            await type("check")
            await type("next")
        }
        await REPL.finish(session)
        return (failures, typed)
    }
}
