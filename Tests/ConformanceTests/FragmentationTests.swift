import Testing
import WireProtocol

/// Autobahn 5: a message may come in fragments, with control frames between them; control frames
/// may not be fragmented; a continuation must continue something, and a new message must wait
/// for the last one's final fragment.
@Suite("5 Fragmentation") struct FragmentationTests {
    @Test("a message in fragments is answered as one", arguments: Target.allCases, [2, 3, 100])
    func fragmentedText(_ target: Target, pieces: Int) async throws {
        try await withSession(target) { session in
            let message = target.textMessage(length: 1000)
            try await session.expectAccepted(.text(message), as: ClientFrame.fragments(opcode: 0x1, of: message, pieces: pieces))
        }
    }

    @Test("a binary message in fragments is answered as one", arguments: Target.allCases)
    func fragmentedBinary(_ target: Target) async throws {
        try await withSession(target) { session in
            let message = allByteValues(1000)
            try await session.expectAccepted(.binary(message), as: ClientFrame.fragments(opcode: 0x2, of: message, pieces: 4))
        }
    }

    @Test("empty fragments are fine", arguments: Target.allCases)
    func emptyFragments(_ target: Target) async throws {
        try await withSession(target) { session in
            let message = target.textMessage(length: 50)
            let frames: [ClientFrame] = [
                .text([], fin: false), .continuation(Array(message.prefix(20)), fin: false), .continuation([], fin: false),
                .continuation(Array(message.dropFirst(20)), fin: false), .continuation([], fin: true),
            ]
            try await session.expectAccepted(.text(message), as: frames)
        }
    }

    @Test("a ping between fragments is answered before the message is complete", arguments: Target.allCases)
    func pingBetweenFragments(_ target: Target) async throws {
        try await withSession(target) { session in
            let message = target.textMessage(length: 60)
            let ping = Array("between fragments".utf8)
            try await session.send(.text(Array(message.prefix(30)), fin: false), .ping(ping))
            try await session.expectPong(ping)  // the final fragment has not even been sent
            try await session.send(.continuation(Array(message.dropFirst(30)), fin: true))
            if target.answersMessages { try await session.expectAnswer(to: .text(message)) }
            try await session.expectOpen()
        }
    }

    @Test("a pong between fragments is ignored", arguments: Target.allCases)
    func pongBetweenFragments(_ target: Target) async throws {
        try await withSession(target) { session in
            let message = target.textMessage(length: 60)
            let frames: [ClientFrame] = [.text(Array(message.prefix(30)), fin: false), .pong(Array("nobody asked".utf8)), .continuation(Array(message.dropFirst(30)), fin: true)]
            try await session.expectAccepted(.text(message), as: frames)
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let frames: [ClientFrame]
        var testDescription: String { name }
    }

    static let broken: [Case] = [
        Case(name: "5.1 a fragmented ping", frames: [ClientFrame(fin: false, opcode: 0x9, payload: Array("frag".utf8)), .continuation("ment", fin: true)]),
        Case(name: "5.2 a fragmented pong", frames: [ClientFrame(fin: false, opcode: 0xA, payload: Array("frag".utf8)), .continuation("ment", fin: true)]),
        Case(name: "a fragmented close", frames: [ClientFrame(fin: false, opcode: 0x8, payload: [0x03, 0xE8]), .continuation("", fin: true)]),
        Case(name: "5.9 a final continuation with nothing to continue", frames: [.continuation("fragment", fin: true)]),
        Case(name: "5.10 a first continuation with nothing to continue", frames: [.continuation("fragment", fin: false), .continuation("more", fin: true)]),
        Case(name: "5.12 a continuation after a whole message", frames: [.text("whole"), .continuation("more", fin: true)]),
        Case(name: "5.18 a text frame where a continuation was due", frames: [.text("frag", fin: false), .text("ment")]),
        Case(name: "5.19 a binary frame inside a text message", frames: [.text("frag", fin: false), .binary([1, 2, 3])]),
        Case(name: "a text frame inside a binary message", frames: [.binary([1, 2], fin: false), .text("ment", fin: false)]),
    ]

    @Test("a broken fragment sequence fails the connection with 1002", arguments: Target.allCases, broken)
    func brokenSequence(_ target: Target, _ testCase: Case) async throws {
        try await withSession(target) { session in
            let ping = Array("after the bad frame".utf8)
            try await session.send(testCase.frames + [.ping(ping)])
            let closing = try await session.expectClose(1002)
            #expect(!closing.pongs.contains(ping), "the ping after the bad frame was answered")
        }
    }
}
