import Foundation
import LabServer
import NIOConcurrencyHelpers
import Testing
import WireProtocol

/// A receiver that never reads, in the chat: queued broadcast (the default) keeps everyone else
/// going and cuts the slow one off; the guide's naive loop stalls everyone.
///
/// Counts are asserted, never speeds.
@Suite struct SlowConsumerTests {
    static let padding = String(repeating: "x", count: 20_000)

    /// Enough messages that the kernel cannot absorb them all for a receiver that never reads.
    /// The server's send buffer grows up to the system's maximum (tcp_wmem; 4 MiB by default on
    /// Linux, about 2.8 MB of payload on loopback), so the run sends at least twice that: a
    /// stalled receiver then must stall the naive loop, and must overflow the queued one.
    static let messageCount: Int = {
        let fallback = 4 << 20
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/tcp_wmem", encoding: .utf8)) ?? ""
        let maximum = text.split(whereSeparator: \.isWhitespace).last.flatMap { Int($0) } ?? fallback
        return max(200, 2 * maximum / padding.utf8.count + 64)
    }()

    /// The prefix of the n-th broadcast message from `sender`, as the lab serialises it.
    static func prefix(_ index: Int, from sender: String) -> String {
        #"{"type":"message","from":"\#(sender)","text":"\#(index):"#
    }

    /// Joins a stalled receiver, then a reading one, then a sender (in that order, so the naive
    /// loop visits the stalled one first). - Returns: all three once each is subscribed.
    static func setUp(port: Int, lab: Lab) async throws -> (stalled: StalledConnection, reader: JSONClient, sender: JSONClient) {
        let stalled = try await StalledConnection(port: port, path: "/ws/chat/stalled")
        #expect(await eventually { lab.registry.connections.count(endpoint: "chat") == 1 })
        let reader = try await JSONClient.connect(port: port, path: "/ws/chat/reader")
        try await reader.syncWithSession()
        let sender = try await JSONClient.connect(port: port, path: "/ws/chat/sender")
        try await sender.syncWithSession()
        // user_joined counts everyone online: 3 means the stalled receiver is in.
        #expect(try await reader.next(type: "user_joined") == .obj(("type", "user_joined"), ("client_id", "sender"), ("online_count", 3)))
        return (stalled, reader, sender)
    }

    /// Sends `count` messages of ~20 KB, at most `window` ahead of the sender's own copies, so that
    /// only a receiver that does not read can fall far behind.
    static func startSending(_ sender: JSONClient, count: Int, window: Int = 8) -> Task<Void, any Error> {
        let baseline = sender.receivedCount
        return Task {
            for index in 0..<count {
                while sender.receivedCount - baseline < index - window {
                    try await Task.sleep(for: .milliseconds(1))
                }
                try await sender.send(.obj(("text", .string("\(index):" + padding))))
            }
        }
    }

    /// How many of the sender's messages `client` has received, and whether they came in order.
    static func received(by client: JSONClient, from sender: String) -> (count: Int, inOrder: Bool) {
        let messages = client.received.filter { $0.hasPrefix(#"{"type":"message","from":"\#(sender)""#) }
        let inOrder = messages.enumerated().allSatisfy { $0.element.hasPrefix(prefix($0.offset, from: sender)) }
        return (messages.count, inOrder)
    }

    @Test func queuedBroadcastDeliversEverythingAndCutsTheSlowReceiverOff() async throws {
        let (lab, port) = try await startLab {
            // A small cap, so that the stalled receiver passes it within the run whatever the
            // kernel buffers; the stall rule would get it too, later.
            $0.limits.slowReaders = SlowReaderPolicy(stallLimit: .seconds(5), queueByteCap: 256 << 10)
            $0.limits.messageRate = nil  // the sender floods on purpose; the limit under test is the receiver's queue
        }
        defer { Task { await lab.stop() } }
        let (stalled, reader, sender) = try await Self.setUp(port: port, lab: lab)
        defer { Task { await stalled.close() } }

        let sending = Self.startSending(sender, count: Self.messageCount)
        let all = await eventually(timeout: .seconds(30)) { Self.received(by: reader, from: "sender").count >= Self.messageCount }
        let got = Self.received(by: reader, from: "sender")
        #expect(all, "the reading client got \(got.count) of \(Self.messageCount)")
        #expect(got.count == Self.messageCount)
        #expect(got.inOrder, "every message, in order, none twice")
        #expect(reader.closeCode == nil, "the reading client was not cut off")
        try await sending.value

        // The server has let the stalled one go (its session has ended)...
        #expect(await eventually(timeout: .seconds(10)) { lab.registry.connections.count(endpoint: "chat") == 2 })
        // ...and closed its TCP connection: reading now finds what was buffered, then the end.
        try await stalled.startReading()
        #expect(await eventually(timeout: .seconds(10)) { stalled.hasEnded }, "the stalled connection is still open after \(stalled.bytesRead) bytes")
        #expect(stalled.bytesRead < Self.messageCount * Self.padding.utf8.count, "it was cut off, not sent everything")

        // The others carry on, and were told the stalled one left.
        #expect(try await reader.next(type: "user_left", timeout: .seconds(10))["client_id"] == "stalled")
        try await sender.send(.obj(("text", "after")))
        #expect(try await reader.next(timeout: .seconds(10)) { $0["text"] == "after" }["from"] == "sender")
        await reader.close()
        await sender.close()
    }

    /// A sender that does not wait for anything: the lab falls behind, every queue goes over a
    /// tiny cap while every receiver reads. The lab must slow the sender, not cut them off.
    @Test func anOverloadedLabSlowsTheSenderAndCutsOffNoReader() async throws {
        let (lab, port) = try await startLab {
            $0.limits.slowReaders = SlowReaderPolicy(stallLimit: .seconds(10), queueByteCap: 1024)
            $0.limits.messageRate = nil
        }
        defer { Task { await lab.stop() } }
        var readers: [JSONClient] = []
        for index in 0..<10 {
            let reader = try await JSONClient.connect(port: port, path: "/ws/chat/r\(index)")
            try await reader.syncWithSession()
            readers.append(reader)
        }
        let sender = try await JSONClient.connect(port: port, path: "/ws/chat/sender")
        try await sender.syncWithSession()
        let count = 400
        for index in 0..<count {
            try await sender.send(.obj(("text", .string("\(index):" + String(repeating: "y", count: 200)))))
        }
        let everyone = readers + [sender]
        let all = await eventually(timeout: .seconds(60)) {
            everyone.allSatisfy { Self.received(by: $0, from: "sender").count >= count || $0.closeCode != nil || $0.hasEnded }
        }
        #expect(all)
        for client in everyone {
            let got = Self.received(by: client, from: "sender")
            #expect(got.count == count && got.inOrder, "\(client.name): \(got.count) of \(count), in order: \(got.inOrder)")
            #expect(client.closeCode == nil && !client.hasEnded, "\(client.name) was cut off (close code \(client.closeCode.map(String.init) ?? "none"))")
        }
        for client in everyone { await client.close() }
    }

    @Test func naiveBroadcastLetsOneStalledReceiverStallEveryone() async throws {
        let (lab, port) = try await startLab { $0.broadcastMode = .naive }
        defer { Task { await lab.stop() } }
        let (stalled, reader, sender) = try await Self.setUp(port: port, lab: lab)

        let sending = Self.startSending(sender, count: Self.messageCount)
        try await Task.sleep(for: .seconds(3))
        let got = Self.received(by: reader, from: "sender")
        #expect(got.count < Self.messageCount, "the naive loop should have stalled, but the reader got all \(got.count)")
        #expect(got.inOrder)

        // Let it go: the stalled connection closes, the writes to it fail, and the rest flows.
        sending.cancel()
        await stalled.close()
        await reader.close()
        await sender.close()
    }

    @Test func switchingToNaiveAtRunTimeTakesEffect() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        lab.context.broadcastMode = .naive
        let (stalled, reader, sender) = try await Self.setUp(port: port, lab: lab)
        let sending = Self.startSending(sender, count: Self.messageCount)
        try await Task.sleep(for: .seconds(3))
        #expect(Self.received(by: reader, from: "sender").count < Self.messageCount)
        sending.cancel()
        await stalled.close()
        await reader.close()
        await sender.close()
    }
}
