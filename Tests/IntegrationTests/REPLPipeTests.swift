import Foundation
import Testing

/// The built `wirelab` binary, driven through a pipe as a script or a test would.
@Suite struct REPLPipeTests {
    @Test func aScriptedSessionShowsTheWire() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0", "--seed", "1"])
        repl.send("open /ws/echo --key dGhlIHNhbXBsZSBub25jZQ==\nsend hello\nclients\nquit\n")
        let status = await repl.waitForExit()
        let output = repl.stdout
        #expect(status == 0)
        #expect(output.contains("HTTP/1.1 101 Switching Protocols"))
        #expect(output.contains("server sent  s3pPLMBiTxaQ9kYGzzhZRbK+xOo=  ✓ match"))
        #expect(output.contains("payload                 \"Echo: hello\""))
        #expect(output.contains("up       188 B") == false)  // one text frame only: 161 + 6 + 5
        #expect(output.contains("up       172 B = handshake 161 + frame headers 6 + payload 5 · 1 frame"))
        #expect(!output.contains("\u{1B}["), "no colour codes when stdout is a pipe")
    }

    @Test func badInputNeverEndsTheSession() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"])
        let lines = [
            "sned hello", "send hello", "open", "open ws://", "open ftp://x", "open /ws/echo as 9x",
            "open /ws/echo --key", "close abc", "view loud", "use nobody", "help nothing", "wait forever",
            "\u{1}\u{7f}", "\"unclosed", String(repeating: "x", count: 20000), "open ws://127.0.0.1:1/ws/echo",
            "open /ws/echo", "send --binary 0g", "send --fill -1", "ping " + String(repeating: "p", count: 200),
            "close 1000 " + String(repeating: "r", count: 200), "enable nothing",
            "compare", "compare chatter", "compare chat --duration soon", "compare echo --url http://127.0.0.1:1",
            "compare echo --url ftp://x", "send --compare {\"text\":\"hi\"}", "help",
        ]
        repl.send(lines.joined(separator: "\n") + "\nquit\n")
        let status = await repl.waitForExit()
        let output = repl.stdout
        #expect(status == 0)
        #expect(output.contains("unknown command 'sned'; did you mean 'send'?"))
        #expect(output.contains("no client yet; open one first: open /ws/echo"))
        #expect(output.contains("connection refused"))
        #expect(output.contains("--binary takes hex digits in pairs"))
        #expect(output.contains("a ping carries at most 125 bytes"))
        #expect(output.contains("no endpoint named 'nothing'"))
        #expect(output.contains("c1 open"))
        #expect(output.contains("close the current client") == false)
        #expect(output.contains("usage: view quiet|frames|bytes"))
        #expect(output.contains("compare needs a scenario"))
        #expect(output.contains("no scenario 'chatter'"))
        #expect(output.contains("not 'soon'"))
        #expect(output.contains("cannot reach http://127.0.0.1:1: connection refused"))
        #expect(output.contains("--url takes http://HOST:PORT (or ws://), not ftp://x"))
        #expect(output.contains("send --compare needs an endpoint with an HTTP twin") == false)  // echo has one
        #expect(output.components(separatedBy: "error:").count - 1 >= 23)
        #expect(repl.stderr.isEmpty, "stderr: \(repl.stderr)")
    }

    @Test func repeatedAndFilledMessagesReachTheChat() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"])
        let lines = [
            "view quiet", "open /ws/chat?username=ann as ann",
            #"ann: --fill 600 {"type":"message","text":"x"}"#,
            #"ann: --repeat 3 --every 10ms --fill 12 {"type":"message"}"#,
            "ann: --repeat 0 hi", "ann: --repeat 2 --every soon hi", "ann: --fill 5 [1]",
            "set reading sideways", "set broadcast naive --stall 3s", "set broadcast queued --stall 3s --cap 1MiB",
            "set reading off", "set reading on", "open sse /events as feed", "set reading off",
        ]
        repl.send(lines.joined(separator: "\n") + "\nquit\n")
        #expect(await repl.waitForExit() == 0)
        let output = repl.stdout
        // 600 letters go up; the live chat cuts them to its 500.
        let letters = String(repeating: "abcdefghijklmnopqrstuvwxyz", count: 24)
        #expect(output.contains("→ ann message · 636 B"))
        #expect(output.contains("← ann message · 587 B"))
        #expect(!output.contains(String(letters.prefix(501))))
        for number in 1...3 {
            #expect(output.contains(#"{"type":"message","text":"\#(number):abcdefghij"}"#))
        }
        #expect(output.contains("--repeat takes a count from 1 to 1000"))
        #expect(output.contains("--every takes a duration up to 10s"))
        #expect(output.contains("--fill N {…} takes a JSON object"))
        #expect(output.contains("set reading takes on or off"))
        #expect(output.contains("only queued takes options: --stall DURATION, --cap SIZE, --budget SIZE"))
        #expect(output.contains("cut off after 3 s without progress, or with over 1 MiB waiting and its socket full"))
        #expect(output.contains("ann stops reading its socket"))
        #expect(output.contains("ann reads its socket again"))
        #expect(output.contains("set reading works on WebSocket clients; feed is not one"))
        #expect(repl.stderr.isEmpty, "stderr: \(repl.stderr)")
    }

    @Test func endOfInputEndsCleanly() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"])
        repl.send("open /ws/echo\n")
        repl.closeInput()
        #expect(await repl.waitForExit() == 0)
        #expect(repl.stdout.contains("c1 open"))
    }

    @Test func aBusyPortGivesOneLineThatSuggestsPort() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let repl = try ChildProcess(Paths.wirelab, ["--port", String(port)])
        repl.closeInput()
        #expect(await repl.waitForExit() == 1)
        let lines = repl.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(repl.stderr)")
        #expect(lines.first?.contains("port \(port) on 127.0.0.1 is already in use") == true)
        #expect(lines.first?.contains("--port") == true)
    }
}
