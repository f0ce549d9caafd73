import Foundation
import LabServer
import NIOConcurrencyHelpers
import Testing
import WireClient
import WireProtocol

/// The server's data path (issue 15): a broadcast is serialized once, a receiver is cut off by the
/// stall rule with a reason that says so, accepted work is answered before a close, and an id is
/// free as soon as the lab has sent its close.
@Suite struct DataPathTests {
    @Test func aBroadcastToManyReceiversIsSerializedOnce() async throws {
        let (lab, port) = try await startLab { $0.limits.messageRate = nil }
        defer { Task { await lab.stop() } }
        var receivers: [JSONClient] = []
        for index in 0..<20 {
            let client = try await JSONClient.connect(port: port, path: "/ws/chat/r\(index)")
            try await client.syncWithSession()
            receivers.append(client)
        }
        let clients = receivers
        let marker = "once-\(UUID().uuidString)"
        SerializationProbe.watch(marker)
        // Raw text, so the test's own client serializes nothing with the marker in it.
        try await receivers[0].sendText(#"{"text":"\#(marker)"}"#)
        let all = await eventually(timeout: .seconds(10)) { clients.allSatisfy { $0.received.contains { $0.contains(marker) } } }
        let serializations = SerializationProbe.stop(marker)
        #expect(all, "every receiver got the message")
        #expect(serializations == 1, "the message was serialized \(serializations) times for 20 receivers")
        // And every receiver got the same bytes.
        let copies = Set(receivers.compactMap { $0.received.first { $0.contains(marker) } })
        #expect(copies.count == 1)
        for client in receivers { await client.close() }
    }

    @Test func echoIsServedOnTheEventLoopUnlessTheConnectionCompresses() async throws {
        let (lab, port) = try await startLab(only: ["echo"])
        defer { Task { await lab.stop() } }
        let plain = try await RawConnection(port: port)
        #expect(try await plain.upgrade("/ws/echo")?.status == 101)
        let compressing = try await RawConnection(port: port)
        let answer = try await compressing.upgrade("/ws/echo", extraHeaders: "Sec-WebSocket-Extensions: permessage-deflate\r\n")
        #expect(answer?.fields.first { $0.name == "Sec-WebSocket-Extensions" }?.value.hasPrefix("permessage-deflate") == true)
        #expect(await eventually { lab.registry.connections.count(endpoint: "echo") == 2 })
        #expect(lab.registry.connections.countOnEventLoop(endpoint: "echo") == 1, "the plain one, with no session task")
        // Both answer alike.
        for connection in [plain, compressing] {
            try await connection.write(clientFrame(opcode: 0x1, payload: Array("same".utf8)))
        }
        let plainAnswer = await plain.frames { $0.contains { $0.opcode == .text } }.first { $0.opcode == .text }
        #expect(plainAnswer.map { String(decoding: $0.payload, as: UTF8.self) } == "Echo: same")
        let compressedAnswer = await compressing.frames { $0.contains { $0.opcode == .text } }.first { $0.opcode == .text }
        #expect(compressedAnswer?.rsv1 == true, "the compressing connection's answer is compressed")
        await plain.close()
        await compressing.close()
        #expect(await eventually { lab.registry.connections.count(endpoint: "echo") == 0 })
    }

    @Test func echoAnswersEveryMessageOfOneWriteInOrderThenTheCloseInTheSameWrite() async throws {
        let (lab, port) = try await startLab(only: ["echo"])
        defer { Task { await lab.stop() } }
        let connection = try await RawConnection(port: port)
        #expect(try await connection.upgrade("/ws/echo")?.status == 101)
        var bytes: [UInt8] = []
        for number in 1...50 { bytes += clientFrame(opcode: 0x1, payload: Array("m\(number)".utf8)) }
        bytes += clientFrame(opcode: 0x1, payload: Array("frag".utf8), fin: false)
        bytes += clientFrame(opcode: 0x9, payload: Array("between".utf8))
        bytes += clientFrame(opcode: 0x0, payload: Array("mented".utf8))
        bytes += clientFrame(opcode: 0x8, payload: [0x0F, 0xA0] + Array("bye".utf8))  // 4000
        try await connection.write(bytes)
        let frames = await connection.frames { $0.contains { $0.opcode == .close } }
        let texts = frames.filter { $0.opcode == .text }.map { String(decoding: $0.payload, as: UTF8.self) }
        #expect(texts == (1...50).map { "Echo: m\($0)" } + ["Echo: fragmented"])
        #expect(frames.contains { $0.opcode == .pong && $0.payload == Array("between".utf8) })
        #expect(frames.last?.opcode == .close)
        #expect(frames.last?.closeBody?.code.code == 4000, "the client's own code echoed")
        #expect(await eventually { connection.isClosed }, "the server closes the TCP connection after the close handshake")
        #expect(await eventually { lab.registry.connections.count(endpoint: "echo") == 0 })
    }

    @Test func aReceiverWhoseSocketTakesNoBytesIsCutOffByTheStallRuleWithItsReason() async throws {
        let notices = NIOLockedValueBox<[String]>([])
        let (lab, port) = try await startLab {
            $0.limits.messageRate = nil
            // The cap out of reach: only the stall rule can cut the receiver off.
            $0.limits.slowReaders = SlowReaderPolicy(stallLimit: .seconds(1), queueByteCap: 1 << 30)
        }
        defer { Task { await lab.stop() } }
        lab.context.noticeHandler = { text in notices.withLockedValue { $0.append(text) } }
        let stalled = try await StalledConnection(port: port, path: "/ws/chat/stalled")
        defer { Task { await stalled.close() } }
        #expect(await eventually { lab.registry.connections.count(endpoint: "chat") == 1 })
        let sender = try await JSONClient.connect(port: port, path: "/ws/chat/sender")
        try await sender.syncWithSession()
        // Enough to fill the stalled socket's buffers (64 KiB send buffer, NIO's 64 KiB, its
        // receive buffer), then nothing more: the rule must act with no new message to find it.
        let padding = String(repeating: "z", count: 16_000)
        for index in 0..<200 {
            try await sender.sendText(#"{"text":"\#(index):\#(padding)"}"#)
        }
        #expect(await eventually(timeout: .seconds(20)) { lab.registry.connections.count(endpoint: "chat") == 1 }, "the stalled receiver was let go")
        let cut = notices.withLockedValue { $0.first { $0.contains("cutting off stalled") } }
        #expect(cut?.contains("stalled: its socket took no bytes for") == true, "notice: \(cut ?? "none")")
        #expect(sender.closeCode == nil, "the sender reads and stays")
        await sender.close()
    }

    /// A request and a close in one write: the answer goes out before the lab's close.
    @Test func predictAnswersARequestThatCameJustBeforeAClose() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        for attempt in 0..<20 {
            let connection = try await RawConnection(port: port)
            #expect(try await connection.upgrade("/ws/predict")?.status == 101)
            let request = Array(#"{"features":[5.1,3.5,1.4,0.2],"request_id":\#(attempt)}"#.utf8)
            try await connection.write(clientFrame(opcode: 0x1, payload: request) + clientFrame(opcode: 0x8, payload: [0x03, 0xE8]))
            let frames = await connection.frames { $0.contains { $0.opcode == .close } }
            #expect(frames.map(\.opcode) == [.text, .close], "attempt \(attempt)")
            #expect(frames.first.map { String(decoding: $0.payload, as: UTF8.self).contains(#""request_id":\#(attempt)"#) } == true)
            await connection.close()
        }
    }

    /// A request, then a frame that breaks a rule (unmasked): answered, then 1002.
    @Test func predictAnswersARequestThatCameJustBeforeABrokenRule() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let connection = try await RawConnection(port: port)
        #expect(try await connection.upgrade("/ws/predict")?.status == 101)
        let request = Array(#"{"features":[6.7,3.0,5.2,2.3],"request_id":"last"}"#.utf8)
        try await connection.write(clientFrame(opcode: 0x1, payload: request) + clientFrame(opcode: 0x1, payload: Array("hi".utf8), masked: false))
        let frames = await connection.frames { $0.contains { $0.opcode == .close } }
        #expect(frames.map(\.opcode) == [.text, .close])
        #expect(frames.first.map { String(decoding: $0.payload, as: UTF8.self).contains(#""request_id":"last""#) } == true)
        #expect(frames.last?.closeBody?.code.code == 1002)
        await connection.close()
    }

    /// After the lab's close (1009 here) the old connection lingers, waiting for the client's
    /// answering close, which this raw client never sends; its id is free at once all the same.
    @Test func anIdIsFreeAsSoonAsTheLabHasSentItsClose() async throws {
        let (lab, port) = try await startLab { $0.limits.maxMessageSize = 1024 }
        defer { Task { await lab.stop() } }
        let watcher = try await JSONClient.connect(port: port, path: "/ws/chat/watcher")
        try await watcher.syncWithSession()
        let first = try await RawConnection(port: port, keepOpenAfterFIN: true)
        #expect(try await first.upgrade("/ws/chat/same")?.status == 101)
        #expect(try await watcher.next(type: "user_joined")["client_id"] == "same")
        try await first.write(clientFrame(opcode: 0x1, payload: Array(repeating: UInt8(ascii: "a"), count: 2000)))
        let frames = await first.frames { $0.contains { $0.opcode == .close } }
        #expect(frames.last?.closeBody?.code.code == 1009)
        #expect(lab.registry.connections.count(endpoint: "chat") == 2, "the old connection still lingers, waiting for the client's close")
        let second = try await JSONClient.connect(port: port, path: "/ws/chat/same")
        try await second.syncWithSession()
        // The watcher sees the old one leave before the new one joins.
        #expect(try await watcher.next(type: "user_left")["client_id"] == "same")
        #expect(try await watcher.next(type: "user_joined")["client_id"] == "same")
        await second.close()
        await watcher.close()
        await first.close()
    }
}
