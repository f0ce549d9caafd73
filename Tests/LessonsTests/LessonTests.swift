import Foundation
import Lessons
import Testing

@Suite("lesson files")
struct LessonTests {
    static let good = """
        # A title
        What this is about.

        ## First step
        Do this:
        ```wirelab
        open /ws/echo
        ```
        Check: `ws.open`
        Hint: type open /ws/echo

        ## Second step
        Then this.
        Check: `ws.sent.text`, `ws.received.text`
        Hint: send hello

        ## Summary
        - learned
        """

    @Test("a good file: title, introduction, steps with checks, hints and commands, summary")
    func parsesAGoodFile() throws {
        let (lesson, problems) = Lesson.parse(id: "07-sample", text: Self.good)
        #expect(problems.isEmpty, "\(problems)")
        let parsed = try #require(lesson)
        #expect(parsed.title == "A title" && parsed.number == 7)
        #expect(parsed.introduction == ["What this is about."])
        #expect(parsed.steps.map(\.title) == ["First step", "Second step"])
        #expect(parsed.steps[0].commands == ["open /ws/echo"])
        #expect(parsed.steps[0].checks == [.webSocketOpened])
        #expect(parsed.steps[1].checks == [.textSent, .textReceived])
        #expect(parsed.steps[1].hint == "send hello")
        #expect(!parsed.steps[0].body.contains { $0.hasPrefix("Check:") || $0.hasPrefix("Hint:") })
        #expect(parsed.summary == ["- learned"])
    }

    @Test("every problem is named, with its line")
    func problems() {
        let bad = """
            # Broken

            ## No check here
            Text.
            Hint: something

            ## Unknown check
            Check: `ws.teleported`
            """
        let (_, problems) = Lesson.parse(id: "09-broken", text: bad)
        let messages = problems.map(\.description)
        #expect(messages.contains { $0.contains("09-broken.md:3") && $0.contains("has no Check: line") }, "\(messages)")
        #expect(messages.contains { $0.contains("no check named ws.teleported") })
        #expect(messages.contains { $0.contains("\"Unknown check\" has no Hint: line") })
        #expect(messages.contains { $0.contains("ends with a \"## Summary\"") })
        #expect(Lesson.parse(id: "x", text: "no title").1.first?.message.contains("starts with its title") == true)
    }

    @Test("a check counts only what happened since the step began")
    func factsSinceAMark() {
        var log = FactLog()
        log.record(.webSocketOpened)
        let mark = log.mark
        log.record(.textSent)
        #expect(log.missing([.webSocketOpened, .textSent], since: mark) == [.webSocketOpened])
        #expect(log.missing([.textSent], since: mark).isEmpty)
    }

    @Test("a pushed message proves a fact by its type, in the guide's shapes")
    func factsFromMessageTypes() {
        #expect(Fact.received(type: "history") == .historyReceived)
        #expect(Fact.received(type: "typing") == .typingReceived)
        #expect(Fact.received(type: "user_left") == .leaveHeard)
        #expect(Fact.received(type: "left") == .leaveHeard)
        #expect(Fact.received(type: "system", text: "ben left") == .leaveHeard)
        #expect(Fact.received(type: "system", text: "ben joined") == nil)
        #expect(Fact.received(type: "notification") == .notificationReceived)
        #expect(Fact.received(type: "progress") == .jobProgress)
        #expect(Fact.received(type: nil, isPrediction: true) == .predictionReceived)
        #expect(Fact.received(type: nil) == nil)
        #expect(Fact.received(type: "message") == nil)
    }

    @Test("progress survives a restart; a corrupt file is set aside, not fatal")
    func progressStore() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wirelab-progress-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = ProgressStore(path: directory + "/progress.json")
        var progress = LessonProgress()
        progress.lessons["01-x", default: .init()].passed = [0, 1]
        progress.lessons["01-x", default: .init()].step = 2
        try store.save(progress)
        #expect(store.load().0 == progress)
        #expect(store.load().note == nil)

        try Data("{not json".utf8).write(to: URL(fileURLWithPath: store.path))
        let (fresh, note) = store.load()
        #expect(fresh == LessonProgress())
        #expect(note?.contains("moved to \(store.path).corrupt") == true)
        #expect(FileManager.default.fileExists(atPath: store.path + ".corrupt"))
    }

    @Test("the repository's lessons pass their own check")
    func theRepositorysLessons() {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let catalog = LessonCatalog.load(from: root.appendingPathComponent("lessons").path)
        #expect(catalog.lessons.count >= 2)
        // Commands are checked by `wirelab lessons --check` (it knows the REPL's); here, the rest.
        let problems = catalog.validate(knownCommands: Set(catalog.lessons.flatMap { $0.steps.flatMap(\.commands) }.map { String($0.prefix { $0 != " " }) }), transcripts: root.appendingPathComponent("transcripts").path)
        #expect(problems.isEmpty, "\(problems)")
    }
}
