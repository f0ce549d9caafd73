import Foundation
import LabServer
import Testing
import WireProtocol

/// The SSE twins the comparison uses: `GET /http/chat/events` (the chat log as events, SSE down
/// and POST up) and `GET /http/dashboard/events` (the dashboard's pushes as events).
@Suite struct EventStreamTwinTests {
    @Test func theChatStreamCarriesPostedMessagesWithTheLogsIDs() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        // Something already in the log: a stream without Last-Event-ID starts after it.
        let before = try await httpRequest("POST", "/http/chat/ann", port: port, body: #"{"text":"before"}"#)
        #expect(before.json?["id"]?.intValue == 1)
        let stream = try await SSEStream.connect(port: port, path: "/http/chat/events")
        for text in ["one", "two"] {
            _ = try await httpRequest("POST", "/http/chat/ann", port: port, body: "{\"text\":\"\(text)\"}")
        }
        let events = try await stream.events(count: 2)
        #expect(events.map(\.lastEventID) == ["2", "3"])
        let messages = jsonData(events)
        #expect(messages.map { $0?["text"]?.stringValue } == ["one", "two"])
        #expect(messages.allSatisfy { $0?["type"] == "message" && $0?["from"] == "ann" && isISOTimestamp($0?["timestamp"]) })
        #expect(stream.snapshot.head?.field("Content-Type") == "text/event-stream")
        await stream.close()
    }

    @Test func theChatStreamResumesAfterLastEventID() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        for text in ["a", "b", "c"] {
            _ = try await httpRequest("POST", "/http/chat/ann", port: port, body: "{\"text\":\"\(text)\"}")
        }
        let stream = try await SSEStream.connect(port: port, path: "/http/chat/events", headers: [("Last-Event-ID", "1")])
        let events = try await stream.events(count: 2)
        #expect(jsonData(events).map { $0?["text"]?.stringValue } == ["b", "c"])
        await stream.close()
        let bad = try await httpRequest("GET", "/http/chat/events", port: port, headers: [("Last-Event-ID", "x")])
        #expect(bad.status == 400)
    }

    @Test func webSocketMembersAndTheStreamSeeTheSameMessages() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let stream = try await SSEStream.connect(port: port, path: "/http/chat/events")
        let member = try await JSONClient.connect(port: port, path: "/ws/chat/bea")
        try await member.sendText(#"{"text":"from a socket"}"#)
        let events = try await stream.events(count: 2)
        // The member's joining is in the log too, as every poller sees it.
        #expect(jsonData(events).map { $0?["type"]?.stringValue } == ["user_joined", "message"])
        #expect(jsonData(events).last?.flatMap { $0["text"]?.stringValue } == "from a socket")
        await member.close()
        await stream.close()
    }

    @Test func theDashboardStreamPushesNumberedSnapshots() async throws {
        let (lab, port) = try await startLab { $0.limits.dashboardInterval = .milliseconds(50) }
        defer { Task { await lab.stop() } }
        let stream = try await SSEStream.open(port: port, path: "/http/dashboard/events")
        let events = try await stream.events(count: 3)
        #expect(events.prefix(3).map(\.lastEventID) == ["1", "2", "3"])
        for snapshot in jsonData(Array(events.prefix(3))) {
            #expect(snapshot?.keys == ["type", "active_users", "revenue", "error_rate", "model_accuracy", "timestamp"])
            #expect(isISOTimestamp(snapshot?["timestamp"]))
        }
        await stream.close()
    }
}
