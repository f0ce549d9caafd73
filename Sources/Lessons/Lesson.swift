/// A lesson: a Markdown file of steps, each with its text, checks and a hint (lessons/README.md
/// has the format).
///
/// ```markdown
/// # Title
/// One paragraph: what the lesson is about, and how long it takes.
///
/// ## A step's heading
/// What to do and what the learner will see, with the commands in ```wirelab blocks.
/// Check: `opened client=c1`, `received client=c1 opcode=text`
/// Hint: what to type if stuck.
///
/// ## An exercise
/// A question, or a task without the commands; the commands that solve it go in a
/// ```wirelab solution block, shown by `hint`, not with the text.
/// Exercise: accept
/// Check: `closed code=1009 by=server`
/// Hint: …
///
/// ## Summary
/// - what was learned
/// ```
public struct Lesson: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        public var title: String
        /// The text as written, `Check:` and `Hint:` lines taken out.
        public var body: [String]
        public var checks: [Check]
        public var hint: String
        /// The lines of the step's ```wirelab blocks: commands a learner types.
        public var commands: [String]
        /// The question `answer` answers, if the step asks one; its check
        /// (`answered exercise=NAME`) is implied.
        public var exercise: Exercise?
        /// The lines of its ```wirelab solution blocks: a way to do a task the text leaves to the
        /// learner. Not shown with the text; `hint` shows them.
        public var solution: [String]

        /// Every check the step must pass: its own, and the exercise's.
        public var allChecks: [Check] {
            checks + (exercise.map { [Check(kind: .answered, conditions: [.init(name: "exercise", comparison: .equal, value: $0.rawValue)])] } ?? [])
        }
    }

    /// The file name without `.md`, e.g. `01-http-vs-websocket`.
    public var id: String
    public var title: String
    public var introduction: [String]
    public var steps: [Step]
    public var summary: [String]

    /// The lesson's number, from its file name.
    public var number: Int? { Int(id.prefix { $0.isNumber }) }

    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    /// Reads a lesson file; every problem is reported with its line, none is fatal to the rest.
    public static func parse(id: String, text: String) -> (Lesson?, [Problem]) {
        var problems: [Problem] = []
        func problem(_ line: Int, _ message: String) { problems.append(Problem(file: id + ".md", line: line, message: message)) }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let first = lines.first, first.hasPrefix("# ") else {
            problem(1, "a lesson starts with its title: a line \"# Title\"")
            return (nil, problems)
        }
        var lesson = Lesson(id: id, title: String(first.dropFirst(2)), introduction: [], steps: [], summary: [])
        var section: (title: String, line: Int, body: [String])?
        var sawSummary = false
        func close() {
            guard let current = section else { return }
            section = nil
            if current.title == "Summary" {
                lesson.summary = current.body.filter { !$0.isEmpty }
                sawSummary = true
                return
            }
            var step = Step(title: current.title, body: [], checks: [], hint: "", commands: [], exercise: nil, solution: [])
            enum Block { case none, commands, solution, other }
            var block = Block.none
            for (offset, line) in current.body.enumerated() {
                let number = current.line + 1 + offset
                if line.hasPrefix("```") {
                    let previous = block
                    switch (block, line) {
                    case (.none, "```wirelab"): block = .commands
                    case (.none, "```wirelab solution"): block = .solution
                    case (.none, _): block = .other
                    default: block = .none
                    }
                    if previous != .solution && block != .solution { step.body.append(line) }
                    continue
                }
                switch block {
                case .commands:
                    step.commands.append(line)
                    step.body.append(line)
                    continue
                case .solution:
                    step.solution.append(line)
                    continue
                case .other:
                    step.body.append(line)
                    continue
                case .none: break
                }
                if line.hasPrefix("Check: ") {
                    let segments = line.dropFirst("Check: ".count).split(separator: "`", omittingEmptySubsequences: false)
                    // Odd segments are inside backticks: `refused status=404`, `…`.
                    let checks = segments.enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
                    if checks.isEmpty || segments.count % 2 == 0 { problem(number, "write each check in backticks: Check: `refused status=404`") }
                    for text in checks {
                        do {
                            step.checks.append(try Check.parse(text))
                        } catch {
                            problem(number, "`\(text)`: \(error)")
                        }
                    }
                } else if line.hasPrefix("Exercise: ") {
                    let name = String(line.dropFirst("Exercise: ".count)).trimming(" `")
                    if let exercise = Exercise(rawValue: name) { step.exercise = exercise } else {
                        problem(number, "no exercise named \(name); the exercises are: \(Exercise.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                } else if line.hasPrefix("Hint: ") {
                    step.hint = String(line.dropFirst("Hint: ".count))
                } else {
                    step.body.append(line)
                }
            }
            while step.body.last?.isEmpty == true { step.body.removeLast() }
            while step.body.first?.isEmpty == true { step.body.removeFirst() }
            if step.allChecks.allSatisfy(\.negated) { problem(current.line, "step \"\(step.title)\" has no Check: line (or only not checks, which pass by doing nothing)") }
            if step.hint.isEmpty { problem(current.line, "step \"\(step.title)\" has no Hint: line") }
            lesson.steps.append(step)
        }
        for (index, line) in lines.enumerated().dropFirst() {
            if line.hasPrefix("## ") {
                close()
                section = (String(line.dropFirst(3)), index + 1, [])
            } else if section != nil {
                section!.body.append(line)
            } else {
                lesson.introduction.append(line)
            }
        }
        close()
        while lesson.introduction.first?.isEmpty == true { lesson.introduction.removeFirst() }
        while lesson.introduction.last?.isEmpty == true { lesson.introduction.removeLast() }
        if lesson.steps.isEmpty { problem(1, "a lesson needs at least one step (## heading)") }
        if !sawSummary { problem(lines.count, "a lesson ends with a \"## Summary\"") }
        return (lesson, problems)
    }
}

extension String {
    func trimming(_ set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
