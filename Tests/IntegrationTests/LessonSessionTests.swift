import Foundation
import Testing
import WireProtocol

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
        #expect(second.stdout.contains("1/5 steps"), "\(second.stdout)")
        #expect(second.stdout.contains("back where you were: step 2"))
        #expect(second.stdout.contains("not yet"))
        #expect(second.stdout.contains("`opened client=c1 path=/ws/echo`: a WebSocket handshake completes"))

        try Data("garbage".utf8).write(to: URL(fileURLWithPath: state + "/wirelab/progress.json"))
        let third = try ChildProcess(Paths.wirelab, ["--port", "0"], environment: environment)
        third.send("lessons\nquit\n")
        #expect(await third.waitForExit() == 0)
        #expect(third.stdout.contains("could not be read; it was moved to"), "\(third.stdout)")
        #expect(third.stdout.contains("0/5 steps"))
        #expect(FileManager.default.fileExists(atPath: state + "/wirelab/progress.json.corrupt"))
    }

    @Test func aCheckLooksAtTheWireNotAtWhatWasTyped() async throws {
        // Talking to yourself in the chat is not bob hearing ann; check names the nearest miss.
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"], environment: ["XDG_STATE_HOME": FileManager.default.temporaryDirectory.path + "/wirelab-self-\(UUID().uuidString)"])
        repl.send(["lesson 5", "open /ws/chat/ann as ann", "ann: {\"text\":\"me\"}", "check", "open /ws/chat/bob as bob", "ann: {\"text\":\"hi bob\"}", "check", "quit"].joined(separator: "\n") + "\n")
        #expect(await repl.waitForExit() == 0)
        let output = repl.stdout
        #expect(output.contains("not yet"), "\(output)")
        #expect(output.contains("`received client=bob type=message from=ann text=\"hi bob\"`"))
        #expect(output.contains("nearest: received client=ann opcode=text fin=1 length="), "the miss: ann heard herself")
        #expect(output.contains("client was ann,"))
        #expect(output.contains("✓ step 1 passed"))
    }

    @Test func anAnswerIsJudgedFromTheSessionAndAWrongOneExplained() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"], environment: ["XDG_STATE_HOME": FileManager.default.temporaryDirectory.path + "/wirelab-answer-\(UUID().uuidString)"])
        let key = "AAECAwQFBgcICQoLDA0ODw=="
        repl.send([
            "lesson 2", "next", "answer abc", "view quiet", "open /ws/echo --key \(key) as mine", "check", "answer \(key)",
            "answer \(Handshake.acceptValue(forKey: key))", "check", "quit",
        ].joined(separator: "\n") + "\n")
        #expect(await repl.waitForExit() == 0)
        let output = repl.stdout
        #expect(output.contains("nothing to answer about yet: open a client with a key of your own first"), "\(output)")
        #expect(output.contains("`answered exercise=accept`"))
        #expect(output.contains("not quite · not \(key) (that is a key, not an accept value"))
        #expect(output.contains("right · \(Handshake.acceptValue(forKey: key))"))
        #expect(output.contains("✓ step 2 passed"))
        #expect(!output.contains("Sec-WebSocket-Accept: \(Handshake.acceptValue(forKey: key))"), "view quiet does not give the answer away")
    }

    @Test func aLessonStartsFromACleanSlate() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"], environment: ["XDG_STATE_HOME": FileManager.default.temporaryDirectory.path + "/wirelab-slate-\(UUID().uuidString)"])
        repl.send(["view quiet", "open /ws/echo", "disable chat", "login alice", "lesson 3", "clients", "endpoints", "quit"].joined(separator: "\n") + "\n")
        #expect(await repl.waitForExit() == 0)
        let output = repl.stdout
        #expect(output.contains("(a clean start: closed c1, http · view frames (every header explained) · logged out · chat on again)"), "\(output)")
        #expect(!output.contains("chat          off"))
    }

    @Test func lessonsCheckFailsAStepThatDoesNotPassAfterItsOwnCommands() async throws {
        // Lesson 2's old refused-upgrade step: /ws/nowhere matches /ws/{client_id} and is upgraded.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wirelab-lessons-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/transcripts", withIntermediateDirectories: true)
        try Data("".utf8).write(to: URL(fileURLWithPath: directory + "/transcripts/lesson-01-refused.md"))
        let lesson = """
            # Refused
            A step that cannot pass.

            ## A refused upgrade
            ```wirelab
            open /ws/nowhere
            ```
            Check: `refused status=404`
            Hint: open /ws/nowhere

            ## Summary
            - none
            """
        try Data(lesson.utf8).write(to: URL(fileURLWithPath: directory + "/01-refused.md"))
        let run = try ChildProcess(Paths.wirelab, ["lessons", "--check", "--directory", directory, "--transcripts", directory + "/transcripts"])
        #expect(await run.waitForExit() == 1)
        #expect(run.stdout.contains("01-refused.md: step 1 \"A refused upgrade\" does not pass after its own commands:"), "\(run.stdout)")
        #expect(run.stdout.contains("  - refused status=404"))
        #expect(run.stdout.contains("0 lessons pass, 1 fail"))
    }

    @Test func lessonCommandsOutsideALessonSayWhatToDo() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"], environment: ["XDG_STATE_HOME": FileManager.default.temporaryDirectory.path + "/wirelab-none-\(UUID().uuidString)"])
        repl.send(["next", "check", "hint", "lesson 99", "lesson", "quit"].joined(separator: "\n") + "\n")
        #expect(await repl.waitForExit() == 0)
        #expect(repl.stdout.contains("no lesson is running"))
        #expect(repl.stdout.contains("no lesson 99; lessons lists them"))
        #expect(repl.stdout.contains("lesson takes a number or a name"))
    }

    /// Lessons 8 and 9 both ship order 1; the second got 409 until a lesson's clean start put
    /// the shop back as the lab opened it.
    @Test func aLessonStartsWithTheOrdersAsTheLabOpened() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"], environment: ["XDG_STATE_HOME": FileManager.default.temporaryDirectory.path + "/wirelab-orders-\(UUID().uuidString)"])
        let ship = ["login admin", "http POST /orders/1/ship"]
        repl.send((["lesson 8"] + ship + ["lesson 9"] + ship + ["quit"]).joined(separator: "\n") + "\n")
        #expect(await repl.waitForExit() == 0)
        #expect(repl.stdout.contains("orders 1-3 pending again"))
        #expect(!repl.stdout.contains("409 Conflict"), "\(repl.stdout)")
    }

    /// A newcomer typed next on a last step that had not passed and found the lesson over, with
    /// back and hint gone: now next warns once, and back from the summary returns to that step.
    @Test func nextOnALastStepNotPassedWarnsAndBackFromTheSummaryReturns() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"], environment: ["XDG_STATE_HOME": FileManager.default.temporaryDirectory.path + "/wirelab-back-\(UUID().uuidString)"])
        repl.send((["lesson 2"] + Array(repeating: "next", count: 2) + ["next", "next", "back", "quit"]).joined(separator: "\n") + "\n")
        #expect(await repl.waitForExit() == 0)
        let out = repl.stdout
        let warning = try #require(out.range(of: "step 3 is not passed yet"))
        let summary = try #require(out.range(of: "Summary · The handshake"))
        #expect(warning.lowerBound < summary.lowerBound)
        #expect(out[summary.upperBound...].contains("Step 3/3"))
        #expect(!out.contains("no lesson is running"))
    }
}
