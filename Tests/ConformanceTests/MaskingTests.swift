import Testing
import WireProtocol

/// RFC 6455 §5.1: every frame a client sends is masked, and a server fails the connection on one
/// that is not (Autobahn leaves this out: its client always masks).
@Suite("10 Masking") struct MaskingTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let frames: [ClientFrame]
        var testDescription: String { name }
    }

    static let unmasked: [Case] = [
        Case(name: "text", frames: [ClientFrame(opcode: 0x1, payload: Array("hello".utf8), maskingKey: nil)]),
        Case(name: "binary", frames: [ClientFrame(opcode: 0x2, payload: [1, 2, 3], maskingKey: nil)]),
        Case(name: "ping", frames: [ClientFrame(opcode: 0x9, payload: Array("hello".utf8), maskingKey: nil)]),
        Case(name: "close", frames: [ClientFrame(opcode: 0x8, payload: [0x03, 0xE8], maskingKey: nil)]),
        Case(name: "a continuation in a masked message", frames: [.text("hel", fin: false), ClientFrame(opcode: 0x0, payload: Array("lo".utf8), maskingKey: nil)]),
    ]

    @Test("an unmasked frame fails the connection with 1002", arguments: Target.allCases, unmasked)
    func unmaskedFrame(_ target: Target, _ testCase: Case) async throws {
        try await withSession(target) { session in
            try await session.send(testCase.frames)
            let closing = try await session.expectClose(1002)
            #expect(closing.reason.contains("masked"))
        }
    }

    @Test("an unmasked frame in the same TCP write as the upgrade request fails with 1002", arguments: Target.allCases)
    func unmaskedWithTheRequest(_ target: Target) async throws {
        let lab = try await Labs.shared.lab(.standard)
        let frame = ClientFrame(opcode: 0x1, payload: Array("too early".utf8), maskingKey: nil)
        let session = try await Session.open(target, on: lab, withRequest: frame.bytes)
        defer { session.close() }
        try await session.expectClose(1002)
    }

    @Test("a masked frame in the same TCP write as the upgrade request is answered", arguments: Target.allCases.filter { $0 != .tokenInFirstMessage })
    func maskedWithTheRequest(_ target: Target) async throws {
        let lab = try await Labs.shared.lab(.standard)
        let message = target.textMessage(length: 40)
        let session = try await Session.open(target, on: lab, withRequest: ClientFrame.text(message).bytes)
        defer { session.close() }
        if target.answersMessages { try await session.expectAnswer(to: .text(message)) }
        try await session.expectOpen()
    }

    @Test("a masking key of four zero bytes is still a masked frame", arguments: Target.allCases)
    func zeroKey(_ target: Target) async throws {
        try await withSession(target) { session in
            let message = target.textMessage(length: 40)
            var frame = ClientFrame.text(message)
            frame.maskingKey = [0, 0, 0, 0]
            try await session.send(raw: frame.bytes)  // as built: `send` would pick a fresh key
            if target.answersMessages { try await session.expectAnswer(to: .text(message)) }
            try await session.expectOpen()
        }
    }
}
