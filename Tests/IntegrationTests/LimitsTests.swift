import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
import WireProtocol

@testable import LabServer

/// The limits that keep one client from taking the lab down for everyone: connections, slow
/// request heads, idle and vanished peers, and message floods.
@Suite("limits")
struct LimitsTests {
    @Test("one connection beyond --max-connections gets 503 with the reason; a freed place is taken again")
    func maxConnections() async throws {
        let (lab, port) = try await startLab(only: ["echo"]) {
            $0.limits.maxConnections = 3
            $0.limits.requestHeadTimeout = nil  // the held connections send nothing for a while
        }
        defer { Task { await lab.stop() } }
        var holding: [RawConnection] = []
        for _ in 0..<3 { holding.append(try await RawConnection(port: port)) }
        let held = holding
        #expect(await eventually { lab.context.openConnections.current == 3 })

        let extra = try await RawConnection(port: port)
        // The answer comes at once, request or not; the write may meet a connection already closed.
        try? await extra.write("POST /http/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\nhi")
        let (head, _) = await extra.readHead()
        #expect(head?.status == 503, "\(String(decoding: extra.bytes, as: UTF8.self))")
        #expect(head?.field("Retry-After") == "1")
        let text = String(decoding: await extra.waitFor { String(decoding: $0, as: UTF8.self).hasSuffix("\n") }, as: UTF8.self)
        #expect(text.contains("The lab holds 3 connections already") && text.contains("--max-connections"), "\(text)")
        #expect(await eventually { extra.isClosed }, "the turned-away connection is closed")
        #expect(lab.context.openConnections.current == 3, "a turned-away connection holds no place")

        // The three held ones still work, and once one closes a newcomer gets its place.
        try await held[0].write("POST /http/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\nhi")
        #expect(await held[0].readHead().head?.status == 200)
        await held[1].close()
        #expect(await eventually { lab.context.openConnections.current == 2 })
        let newcomer = try await RawConnection(port: port)
        #expect(try await newcomer.upgrade("/ws/echo")?.status == 101)
        for connection in held + [newcomer] { await connection.close() }
    }

    @Test("turned-away connections (503 over the limit, 408 for a slow head) leave the lab's notice in the log and no error")
    func turnedAwayLeavesNoError() async throws {
        let records = NIOLockedValueBox<[RecordingLogHandler.Record]>([])
        let (lab, port) = try await startLab(only: ["echo"]) {
            $0.limits.maxConnections = 1
            // Long enough that the held place is still taken when the two newcomers come, even on
            // a loaded machine: it frees only after the 408 and the lab's linger.
            $0.limits.requestHeadTimeout = .seconds(3)
            $0.logger = Logger(label: "test") { _ in RecordingLogHandler(records: records) }
        }
        defer { Task { await lab.stop() } }
        let held = try await RawConnection(port: port)
        try await held.write("GET /ws/echo HTTP/1.1\r\nHo")  // a head that never ends: 408
        #expect(await eventually { lab.context.openConnections.current == 1 })
        // One turned-away client closes once it has the answer, the other waits for the lab to close.
        let closesFirst = try await RawConnection(port: port)
        #expect(await closesFirst.readHead().head?.status == 503)
        await closesFirst.close()
        let waits = try await RawConnection(port: port)
        #expect(await waits.readHead().head?.status == 503)
        #expect(await held.readHead().head?.status == 408)
        #expect(await eventually { waits.isClosed && held.isClosed })
        try await Task.sleep(for: .milliseconds(200))  // the lab's side of the closes

        let logged = records.withLockedValue { $0 }
        #expect(logged.filter { $0.message.hasPrefix("refused a connection") }.count == 2)
        #expect(logged.contains { $0.message.hasPrefix("closed a connection that sent no whole request head") })
        let errors = logged.filter { $0.level >= .error }
        #expect(errors.isEmpty, "\(errors.map { "[\($0.source)] \($0.message)" })")
    }

    @Test("a slow-loris head gets 408 after the timeout, and the lab serves others meanwhile")
    func slowRequestHeads() async throws {
        let (lab, port) = try await startLab(only: ["echo"]) { $0.limits.requestHeadTimeout = .seconds(2) }
        defer { Task { await lab.stop() } }
        // Twenty connections that trickle their heads and never finish them.
        var trickling: [RawConnection] = []
        for _ in 0..<20 {
            let connection = try await RawConnection(port: port)
            // On a loaded machine the timeout may already have closed it: the 408 is checked below.
            try? await connection.write("GET /ws/echo HTTP/1.1\r\nHo")
            trickling.append(connection)
        }
        let slow = trickling
        // Meanwhile a normal client upgrades and gets its echo at once.
        let client = try await JSONClient.connect(port: port, path: "/ws/echo")
        do {
            try await client.sendText("still served")
            #expect(try await client.nextText() == "Echo: still served")
        } catch {
            Issue.record("the served client: \(error); closed with \(client.closeCode.map(String.init) ?? "nothing")")
        }

        for connection in slow {
            let (head, _) = await connection.readHead()
            #expect(head?.status == 408)
        }
        let text = String(decoding: slow[0].bytes, as: UTF8.self)
        #expect(text.contains("No whole request head arrived within 2 s"), "\(text)")
        #expect(await eventually { slow.allSatisfy(\.isClosed) })
        #expect(await eventually { lab.context.openConnections.current == 1 }, "only the served client holds a place")
        // A whole head sent slowly but in time is served.
        let patient = try await RawConnection(port: port)
        for piece in ["POST /http/echo HTT", "P/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r", "\n\r\nok"] {
            do {
                try await patient.write(piece)
            } catch {
                Issue.record("the patient client, writing \(piece.debugDescription): \(error); it got \(String(decoding: patient.bytes, as: UTF8.self))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(await patient.readHead().head?.status == 200)
        await patient.close()
    }

    @Test("a kept-alive HTTP connection idle past the idle timeout is closed by the lab")
    func idleKeepAlive() async throws {
        let (lab, port) = try await startLab(only: ["echo"]) { $0.limits.idleTimeout = .milliseconds(300) }
        defer { Task { await lab.stop() } }
        let connection = try await RawConnection(port: port)
        try await connection.write("POST /http/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\nhi")
        #expect(await connection.readHead().head?.status == 200)
        #expect(await eventually(timeout: .seconds(3)) { connection.isClosed })
    }

    @Test("a WebSocket peer that stops answering pings is closed with 1001")
    func vanishedPeer() async throws {
        let (lab, port) = try await startLab(only: ["echo"]) { $0.limits.pingInterval = .milliseconds(200) }
        defer { Task { await lab.stop() } }
        // A raw peer: it completes the handshake, then never answers anything (a peer whose
        // machine went away without a FIN looks the same from the server).
        let peer = try await RawConnection(port: port)
        #expect(try await peer.upgrade("/ws/echo")?.status == 101)
        let frames = await peer.frames { frames in frames.contains { $0.opcode == .close } }
        #expect(frames.first?.opcode == .ping)
        let close = try #require(frames.first { $0.opcode == .close })
        #expect(Array(close.payload.prefix(2)) == [0x03, 0xE9], "1001 going away: \(close.payload)")
        #expect(await eventually(timeout: .seconds(3)) { peer.isClosed })
    }

    @Test("a chat client flooding past the rate: extra messages refused with an error, then close 1008; others see only what was delivered")
    func messageRate() async throws {
        let (lab, port) = try await startLab(only: ["chat"]) {
            // Slow enough that nothing is earned back while the test runs, however loaded the machine.
            $0.limits.messageRate = MessageRate(perSecond: 0.01, burst: 5, strikes: 3)
        }
        defer { Task { await lab.stop() } }
        let bob = try await JSONClient.connect(port: port, path: "/ws/chat/bob")
        let flooder = try await JSONClient.connect(port: port, path: "/ws/chat/flood")
        _ = try await bob.next(type: "user_joined")
        // Back to back; the lab may close the connection before the last ones are written.
        for number in 1...20 {
            do { try await flooder.send(.obj(("text", .string("\(number)")))) } catch { break }
        }

        #expect(await eventually { flooder.hasEnded })
        #expect(flooder.closeCode == 1008)
        #expect(flooder.closeReason == "message rate limit exceeded")
        let errors = flooder.received.compactMap { try? JSON(parsing: $0) }.filter { $0["type"] == "error" }
        #expect(errors.count == 3, "\(flooder.received)")
        #expect(errors.first?["error"]?.stringValue?.hasPrefix("over the rate limit (0.01 a second, 5 at once): not delivered; 2 more") == true, "\(errors)")
        #expect(errors.last?["error"]?.stringValue?.contains("one more and the lab closes the connection (1008)") == true, "\(errors)")

        // Bob got exactly the five delivered, in order, then the flooder leaving.
        var texts: [String] = []
        while true {
            let message = try await bob.next()
            if message["type"] == "user_left" { break }
            if message["type"] == "message", message["from"] == "flood" { texts.append(message["text"]?.stringValue ?? "") }
        }
        #expect(texts == ["1", "2", "3", "4", "5"])
    }

    @Test("the rate limiter: a burst, refill at the rate, strikes forgiven over time")
    func rateLimiter() {
        var limiter = MessageRateLimiter(rate: MessageRate(perSecond: 10, burst: 3, strikes: 2))
        let at = { (ms: Int) in Duration.milliseconds(ms) }
        #expect((0..<3).map { _ in limiter.admit(at: at(0)) } == [.deliver, .deliver, .deliver])
        #expect(limiter.admit(at: at(0)) == .refuse(left: 1))
        #expect(limiter.admit(at: at(50)) == .refuse(left: 0))
        #expect(limiter.admit(at: at(100)) == .deliver, "a token every 100 ms")
        #expect(limiter.admit(at: at(100)) == .refuse(left: 0), "half a strike was forgiven in the 100 ms")
        #expect(limiter.admit(at: at(100)) == .close, "one refusal too many closes")

        var patient = MessageRateLimiter(rate: MessageRate(perSecond: 10, burst: 3, strikes: 2))
        for step in 0..<100 { #expect(patient.admit(at: at(step * 100)) == .deliver) }
        // Strikes fade as messages are earned: two refusals, a quiet 2.5 s at one a second, and two more are tolerated.
        var forgiven = MessageRateLimiter(rate: MessageRate(perSecond: 1, burst: 1, strikes: 2))
        #expect(forgiven.admit(at: at(0)) == .deliver)
        #expect(forgiven.admit(at: at(0)) == .refuse(left: 1))
        #expect(forgiven.admit(at: at(0)) == .refuse(left: 0))
        #expect(forgiven.admit(at: at(2500)) == .deliver)
        #expect(forgiven.admit(at: at(2500)) == .refuse(left: 1))
    }
}
