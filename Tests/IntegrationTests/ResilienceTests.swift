import Foundation
import Testing

/// The REPL's clients when the network misbehaves, driven through a pipe like any script.
@Suite struct ResilienceTests {
    @Test func aClientSurvivesItsEndpointGoingAwayAndSendsItsQueueExactlyOnce() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0", "--seed", "3"])
        repl.send(
            [
                "view quiet", "open --reconnect /ws/chat/ann", "set reconnect on --base 300ms --jitter 0",
                "disable chat", "wait 500ms", "send {\"text\":\"one\"}", "send {\"text\":\"two\"}", "enable chat", "wait 3s", "quit",
            ].joined(separator: "\n") + "\n"
        )
        #expect(await repl.waitForExit() == 0)
        let output = repl.stdout
        #expect(output.contains("c1 closed 1001 · reconnecting in 300 ms (attempt 1/10)"), "\(output)")
        #expect(output.contains("c1 refused 503 · reconnecting in 600 ms (attempt 2/10)"), "\(output)")
        #expect(output.contains("queued (2 waiting)"))
        #expect(output.contains("c1 connected · back after"))
        // Sent once each, in order, and broadcast back once each.
        for text in ["one", "two"] {
            #expect(output.components(separatedBy: "→ c1 text · 20 B · {\"text\":\"\(text)\"}").count == 2, "\(output)")
            #expect(output.components(separatedBy: "\"from\":\"ann\",\"text\":\"\(text)\"").count == 2, "\(output)")
        }
        let one = try #require(output.range(of: "→ c1 text · 20 B · {\"text\":\"one\"}"))
        let two = try #require(output.range(of: "→ c1 text · 20 B · {\"text\":\"two\"}"))
        #expect(one.lowerBound < two.lowerBound)
    }

    @Test func aHeartbeatWithoutAnswerDropsTheConnectionAndTheClientComesBack() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"])
        // The echo endpoint answers "Echo: ping", never "pong": the text heartbeat goes unanswered.
        repl.send(
            ["view quiet", "open --reconnect /ws/echo", "set reconnect on --base 200ms --jitter 0", "set heartbeat 500ms --text --timeout 300ms", "wait 2s", "quit"]
                .joined(separator: "\n") + "\n"
        )
        #expect(await repl.waitForExit() == 0)
        let output = repl.stdout
        #expect(output.contains("c1 heartbeat · no \"pong\" within 300 ms"), "\(output)")
        #expect(output.contains("c1 closed 1006 (no close frame) · reconnecting in 200 ms (attempt 1/10)"))
        #expect(output.contains("c1 connected · back after 1 attempt"))
    }

    @Test func pingFramesAreAnsweredSoTheConnectionStays() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"])
        repl.send(["view quiet", "open --reconnect /ws/echo", "set heartbeat 300ms --timeout 200ms", "wait 1200ms", "quit"].joined(separator: "\n") + "\n")
        #expect(await repl.waitForExit() == 0)
        let output = repl.stdout
        #expect(output.contains("← c1 pong · 11 B · \"heartbeat\""), "\(output)")
        #expect(!output.contains("heartbeat · no pong frame within"))
        #expect(!output.contains("reconnecting in"))
    }

    @Test func aCloseYouTypeIsNeverFollowedByAReconnection() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"])
        repl.send(["view quiet", "open --reconnect /ws/echo", "set reconnect on --base 100ms", "close", "wait 500ms", "clients", "quit"].joined(separator: "\n") + "\n")
        #expect(await repl.waitForExit() == 0)
        let output = repl.stdout
        #expect(output.contains("c1 closed · closing handshake complete"))
        #expect(!output.contains("reconnecting in"), "\(output)")
    }
}

/// `open auto`: WebSocket, then SSE + POST, then long polling + POST.
@Suite struct FallbackTests {
    @Test func withWebSocketAndSSEBlockedItLandsOnLongPollingAndMessagesFlowBothWays() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"])
        repl.send(
            [
                "view quiet", "block ws", "block sse", "open auto /chat/alice",
                "http POST /http/chat/bob {\"text\":\"to alice\"}", "wait 500ms", "c1: {\"text\":\"to bob\"}", "wait 500ms", "clients", "quit",
            ].joined(separator: "\n") + "\n"
        )
        #expect(await repl.waitForExit() == 0)
        let output = repl.stdout
        #expect(output.contains("c1 · WebSocket refused (403): trying SSE"), "\(output)")
        #expect(output.contains("c1 · SSE failed: trying long polling"))
        #expect(output.contains("c1 · on long polling + POST"))
        // Down: bob's message reaches alice's poll. Up: alice's message is posted, and comes back.
        #expect(output.contains("← c1 HTTP body · ") && output.contains("\"from\":\"bob\",\"text\":\"to alice\""))
        #expect(output.contains("c1 · long polling listens only: sending as POST /http/chat/alice"))
        #expect(output.contains("\"from\":\"alice\",\"text\":\"to bob\""))
        #expect(output.contains("c1     polling"))
    }

    @Test func withOnlyWebSocketBlockedItLandsOnSSE() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"])
        repl.send(["view quiet", "block ws", "open auto /chat/ann", "send {\"text\":\"hello\"}", "wait 300ms", "quit"].joined(separator: "\n") + "\n")
        #expect(await repl.waitForExit() == 0)
        let output = repl.stdout
        #expect(output.contains("c1 · on SSE + POST"), "\(output)")
        #expect(output.contains("← c1 SSE event message · id 1 · {\"type\":\"message\",\"from\":\"ann\",\"text\":\"hello\""))
    }

    @Test func withNothingBlockedItIsAWebSocket() async throws {
        let repl = try ChildProcess(Paths.wirelab, ["--port", "0"])
        repl.send(["view quiet", "open auto /room/lobby/zoe", "send {\"text\":\"hi\"}", "open auto /chat/zoe as c1", "open auto /nowhere", "quit"].joined(separator: "\n") + "\n")
        #expect(await repl.waitForExit() == 0)
        #expect(repl.stdout.contains("c1 · on a WebSocket"), "\(repl.stdout)")
        #expect(repl.stdout.contains("← c1 message"))
        #expect(repl.stdout.contains("c1 is already open; close it or pick another name"))
        #expect(repl.stdout.contains("open auto takes a conversation: /chat/NAME or /room/ROOM/NAME"))
    }
}
