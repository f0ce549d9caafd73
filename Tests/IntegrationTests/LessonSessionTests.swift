import Foundation
import Testing

/// Lessons in a real REPL: progress is saved in the state directory and survives a restart; a
/// corrupt progress file is reported and set aside.
@Suite struct LessonSessionTests {
    @Test func progressSurvivesARestartAndACorruptFileIsSetAside() async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("wirelab-state-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let environment = ["XDG_STATE_HOME": state]

        let first = try ChildProcess(Paths.wirelab, ["--port", "0"], environment: environment)
        first.send(["lesson 1", "http POST /http/echo hi", "check", "next", "quit"].joined(separator: "\n") + "\n")
        #expect(await first.waitForExit() == 0)
        #expect(first.stdout.contains("✓ step 1 passed"), "\(first.stdout)")
        #expect(FileManager.default.fileExists(atPath: state + "/wirelab/progress.json"))

        let second = try ChildProcess(Paths.wirelab, ["--port", "0"], environment: environment)
        second.send(["lessons", "lesson 1", "check", "quit"].joined(separator: "\n") + "\n")
        #expect(await second.waitForExit() == 0)
        #expect(second.stdout.contains("1/4 steps"), "\(second.stdout)")
        #expect(second.stdout.contains("back where you were: step 2"))
        #expect(second.stdout.contains("not yet"))
        #expect(second.stdout.contains("a client completes a WebSocket handshake"))

        try Data("garbage".utf8).write(to: URL(fileURLWithPath: state + "/wirelab/progress.json"))
        let third = try ChildProcess(Paths.wirelab, ["--port", "0"], environment: environment)
        third.send("lessons\nquit\n")
        #expect(await third.waitForExit() == 0)
        #expect(third.stdout.contains("could not be read; it was moved to"), "\(third.stdout)")
        #expect(third.stdout.contains("0/4 steps"))
        #expect(FileManager.default.fileExists(atPath: state + "/wirelab/progress.json.corrupt"))
    }

    @Test func aCheckLooksAtTheWireNotAtWhatWasTyped() async throws {
        // Talking to yourself in the chat is not "a message from another client".
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"], environment: ["XDG_STATE_HOME": FileManager.default.temporaryDirectory.path + "/wirelab-self-\(UUID().uuidString)"])
        repl.send(["lesson 5", "open /ws/chat/ann as ann", "ann: {\"text\":\"me\"}", "check", "open /ws/chat/bob as bob", "ann: {\"text\":\"you\"}", "check", "quit"].joined(separator: "\n") + "\n")
        #expect(await repl.waitForExit() == 0)
        let output = repl.stdout
        #expect(output.contains("not yet"), "\(output)")
        #expect(output.contains("a client receives a chat message sent by another client"))
        #expect(output.contains("✓ step 1 passed"))
    }

    @Test func lessonCommandsOutsideALessonSayWhatToDo() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"], environment: ["XDG_STATE_HOME": FileManager.default.temporaryDirectory.path + "/wirelab-none-\(UUID().uuidString)"])
        repl.send(["next", "check", "hint", "lesson 99", "lesson", "quit"].joined(separator: "\n") + "\n")
        #expect(await repl.waitForExit() == 0)
        #expect(repl.stdout.contains("no lesson is running"))
        #expect(repl.stdout.contains("no lesson 99; lessons lists them"))
        #expect(repl.stdout.contains("lesson takes a number or a name"))
    }
}
