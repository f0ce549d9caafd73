import Testing
import WireProtocol

/// Autobahn 2: pings are answered with pongs carrying the same bytes; pongs nobody asked for
/// are ignored; a control frame's payload is at most 125 bytes.
@Suite("2 Pings and pongs") struct PingPongTests {
    struct Payload: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let bytes: [UInt8]
    }

    /// Autobahn 2.1-2.4.
    static let payloads = [
        Payload(testDescription: "none", bytes: []),
        Payload(testDescription: "Hello, world!", bytes: Array("Hello, world!".utf8)),
        Payload(testDescription: "binary, not UTF-8", bytes: [0x00, 0xFF, 0xFE, 0xFD, 0xFC, 0xFB, 0x00, 0xFF]),
        Payload(testDescription: "125 bytes, the most a control frame carries", bytes: allByteValues(125)),
    ]

    @Test("a ping gets a pong with the same payload", arguments: Target.allCases, payloads)
    func pingIsAnswered(_ target: Target, payload: Payload) async throws {
        try await withSession(target) { session in
            try await session.send(.ping(payload.bytes))
            try await session.expectPong(payload.bytes)
        }
    }

    @Test("a ping of 126 bytes (a 16-bit length) fails the connection with 1002", arguments: Target.allCases)
    func oversizePing(_ target: Target) async throws {
        try await withSession(target) { session in
            try await session.send(.ping(allByteValues(126)))
            let closing = try await session.expectClose(1002)
            #expect(closing.pongs.isEmpty)
        }
    }

    @Test("a ping of 125 bytes written one byte at a time gets its pong", arguments: Target.allCases)
    func pingInPieces(_ target: Target) async throws {
        try await withSession(target) { session in
            let payload = allByteValues(125)
            for byte in ClientFrame.ping(payload).bytes { try await session.send(raw: [byte]) }
            try await session.expectPong(payload)
        }
    }

    @Test("ten pings in one write get ten pongs, in order", arguments: Target.allCases)
    func manyPings(_ target: Target) async throws {
        try await withSession(target) { session in
            let payloads = (1...10).map { Array("ping \($0)".utf8) }
            try await session.send(payloads.map { ClientFrame.ping($0) })
            var pongs: [[UInt8]] = []
            while pongs.count < payloads.count {
                switch try await session.next() {
                case .pong(let payload): pongs.append(payload)
                case .message: continue
                case let other: throw ConformanceFailure(description: "\(other) among the pongs")
                }
            }
            #expect(pongs == payloads)
        }
    }

    @Test("a pong nobody asked for is ignored", arguments: Target.allCases, [payloads[0], payloads[1]])
    func unsolicitedPong(_ target: Target, payload: Payload) async throws {
        try await withSession(target) { session in
            try await session.send(.pong(payload.bytes))
            try await session.expectAccepted(text: target.textMessage(length: 40))
        }
    }
}
