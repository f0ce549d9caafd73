import Foundation
import LabServer
import Lessons
import WireProtocol

/// `lessons`, `lesson N`, `next`, `back`, `hint`, `check`, `answer`, `lesson reset`: stepping
/// through the guide in the REPL. A step's checks look at what the wire did since the step began.
extension Session {
    struct LessonPosition {
        var lesson: Lesson
        var step: Int
        /// Observations recorded from here on count for this step.
        var mark: Int
        /// `next` on a last step not passed warns once; the second `next` finishes the lesson.
        var warnedBeforeFinishing = false
    }

    /// Whether the current step's checks hold, and which do not.
    struct StepStatus {
        var unmet: [Check]
        var passed: Bool { unmet.isEmpty }
    }

    private func catalog() -> LessonCatalog {
        if let loaded = lessonCatalog { return loaded }
        let loaded = LessonCatalog.load(from: lessonDirectory ?? LessonCatalog.defaultDirectory())
        lessonCatalog = loaded
        return loaded
    }

    private func loadProgress() -> LessonProgress {
        if let progress = lessonProgress { return progress }
        guard let progressPath else { return LessonProgress() }
        let (progress, note) = ProgressStore(path: progressPath).load()
        if let note { console.line(style.yellow("note: ") + note) }
        lessonProgress = progress
        return progress
    }

    private func saveProgress(_ progress: LessonProgress) {
        lessonProgress = progress
        guard let progressPath else { return }
        do {
            try ProgressStore(path: progressPath).save(progress)
        } catch {
            console.line(style.yellow("note: ") + "progress could not be saved to \(progressPath): \(error)")
        }
    }

    /// `lessons`
    func listLessons() {
        let catalog = catalog()
        guard !catalog.lessons.isEmpty else {
            console.line("no lessons found in \(catalog.directory)")
            return
        }
        let progress = loadProgress()
        for lesson in catalog.lessons {
            let entry = progress.lessons[lesson.id]
            let passed = entry?.passed.count ?? 0
            let mark = passed == lesson.steps.count ? style.green("✓") : passed > 0 ? "…" : " "
            console.line(" \(mark) \(String(lesson.number ?? 0).leftPadded(2))  \(lesson.title.padding(40)) \(passed)/\(lesson.steps.count) steps")
        }
        console.line(style.dim("lesson N starts one (or goes back to where you were); ✓ = every step passed"))
    }

    /// `lesson N|NAME` or `lesson reset`
    func startLesson(_ words: [String]) async throws {
        let usage = CommandHelp.named("lesson")!.usage
        guard let first = words.first else { throw UsageError("lesson takes a number or a name; lessons lists them", usage: usage) }
        if first == "reset" {
            guard let position = lessonPosition else { throw UsageError("no lesson is running; lesson reset starts the current lesson over") }
            var progress = loadProgress()
            progress.lessons[position.lesson.id] = nil
            saveProgress(progress)
            await cleanSlate()
            lessonPosition = LessonPosition(lesson: position.lesson, step: 0, mark: settings.observations.mark)
            console.line("\(position.lesson.title): progress cleared, back to the first step")
            showStep()
            return
        }
        guard let lesson = catalog().find(first) else {
            throw UsageError("no lesson \(first); lessons lists them", usage: usage)
        }
        let entry = loadProgress().lessons[lesson.id]
        let step = min(entry?.step ?? 0, lesson.steps.count - 1)
        // A lesson starts from a known state: what an earlier lesson left open would change what
        // the steps show. Resuming mid-lesson keeps what is there.
        if step == 0 { await cleanSlate() }
        lessonPosition = LessonPosition(lesson: lesson, step: step, mark: settings.observations.mark)
        pendingPrediction = nil
        console.line(style.bold("Lesson \(lesson.number ?? 0): \(lesson.title)"))
        if step == 0 {
            console.lines(wrapped(lesson.introduction))
        } else {
            console.line("(back where you were: step \(step + 1); the clients of earlier steps may be gone: lesson reset starts over)")
        }
        showStep()
    }

    /// Clients closed, the default view, logged out, every endpoint on and nothing blocked, the
    /// broadcast settings as the lab started; says what it changed.
    private func cleanSlate() async {
        var changed: [String] = []
        let closed = await forgetClients()
        if !closed.isEmpty { changed.append("closed \(closed.joined(separator: ", "))") }
        if settings.view != .frames || compareEverySend {
            settings.view = .frames
            compareEverySend = false
            changed.append("view frames (every header explained)")
        }
        if token != nil {
            token = nil
            loggedInAs = nil
            changed.append("logged out")
        }
        if let lab {
            let off = lab.registry.endpoints.map(\.name).filter { !lab.registry.isEnabled($0) }
            for name in off { try? lab.registry.setEnabled(name, true) }
            if !off.isEmpty { changed.append("\(off.joined(separator: ", ")) on again") }
            // Lessons ship orders by number: each starts with the shop as the lab opened it.
            if lab.context.orders.reset() { changed.append("orders 1-3 pending again") }
            let blocked = EndpointRegistry.BlockedTransport.allCases.filter { lab.registry.isBlocked($0) }
            for transport in blocked { lab.registry.setBlocked(transport, false) }
            if !blocked.isEmpty { changed.append("unblocked") }
            if let start = labStart,
                lab.context.broadcastMode != start.mode || lab.context.slowReaders != start.slowReaders
                    || lab.context.outboundBudget.limit != start.budget || lab.context.messageRate != start.rate {
                lab.context.broadcastMode = start.mode
                lab.context.slowReaders = start.slowReaders
                lab.context.outboundBudget.limit = start.budget
                lab.context.messageRate = start.rate
                changed.append("broadcast and rate as the lab started")
            }
        }
        if !changed.isEmpty { console.line(style.dim("(a clean start: " + changed.joined(separator: " · ") + ")")) }
    }

    /// `next` / `back`
    func moveStep(by offset: Int) throws {
        if lessonPosition == nil, offset < 0, let lesson = finishedLesson {
            // From a lesson's summary, back returns to its last step.
            finishedLesson = nil
            lessonPosition = LessonPosition(lesson: lesson, step: lesson.steps.count - 1, mark: settings.observations.mark)
            showStep()
            return
        }
        guard var position = lessonPosition else { throw UsageError("no lesson is running; lessons lists them, lesson 1 starts the first") }
        let target = position.step + offset
        let passed = loadProgress().lessons[position.lesson.id, default: .init()].passed.contains(position.step)
        if target >= position.lesson.steps.count {
            // Finishing ends the lesson (hint and back go with it): a step not passed gets a word first.
            guard passed || position.warnedBeforeFinishing else {
                lessonPosition?.warnedBeforeFinishing = true
                console.line(style.dim("(step \(position.step + 1) is not passed yet; check says what is missing. next again finishes the lesson anyway.)"))
                return
            }
            finishLesson(position)
            return
        }
        guard target >= 0 else { throw UsageError("this is the first step") }
        if offset > 0, !passed {
            console.line(style.dim("(step \(position.step + 1) is not checked yet; check says what is missing. Moving on anyway.)"))
        }
        position.step = target
        position.mark = settings.observations.mark
        position.warnedBeforeFinishing = false
        pendingPrediction = nil
        lessonPosition = position
        var progress = loadProgress()
        progress.lessons[position.lesson.id, default: .init()].step = target
        saveProgress(progress)
        showStep()
    }

    /// `hint`
    func showHint() throws {
        guard let position = lessonPosition else { throw UsageError("no lesson is running") }
        let step = position.lesson.steps[position.step]
        console.lines(wrapped(["hint: " + step.hint]))
        if !step.solution.isEmpty {
            console.line("one way to do it:")
            console.lines(step.solution.map { "    " + $0 })
        }
    }

    /// The current step's checks against what happened since it began.
    func stepStatus() -> StepStatus? {
        guard let position = lessonPosition else { return nil }
        settlePrediction()
        let step = position.lesson.steps[position.step]
        return StepStatus(unmet: settings.observations.unmet(step.allChecks, since: position.mark))
    }

    /// The current step's lines to type: its commands, else its solution (for `lessons --check`).
    func stepCommands() -> [String] {
        guard let position = lessonPosition else { return [] }
        let step = position.lesson.steps[position.step]
        return step.commands + step.solution
    }

    /// What the current step's question's answer is in this session, if it asks one and the
    /// session has done what it is about (for `lessons --check`, which answers from the session).
    func expectedAnswer() -> String? {
        guard let position = lessonPosition, let exercise = position.lesson.steps[position.step].exercise else { return nil }
        return exercise.expected(in: settings.observations.observations, stepStart: position.mark)?.answer
    }

    /// `answer VALUE`: the step's question, judged from this session.
    func answer(_ text: String) throws {
        guard let position = lessonPosition else { throw UsageError("no lesson is running; answer replies to a lesson step's question") }
        guard let exercise = position.lesson.steps[position.step].exercise else {
            throw UsageError("this step asks no question; check says whether it is done")
        }
        let value = text.trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else { throw UsageError("answer needs a value", usage: CommandHelp.named("answer")!.usage) }
        if exercise.isPrediction {
            // Judged against what happens next, not against a run the learner has already seen.
            pendingPrediction = (value, settings.observations.mark)
            console.lines(wrapped(["noted: you predict \(value) · now do it (the step's commands), then check"]))
            return
        }
        switch exercise.judge(value, in: settings.observations.observations, stepStart: position.mark) {
        case .correct(let working):
            settings.record(Observation(.answered, ["exercise": exercise.rawValue]))
            console.lines(wrapped([style.green("right") + " · " + working]))
        case .wrong(let explanation):
            console.lines(wrapped([style.yellow("not quite") + " · " + explanation]))
        case .notYet(let first):
            console.lines(wrapped(["nothing to answer about yet: " + first]))
        }
    }

    /// `explain [TERM]`: the glossary.
    func explain(_ text: String) throws {
        let word = text.trimmingCharacters(in: .whitespaces)
        guard !word.isEmpty else {
            console.lines(wrapped(["terms: " + Glossary.entries.map(\.term).joined(separator: ", ") + " · explain TERM says what one means"]))
            return
        }
        guard let entry = Glossary.lookup(word) else {
            throw UsageError("no entry for \(word); the terms are: \(Glossary.entries.map(\.term).joined(separator: ", "))")
        }
        console.lines(wrapped([style.bold(entry.term) + " · " + entry.text]))
    }

    /// Judges a prediction once what it predicted has happened: right, it counts as answered;
    /// wrong, it is explained and forgotten (predict again before the next try).
    func settlePrediction() {
        guard let pending = pendingPrediction, let position = lessonPosition, let exercise = position.lesson.steps[position.step].exercise,
            exercise.isPrediction else { return }
        let log = settings.observations.observations
        guard exercise.expected(in: log, stepStart: pending.mark) != nil else { return }
        pendingPrediction = nil
        switch exercise.judge(pending.value, in: log, stepStart: pending.mark) {
        case .correct(let working):
            settings.record(Observation(.answered, ["exercise": exercise.rawValue]))
            console.lines(wrapped([style.green("your prediction was right") + " · " + working]))
        case .wrong(let explanation):
            console.lines(wrapped([style.yellow("your prediction was off") + " · " + explanation + " · answer again, then run it again"]))
        case .notYet: break
        }
    }

    /// `check`: what the step asks for that has not happened on the wire yet, and the nearest miss.
    func checkStep() throws {
        guard let position = lessonPosition, let status = stepStatus() else { throw UsageError("no lesson is running; lessons lists them") }
        guard status.passed else {
            let seen = settings.observations.since(position.mark)
            console.line(style.yellow("not yet") + " · still to happen since this step began:")
            for check in status.unmet {
                // Indented under the list, so wrapped to the width less the indent.
                console.lines(wrapWords("- `\(check)`: \(check.spoken)", width: settings.columns - 2, indent: "  ").map { "  " + $0 })
                if check.kind == .answered, let pending = pendingPrediction {
                    // A prediction is judged by the run that follows it, never by one already on screen.
                    console.lines(wrapWords("your prediction \(pending.value) is noted: run the step's commands (after the answer) to have it judged", width: settings.columns - 4, indent: "").map { "    " + style.dim($0) })
                } else if check.kind == .answered {
                    console.line("    " + style.dim("type answer and your value"))
                } else {
                    console.lines(wrapWords(check.shortfall(in: seen), width: settings.columns - 4, indent: "").map { "    " + style.dim($0) })
                }
            }
            console.line(style.dim("hint shows a way to get there"))
            return
        }
        var progress = loadProgress()
        progress.lessons[position.lesson.id, default: .init()].passed.insert(position.step)
        saveProgress(progress)
        let last = position.step == position.lesson.steps.count - 1
        console.line(style.green("✓ step \(position.step + 1) passed") + (last ? " · next finishes the lesson" : " · next goes on"))
    }

    private func showStep() {
        guard let position = lessonPosition else { return }
        let step = position.lesson.steps[position.step]
        console.line("")
        console.line(style.bold("Step \(position.step + 1)/\(position.lesson.steps.count) · \(step.title)"))
        console.lines(wrapped(step.body))
        console.line(style.dim("check when done · hint if stuck · next, back"))
    }

    private func finishLesson(_ position: LessonPosition) {
        let passed = loadProgress().lessons[position.lesson.id]?.passed.count ?? 0
        console.line("")
        console.line(style.bold("Summary · \(position.lesson.title)"))
        console.lines(wrapped(position.lesson.summary))
        console.line("\(passed) of \(position.lesson.steps.count) steps passed" + (passed < position.lesson.steps.count ? " (back returns to the last step; lesson \(position.lesson.number ?? 0) later takes you to the first one not passed)" : ""))
        if let next = catalog().lessons.first(where: { ($0.number ?? 0) > (position.lesson.number ?? 0) }) {
            console.line("next lesson: lesson \(next.number ?? 0) · \(next.title)")
        }
        lessonPosition = nil
        finishedLesson = position.lesson
    }

    /// Prose wraps to the terminal: a paragraph's lines (or a "- " item's) are joined, then cut
    /// at the width. Code blocks keep their layout, indented, without their fences.
    private func wrapped(_ lines: [String]) -> [String] {
        var out: [String] = []
        var paragraph: [String] = []
        var bullet = false
        func flush() {
            guard !paragraph.isEmpty else { return }
            out += wrapWords(paragraph.joined(separator: " "), width: settings.columns, indent: bullet ? "  " : "")
            paragraph = []
        }
        var inBlock = false
        for line in lines {
            if line.hasPrefix("```") {
                flush()
                inBlock.toggle()
                continue
            }
            if inBlock {
                out.append("    " + line)
            } else if line.trimmingCharacters(in: .whitespaces).isEmpty {
                flush()
                out.append("")
            } else if line.hasPrefix("- ") {
                flush()
                bullet = true
                paragraph = [line]
            } else {
                if paragraph.isEmpty { bullet = false }
                paragraph.append(line.trimmingCharacters(in: .whitespaces))
            }
        }
        flush()
        return out
    }
}
