import Testing

@testable import WirelabREPL

@Suite("Tab completion and help topics")
struct CompletionTests {
    let index = CompletionIndex(clients: ["c1", "feed"], paths: ["/ws/echo", "/ws/chat/", "/events"])

    @Test("the first word completes to commands and NAME: sends")
    func commands() {
        let words = index.candidates(for: "op")
        #expect(words.contains("open"))
        #expect(words.contains("feed:"))
        #expect(!words.contains("/ws/echo"))
    }

    @Test("options and keywords come from the command's usage line, not placeholders")
    func options() {
        #expect(index.candidates(for: "send --").contains("--fill"))
        #expect(index.candidates(for: "open --").contains("--reconnect"))
        #expect(!index.candidates(for: "open --").contains("PATH"))
        let keywords = index.candidates(for: "view ")
        #expect(["quiet", "frames", "bytes", "compare"].allSatisfy(keywords.contains))
        #expect(!keywords.contains(where: { $0.first?.isUppercase == true }))
    }

    @Test("paths after open and http, clients after use")
    func pathsAndClients() {
        #expect(index.candidates(for: "open /ws/").contains("/ws/chat/"))
        #expect(index.candidates(for: "open sse ").contains("/events"))
        #expect(index.candidates(for: "use ").contains("feed"))
        #expect(index.candidates(for: "help c").contains("compare"))
    }

    @Test("help lists every command under exactly one topic")
    func topics() {
        let listed = CommandHelp.topics.flatMap(\.commands)
        #expect(listed.count == Set(listed).count, "a command in two topics")
        #expect(Set(listed) == Set(CommandHelp.all.map(\.name)), "missing: \(Set(CommandHelp.all.map(\.name)).subtracting(listed)), unknown: \(Set(listed).subtracting(CommandHelp.all.map(\.name)))")
    }

    @Test("a line longer than the editor takes gets a message that says what happened")
    func tooLong() {
        let message = TerminalUI.tooLongMessage(characters: 1_048_576)
        #expect(message.contains("1,048,576"))
        #expect(message.contains("not run"))
    }
}

@Suite("notes on a request head")
struct HeadNoteTests {
    @Test("only a GET that carries Upgrade is said to ask to switch protocols")
    func plainGet() {
        #expect(WireRenderer.note(forHeadLine: "GET /orders HTTP/1.1", upgrade: false).isEmpty)
        #expect(WireRenderer.note(forHeadLine: "GET /ws/echo HTTP/1.1", upgrade: true).contains("switch protocols"))
    }
}
