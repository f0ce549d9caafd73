import Foundation
import LabServer
import Testing
import WireProtocol

/// The real binary and a real client: tokens stay out of `wirelab serve`'s logs, and curl sees an
/// event stream as it happens.
@Suite(.serialized) struct PushSubprocessTests {
    @Test func tokensInQueryStringsNeverReachTheServersLog() async throws {
        let server = try await ServeProcess.start(["--verbose"])
        let port = server.port
        var stopped = false
        defer { if !stopped { server.process.signal(SIGKILL) } }

        let token = try await Shop.login("alice", port: port)
        let admin = try await Shop.login("admin", port: port)

        // Method 1 WebSocket, accepted and refused.
        let auth = try await JSONClient.connect(port: port, path: "/ws?token=\(token)")
        try await auth.send(.obj(("msg", "hi")))
        #expect(try await auth.next()["from"] == "alice")
        await auth.close()
        let refused = try await AuthEndpointTests.refusedUpgrade(port: port, path: "/ws?token=\(AuthEndpointTests.tampered(token))")
        #expect(refused.statusLine == "HTTP/1.1 401 Unauthorized")

        // The notifications socket.
        let notifications = try await JSONClient.connect(port: port, path: "/ws/notifications?token=\(token)")
        try await notifications.sendText("ping")
        #expect(try await notifications.nextText() == "pong")

        // The event stream, with a notification on it.
        let stream = try await SSEStream.connect(port: port, path: "/events?token=\(token)")
        let shipped = try await httpRequest("POST", "/orders/1/ship?token=\(admin)", port: port)
        #expect(shipped.status == 200, "\(shipped)")
        #expect(jsonData(try await stream.events(count: 1)) == [Shop.notification(1)])
        #expect(try await notifications.next() == Shop.notification(1))
        await stream.close()
        await notifications.close()

        // Polling.
        let polled = try await httpRequest("GET", "/http/notifications?since=0&token=\(token)", port: port)
        #expect(polled.status == 200, "\(polled)")
        let refusedPoll = try await httpRequest("GET", "/http/notifications?token=\(token)x", port: port)
        #expect(refusedPoll.status == 401, "\(refusedPoll)")

        // Every request was logged, with its query redacted.
        for line in ["/ws?[redacted]", "/ws/notifications?[redacted]", "/events?[redacted]", "/http/notifications?[redacted]", "/orders/1/ship?[redacted]"] {
            #expect(await server.process.waitFor(line, inStderr: true, timeout: .seconds(5)), "no log line with \(line): \(server.process.stderr)")
        }
        let status = await server.stop()
        stopped = true
        #expect(status == 0, "\(server.process.stderr)")

        let log = server.process.stderr
        let signature = String(token.split(separator: ".")[2])
        #expect(!log.contains(token), "alice's token is in the log:\n\(log)")
        #expect(!log.contains(signature), "the token's signature is in the log:\n\(log)")
        #expect(!log.contains(admin), "admin's token is in the log:\n\(log)")
        #expect(!log.contains("token="), "a query string reached the log:\n\(log)")
        #expect(log.contains("?[redacted]"))
    }

    @Test func sigtermEndsOpenEventStreamsAndTheServerExits() async throws {
        let server = try await ServeProcess.start()
        let stream = try await SSEStream.connect(port: server.port, path: "/http/chat/events")
        // A graceful shutdown waits for every response; an event stream never ends by itself.
        #expect(await server.stop() == 0, "stderr: \(server.process.stderr)")
        let ended = try await stream.wait("the end of the stream") { _ in stream.connection.isClosed }
        #expect(ended.framingBytes > 0)
        #expect(String(decoding: stream.connection.bytes, as: UTF8.self).hasSuffix("0\r\n\r\n"), "the last chunk, then the close")
    }

    @Test func curlSeesTheEventAsItHappens() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await Shop.login("alice", port: port)
        let admin = try await Shop.login("admin", port: port)
        let topic = lab.context.notifications.topic(for: "alice")

        let curl = try ChildProcess(PushPaths.curl, ["-sN", "http://127.0.0.1:\(port)/events?token=\(alice)"])
        var stopped = false
        defer { if !stopped { curl.signal(SIGKILL) } }
        #expect(await curl.waitFor("retry: 3000", timeout: .seconds(10)), "curl got: \(curl.stdout)")
        #expect(await eventually { topic.receiverNames == ["alice"] })

        try await Shop.shipAsAdmin(3, adminToken: admin, port: port)
        let line = "data: \(Shop.notification(3).text)"
        #expect(line == #"data: {"type":"notification","title":"Your order shipped!","order_id":3}"#)
        #expect(await curl.waitFor(line, timeout: .seconds(10)), "curl got: \(curl.stdout)")
        // The stream is still open: curl read the event while the response went on.
        #expect(topic.receiverNames == ["alice"])
        #expect(curl.stdout.contains("id: 1\n\(line)\n\n"), "\(curl.stdout)")

        // SIGKILL: a child of a Swift concurrency thread inherits its blocked signal mask, so
        // curl would never see a SIGTERM.
        curl.signal(SIGKILL)
        _ = await curl.waitForExit(timeout: .seconds(10))
        stopped = true
    }
}
