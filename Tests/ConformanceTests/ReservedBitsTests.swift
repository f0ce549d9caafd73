import Testing
import WireProtocol

/// Autobahn 3: RSV1-3 must be 0 when no extension gives them a meaning (the lab negotiates none),
/// on every kind of frame.
@Suite("3 Reserved bits") struct ReservedBitsTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let frame: ClientFrame
        /// A good message first, in the same write: its answer must still come.
        let afterGoodMessage: Bool

        var testDescription: String { name }
    }

    /// Autobahn's cases 3.1-3.7: each RSV value from 1 to 7, on text, binary, ping and close.
    static let cases: [Case] = [
        Case(name: "3.1 text, RSV=1", frame: ClientFrame(rsv: 1, opcode: 0x1, payload: Array("Hello, world!".utf8)), afterGoodMessage: false),
        Case(name: "3.2 text, RSV=2, after a good one", frame: ClientFrame(rsv: 2, opcode: 0x1, payload: Array("Hello, world!".utf8)), afterGoodMessage: true),
        Case(name: "3.3 text, RSV=3, after a good one", frame: ClientFrame(rsv: 3, opcode: 0x1, payload: Array("Hello, world!".utf8)), afterGoodMessage: true),
        Case(name: "3.4 text, RSV=4, after a good one", frame: ClientFrame(rsv: 4, opcode: 0x1, payload: Array("Hello, world!".utf8)), afterGoodMessage: true),
        Case(name: "3.5 binary, RSV=5", frame: ClientFrame(rsv: 5, opcode: 0x2, payload: allByteValues(8)), afterGoodMessage: false),
        Case(name: "3.6 ping, RSV=6", frame: ClientFrame(rsv: 6, opcode: 0x9, payload: Array("Hello, world!".utf8)), afterGoodMessage: false),
        Case(name: "3.7 close, RSV=7", frame: ClientFrame(rsv: 7, opcode: 0x8, payload: [0x03, 0xE8]), afterGoodMessage: false),
        Case(name: "pong, RSV=1", frame: ClientFrame(rsv: 1, opcode: 0xA, payload: []), afterGoodMessage: false),
        Case(name: "continuation, RSV=4", frame: ClientFrame(rsv: 4, opcode: 0x0, payload: Array("tail".utf8)), afterGoodMessage: false),
    ]

    @Test("a frame with RSV bits fails the connection with 1002", arguments: Target.allCases, cases)
    func reservedBits(_ target: Target, _ testCase: Case) async throws {
        try await withSession(target) { session in
            try await expectFailure(of: session, by: testCase.frame, afterGoodMessage: testCase.afterGoodMessage, code: 1002)
        }
    }
}

/// Sends `frame` (after a good message when asked, and with a ping after it), then checks the
/// connection fails with `code`: the good message answered first by an endpoint that answers in
/// turn, and no pong, as nothing after the bad frame may be acted on.
func expectFailure(of session: Session, by frame: ClientFrame, afterGoodMessage: Bool, code: UInt16) async throws {
    let good = session.target.textMessage(length: 30)
    let ping = Array("after the bad frame".utf8)
    var frames = afterGoodMessage ? [ClientFrame.text(good)] : []
    // A continuation needs a message to continue; without one the case would test something else.
    if frame.opcode == 0x0 { frames.append(.text(session.target.textMessage(length: 20), fin: false)) }
    frames += [frame, .ping(ping)]
    try await session.send(frames)
    if afterGoodMessage && session.target.answersInTurn {
        try await session.expectAnswer(to: .text(good))
    }
    let closing = try await session.expectClose(code)
    #expect(!closing.pongs.contains(ping), "the ping after the bad frame was answered")
}
