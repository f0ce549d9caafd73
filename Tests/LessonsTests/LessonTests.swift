import Foundation
import Lessons
import Testing
import WireProtocol

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
        Check: `opened client=c1 path=/ws/echo`
        Hint: type open /ws/echo

        ## Second step
        Then this, on your own.
        ```wirelab solution
        send hello
        ```
        Exercise: frame-cost
        Check: `sent opcode=text`, `received text="Echo: hello"`
        Check: `not closed`
        Hint: send hello

        ## Summary
        - learned
        """

    @Test("a good file: title, introduction, steps with checks, hints, commands, solutions and exercises, summary")
    func parsesAGoodFile() throws {
        let (lesson, problems) = Lesson.parse(id: "07-sample", text: Self.good)
        #expect(problems.isEmpty, "\(problems)")
        let parsed = try #require(lesson)
        #expect(parsed.title == "A title" && parsed.number == 7)
        #expect(parsed.introduction == ["What this is about."])
        #expect(parsed.steps.map(\.title) == ["First step", "Second step"])
        #expect(parsed.steps[0].commands == ["open /ws/echo"])
        #expect(parsed.steps[0].checks.map(\.description) == ["opened client=c1 path=/ws/echo"])
        #expect(parsed.steps[1].checks.map(\.description) == ["sent opcode=text", "received text=\"Echo: hello\"", "not closed"])
        #expect(parsed.steps[1].allChecks.last?.description == "answered exercise=frame-cost")
        #expect(parsed.steps[1].exercise == .frameCost)
        #expect(parsed.steps[1].solution == ["send hello"])
        #expect(parsed.steps[1].commands.isEmpty)
        #expect(!parsed.steps[1].body.contains { $0.contains("send hello") || $0.hasPrefix("```") }, "a solution is not shown with the text")
        #expect(parsed.steps[1].hint == "send hello")
        #expect(!parsed.steps[0].body.contains { $0.hasPrefix("Check:") || $0.hasPrefix("Hint:") })
        #expect(parsed.summary == ["- learned"])
    }

    @Test("every problem is named, with its line: unknown checks, parameters, conditions and exercises are rejected")
    func problems() {
        let bad = """
            # Broken

            ## No check here
            Text.
            Hint: something

            ## Unknown check
            Check: `ws.teleported`
            Check: `refused stauts=404`
            Check: `closed code>=loud`
            Check: `received client`
            Check: `sent count=0`
            Check: refused status=404
            Exercise: telepathy

            ## Only a negative
            Check: `not closed`
            Hint: h
            """
        let (_, problems) = Lesson.parse(id: "09-broken", text: bad)
        let messages = problems.map(\.description)
        #expect(messages.contains { $0.contains("09-broken.md:3") && $0.contains("has no Check: line") }, "\(messages)")
        #expect(messages.contains { $0.contains("09-broken.md:8") && $0.contains("no check named ws.teleported") })
        #expect(messages.contains { $0.contains("09-broken.md:9") && $0.contains("refused has no parameter stauts; it has: client, path, status, count") })
        #expect(messages.contains { $0.contains("09-broken.md:10") && $0.contains("compares numbers") })
        #expect(messages.contains { $0.contains("09-broken.md:11") && $0.contains("is not a condition") })
        #expect(messages.contains { $0.contains("09-broken.md:12") && $0.contains("count takes a whole number of at least 1") })
        #expect(messages.contains { $0.contains("09-broken.md:13") && $0.contains("in backticks") })
        #expect(messages.contains { $0.contains("09-broken.md:14") && $0.contains("no exercise named telepathy") })
        #expect(messages.contains { $0.contains("\"Unknown check\" has no Hint: line") })
        #expect(messages.contains { $0.contains("\"Only a negative\" has no Check: line") })
        #expect(messages.contains { $0.contains("ends with a \"## Summary\"") })
        #expect(Lesson.parse(id: "x", text: "no title").1.first?.message.contains("starts with its title") == true)
    }

    @Test("a check counts only what happened since the step began")
    func observationsSinceAMark() throws {
        var log = ObservationLog()
        log.record(Observation(.opened, ["client": "c1"]))
        let mark = log.mark
        log.record(Observation(.sent, ["client": "c1", "opcode": "text"]))
        let opened = try Check.parse("opened")
        let sent = try Check.parse("sent opcode=text")
        #expect(log.unmet([opened, sent], since: mark) == [opened])
        #expect(log.unmet([sent], since: mark).isEmpty)
        #expect(log.unmet([opened], since: 0).isEmpty)
    }

    /// Each kind of check, passing on what it names and failing on a near miss: the same event
    /// with one specific wrong.
    @Test("each check fails on a near miss", arguments: [
        ("refused status=404", Observation(.refused, ["client": "c2", "status": "404", "path": "/ws/x"]), Observation(.refused, ["client": "c2", "status": "403"])),
        ("refused status=404", Observation(.refused, ["status": "404"]), Observation(.opened, ["client": "c2", "path": "/ws/nowhere"])),
        ("opened key=dGhlIHNhbXBsZSBub25jZQ==", Observation(.opened, ["key": "dGhlIHNhbXBsZSBub25jZQ=="]), Observation(.opened, ["key": "wWdeC7mApXWolmH+wIqoOw=="])),
        ("closed code=1009 by=server", Observation(.closed, ["code": "1009", "by": "server"]), Observation(.closed, ["code": "1009", "by": "client"])),
        ("closed code=1009 by=server", Observation(.closed, ["code": "1009", "by": "server"]), Observation(.closed, ["code": "1002", "by": "server"])),
        ("received client=bob type=message from=alice", Observation(.received, ["client": "bob", "type": "message", "from": "alice"]),
         Observation(.received, ["client": "alice", "type": "message", "from": "alice"])),
        ("received client=bob type=message from=alice", Observation(.received, ["client": "bob", "type": "message", "from": "alice"]),
         Observation(.received, ["client": "bob", "type": "user_joined", "from": "alice"])),
        ("received opcode=binary", Observation(.received, ["opcode": "binary"]), Observation(.sent, ["opcode": "binary"])),
        ("received type=message chars=500", Observation(.received, ["type": "message", "chars": "500"]), Observation(.received, ["type": "message", "chars": "600"])),
        ("received type=message chars<=500", Observation(.received, ["type": "message", "chars": "500"]), Observation(.received, ["type": "message", "chars": "501"])),
        ("sent form>=16", Observation(.sent, ["form": "64"]), Observation(.sent, ["form": "7"])),
        ("received text~r1", Observation(.received, ["text": "only for r1"]), Observation(.received, ["text": "only for r2"])),
        ("http method=POST path=/http/echo status=200", Observation(.http, ["method": "POST", "path": "/http/echo", "status": "200"]),
         Observation(.http, ["method": "GET", "path": "/http/echo", "status": "200"])),
        ("stream status=200 content-type=text/event-stream", Observation(.stream, ["status": "200", "content-type": "text/event-stream"]),
         Observation(.stream, ["status": "200", "content-type": "application/json"])),
        ("event client=feed type=notification", Observation(.event, ["client": "feed", "type": "notification"]), Observation(.event, ["client": "late", "type": "notification"])),
        ("resumed last-event-id=1", Observation(.resumed, ["last-event-id": "1"]), Observation(.resumed, ["last-event-id": "0"])),
        ("reconnecting client=ann attempt=3", Observation(.reconnecting, ["client": "ann", "attempt": "3"]), Observation(.reconnecting, ["client": "ann", "attempt": "2"])),
        ("reconnected client=ann", Observation(.reconnected, ["client": "ann"]), Observation(.reconnected, ["client": "bo"])),
        ("flushed messages=1", Observation(.flushed, ["messages": "1"]), Observation(.flushed, ["messages": "2"])),
        ("heartbeat-dropped client=hb", Observation(.heartbeatDropped, ["client": "hb"]), Observation(.heartbeatDropped, ["client": "c1"])),
        ("watch-shown watch=w2", Observation(.watchShown, ["watch": "w2"]), Observation(.watchShown, ["watch": "w1"])),
        ("compared client=c1", Observation(.compared, ["client": "c1"]), Observation(.compared, ["client": "c2"])),
        ("compare-run scenario=chat", Observation(.compareRun, ["scenario": "chat"]), Observation(.compareRun, ["scenario": "echo"])),
        ("proxy-held client=late", Observation(.proxyHeld, ["client": "late"]), Observation(.proxyHeld, ["client": "feed"])),
        ("answered exercise=accept", Observation(.answered, ["exercise": "accept"]), Observation(.answered, ["exercise": "unmask"])),
    ])
    func nearMiss(check text: String, hit: Observation, miss: Observation) throws {
        let check = try Check.parse(text)
        #expect(check.holds(for: [hit]))
        #expect(!check.holds(for: [miss]), "\(text) should not hold for \(miss)")
        #expect(!check.shortfall(in: [miss]).isEmpty)
    }

    @Test("count asks for at least N; not asks for none; the shortfall names the nearest miss")
    func countsNegationAndShortfall() throws {
        let three = try Check.parse("received client=dan type=message count=3")
        let message = Observation(.received, ["client": "dan", "type": "message"])
        #expect(!three.holds(for: [message, message]))
        #expect(three.holds(for: [message, message, message]))
        #expect(three.shortfall(in: [message, message]) == "happened 2 of the 3 times asked")

        let isolated = try Check.parse("not received client=ann from=cy")
        #expect(isolated.holds(for: [Observation(.received, ["client": "di", "from": "cy"])]))
        #expect(!isolated.holds(for: [Observation(.received, ["client": "ann", "from": "cy"])]))

        let refused = try Check.parse("refused status=404")
        let shortfall = refused.shortfall(in: [Observation(.refused, ["client": "c2", "path": "/ws/x", "status": "403"])])
        #expect(shortfall == "nearest: refused client=c2 path=/ws/x status=403 · status was 403, wanted status is 404")
        #expect(refused.shortfall(in: []).hasPrefix("nothing of the kind yet"))
        // Nearest is the one that misses fewest conditions, not the latest: c4's 1007 is one name off, c5's 1011 two things.
        let closed = try Check.parse("closed client=garbled code=1007 by=server")
        let c4 = Observation(.closed, ["client": "c4", "code": "1007", "by": "server"])
        let c5 = Observation(.closed, ["client": "c5", "code": "1011", "by": "server"])
        #expect(closed.shortfall(in: [c4, c5]) == "nearest: \(c4) · client was c4, wanted client is garbled")
        #expect(try Check.parse("received text=\"hi bob\"").holds(for: [Observation(.received, ["text": "hi bob"])]))
    }

    @Test("a JSON message's fields: scalars, chars of its text, the size of its online list")
    func messageFields() {
        let fields = Observation.messageFields(#"{"type":"system","text":"ben left","online":["ann","cy"],"n":2,"ok":true,"x":null}"#)
        #expect(fields == ["type": "system", "text": "ben left", "chars": "8", "online": "2", "n": "2", "ok": "true"])
        #expect(Observation.messageFields("Echo: hi").isEmpty)
    }

    @Test("exercises are judged from the session, and a wrong answer is explained")
    func exercises() {
        let key = "AAECAwQFBgcICQoLDA0ODw=="
        var log = [Observation(.opened, ["client": "c1", "key": Handshake.sampleKey])]
        #expect(Exercise.accept.judge("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", in: log, stepStart: 0) == .notYet(Exercise.accept.prerequisite), "the RFC's key is not the learner's")
        log.append(Observation(.opened, ["client": "mine", "key": key]))
        let right = Handshake.acceptValue(forKey: key)
        guard case .correct = Exercise.accept.judge(right, in: log, stepStart: 0) else { Issue.record("the right accept value"); return }
        guard case .wrong(let why) = Exercise.accept.judge(key, in: log, stepStart: 0) else { Issue.record("the key itself is wrong"); return }
        #expect(why.contains("that is a key, not an accept value"))
        #expect(Exercise.accept.judge(right, in: log, stepStart: 2) == .notYet(Exercise.accept.prerequisite), "only a key chosen in this step")

        // "hi" masked with b7 fd 0b 63 is df 94: df XOR b7 = 68.
        let frame = Observation(.sent, ["client": "c1", "opcode": "text", "mask": "b7fd0b63", "masked": "df94", "length": "2", "wire": "8"])
        guard case .correct = Exercise.unmask.judge("0x68", in: [frame], stepStart: 0) else { Issue.record("68 unmasks"); return }
        guard case .wrong(let unmaskWhy) = Exercise.unmask.judge("df", in: [frame], stepStart: 0) else { Issue.record("df is the masked byte"); return }
        #expect(unmaskWhy.contains("XOR"))
        guard case .correct = Exercise.frameCost.judge("24", in: [frame], stepStart: 0) else { Issue.record("3 × 8"); return }
        #expect(Exercise.frameCost.judge("21", in: [frame], stepStart: 0) != .correct(""))

        // The guide's first chat: dan joins after cy (told nothing), then cy leaves.
        let chat = [
            Observation(.opened, ["client": "cy", "path": "/ws/chat/cy"]),
            Observation(.opened, ["client": "dan", "path": "/ws/chat/dan"]),
            Observation(.received, ["client": "cy", "type": "user_joined", "online_count": "2"]),
            Observation(.received, ["client": "dan", "type": "user_left", "client_id": "cy"]),
        ]
        #expect(Exercise.onlineCount.expected(in: chat, stepStart: 0)?.answer == "-1")
        guard case .wrong = Exercise.onlineCount.judge("1", in: chat, stepStart: 0) else { Issue.record("the real count is not the page's"); return }

        // A prediction counts only a run after it: stepStart is where the answer was given.
        let runs = [
            Observation(.compareRun, ["scenario": "chat", "requests.short_polling": "11", "duration": "10 s", "interval": "1 s"]),
            Observation(.answered, ["exercise": "nothing"]),
        ]
        #expect(Exercise.shortPolls.isPrediction)
        #expect(Exercise.shortPolls.judge("11", in: runs, stepStart: 1) == .notYet(Exercise.shortPolls.prerequisite), "a run already seen does not count")
        guard case .correct = Exercise.shortPolls.judge("11 requests", in: runs, stepStart: 0) else { Issue.record("11 requests"); return }
        guard case .wrong = Exercise.shortPolls.judge("10", in: runs, stepStart: 0) else { Issue.record("10 misses the first poll"); return }

        // The token from a login, its claims {"exp":1767229200,"sub":"alice"} in base64url.
        let claims = Data(#"{"exp":1767229200,"sub":"alice"}"#.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
        let login = [Observation(.received, ["client": "http", "access_token": "eyJhbGciOiJIUzI1NiJ9.\(claims).c2ln", "expires_in": "3600"])]
        #expect(Exercise.tokenExpiry.expected(in: login, stepStart: 1)?.answer == "1767229200", "a login of an earlier step counts")
        guard case .wrong(let expiresIn) = Exercise.tokenExpiry.judge("3600", in: login, stepStart: 0) else { Issue.record("3600 is expires_in"); return }
        #expect(expiresIn.contains("that is expires_in"))

        let events = [Observation(.event, ["client": "feed", "id": "1"]), Observation(.event, ["client": "feed", "id": "2"])]
        #expect(Exercise.lastEventID.expected(in: events, stepStart: 2)?.answer == "2", "events of earlier steps count")
    }

    @Test("lessons/README.md documents every kind of check and every exercise")
    func readmeDocumentsTheLanguage() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("lessons/README.md"), encoding: .utf8)
        for kind in Observation.Kind.allCases { #expect(readme.contains("`\(kind.rawValue)`"), "\(kind.rawValue)") }
        for exercise in Exercise.allCases { #expect(readme.contains("`\(exercise.rawValue)`"), "\(exercise.rawValue)") }
    }

    @Test("the jargon the lessons use is explained, by its name or another spelling")
    func glossary() {
        for word in ["tap", "twin", "RSV", "rsv1", "opcode", "jitter", "event loop", "EventSource", "p50", "p95", "JWT", "1006"] {
            #expect(Glossary.lookup(word) != nil, "\(word)")
        }
        #expect(Glossary.lookup("JWT")?.text.contains("signed, not encrypted") == true)
        #expect(Glossary.lookup("teleport") == nil)
        #expect(Set(Glossary.entries.map { $0.term.lowercased() }).count == Glossary.entries.count)
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
        let problems = catalog.validate(knownCommands: Set(catalog.lessons.flatMap { $0.steps.flatMap { $0.commands + $0.solution } }.map { String($0.prefix { $0 != " " }) }), transcripts: root.appendingPathComponent("transcripts").path)
        #expect(problems.isEmpty, "\(problems)")
    }
}
