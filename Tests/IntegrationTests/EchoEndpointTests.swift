import LabServer
import Testing
import WireProtocol

/// The echo endpoint over real sockets, driven by hand-built bytes.
@Suite struct EchoEndpointTests {
    @Test func handshakeAnswersTheRFCSampleKey() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let connection = try await RawConnection(port: port)
        let head = try #require(try await connection.upgrade("/ws/echo"))
        #expect(head.status == 101)
        #expect(head.field("sec-websocket-accept") == Handshake.sampleAccept)
        #expect(head.lines.first == "HTTP/1.1 101 Switching Protocols")
        await connection.close()
    }

    @Test func textComesBackWithEchoPrefixAndBinaryUnchanged() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let connection = try await RawConnection(port: port)
        _ = try await connection.upgrade("/ws/echo")
        try await connection.write(clientFrame(opcode: 0x1, payload: Array("hello".utf8)))
        try await connection.write(clientFrame(opcode: 0x2, payload: [0x01, 0xff]))
        let frames = await connection.frames { $0.count >= 2 }
        #expect(frames.count == 2)
        #expect(frames.first?.wireBytes == [0x81, 0x0b] + Array("Echo: hello".utf8))
        #expect(frames.last?.wireBytes == [0x82, 0x02, 0x01, 0xff])
        await connection.close()
    }

    @Test func fragmentedMessageIsEchoedWhole() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let connection = try await RawConnection(port: port)
        _ = try await connection.upgrade("/ws/echo")
        try await connection.write(clientFrame(opcode: 0x1, payload: Array("Hel".utf8), fin: false))
        try await connection.write(clientFrame(opcode: 0x9, payload: Array("mid".utf8)))  // a ping between fragments is allowed
        try await connection.write(clientFrame(opcode: 0x0, payload: Array("lo".utf8)))
        let frames = await connection.frames { $0.count >= 2 }
        #expect(frames.map(\.opcode) == [.pong, .text])
        #expect(frames.first?.payload == Array("mid".utf8))
        #expect(frames.last?.payload == Array("Echo: Hello".utf8))
        await connection.close()
    }

    @Test func pingIsAnsweredWithThePongOfTheSameBytes() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let connection = try await RawConnection(port: port)
        _ = try await connection.upgrade("/ws/echo")
        try await connection.write(clientFrame(opcode: 0x9, payload: Array("are you there".utf8)))
        let frames = await connection.frames { !$0.isEmpty }
        #expect(frames.first?.opcode == .pong)
        #expect(frames.first?.payload == Array("are you there".utf8))
        await connection.close()
    }

    @Test func aMessageOfOneMebibyteWorks() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let connection = try await RawConnection(port: port)
        _ = try await connection.upgrade("/ws/echo")
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
        try await connection.write(clientFrame(opcode: 0x1, payload: payload))
        let echoed = await connection.frames { frames in frames.reduce(0) { $0 + $1.payload.count } >= (1 << 20) + 6 }
        #expect(echoed.reduce(0) { $0 + $1.payload.count } == (1 << 20) + 6)
        #expect(!echoed.contains { $0.opcode == .close })
        await connection.close()
    }

    @Test(arguments: [
        ("larger than 1 MiB", clientFrame(opcode: 0x1, payload: [UInt8](repeating: 0x61, count: (1 << 20) + 1)), UInt16(1009)),
        ("invalid UTF-8", clientFrame(opcode: 0x1, payload: [0xff, 0xfe, 0x41]), UInt16(1007)),
        ("reserved opcode 0x3", clientFrame(opcode: 0x3, payload: [0x41]), UInt16(1002)),
        ("unmasked client frame", clientFrame(opcode: 0x1, payload: Array("hi".utf8), masked: false), UInt16(1002)),
        ("RSV1 without an extension", clientFrame(opcode: 0x1, payload: Array("hi".utf8), rsv: 0x40), UInt16(1002)),
        ("continuation with nothing to continue", clientFrame(opcode: 0x0, payload: Array("hi".utf8)), UInt16(1002)),
    ])
    func badInputClosesWithTheRightCode(_ name: String, _ frame: [UInt8], _ expected: UInt16) async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let connection = try await RawConnection(port: port)
        _ = try await connection.upgrade("/ws/echo")
        try await connection.write(frame)
        let frames = await connection.frames { $0.contains { $0.opcode == .close } }
        let close = try #require(frames.first { $0.opcode == .close }, "no close frame for \(name)")
        #expect(close.closeBody?.code.code == expected, "\(name)")
        await connection.close()
    }

    @Test func closeIsAnsweredWithTheSameCode() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let connection = try await RawConnection(port: port)
        _ = try await connection.upgrade("/ws/echo")
        try await connection.write(clientFrame(opcode: 0x8, payload: [0x03, 0xe8] + Array("bye".utf8)))
        let frames = await connection.frames { $0.contains { $0.opcode == .close } }
        #expect(frames.last?.closeBody?.code == .normalClosure)
        _ = await connection.waitFor { _ in false }  // until the server closes TCP
        #expect(connection.isClosed)
    }
}
