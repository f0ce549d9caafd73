/// A lesson: a Markdown file of steps, each with its text, a check and a hint.
///
/// ```markdown
/// # Title
/// One paragraph: what the lesson is about, and how long it takes.
///
/// ## A step's heading
/// What to do and what the learner will see, with the commands in ```wirelab blocks.
/// Check: `ws.open`, `ws.sent.text`
/// Hint: what to type if stuck.
///
/// ## Summary
/// - what was learned
/// ```
public struct Lesson: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        public var title: String
        /// The text as written, `Check:` and `Hint:` lines taken out.
        public var body: [String]
        public var checks: [Fact]
        public var hint: String
        /// The lines of the step's ```wirelab blocks: commands a learner types.
        public var commands: [String]
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
            var step = Step(title: current.title, body: [], checks: [], hint: "", commands: [])
            var inBlock = false
            for (offset, line) in current.body.enumerated() {
                let number = current.line + 1 + offset
                if line.hasPrefix("```") {
                    inBlock = line == "```wirelab" ? true : (inBlock ? false : inBlock)
                    step.body.append(line)
                    continue
                }
                if inBlock {
                    step.commands.append(line)
                    step.body.append(line)
                } else if line.hasPrefix("Check: ") {
                    let names = line.dropFirst("Check: ".count).split(separator: ",").map { String($0).trimming(" `") }
                    for name in names {
                        if let fact = Fact(rawValue: name) { step.checks.append(fact) } else { problem(number, "no check named \(name); the checks are: \(Fact.allCases.map(\.rawValue).joined(separator: ", "))") }
                    }
                } else if line.hasPrefix("Hint: ") {
                    step.hint = String(line.dropFirst("Hint: ".count))
                } else {
                    step.body.append(line)
                }
            }
            while step.body.last?.isEmpty == true { step.body.removeLast() }
            while step.body.first?.isEmpty == true { step.body.removeFirst() }
            if step.checks.isEmpty { problem(current.line, "step \"\(step.title)\" has no Check: line") }
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
