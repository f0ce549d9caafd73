import Testing
import WireProtocol

/// Autobahn 7: the closing handshake. A valid close is answered with the same code, and then the
/// server ends the TCP connection; a close with a code no one may send, a one-byte payload or a
/// reason that is not UTF-8 is answered with 1002 or 1007; nothing is answered after a close.
@Suite("7 Closing") struct CloseTests {
    /// RFC 6455 §7.4.1 and the IANA registry (1012-1014), the registered range 3000-3999 and the
    /// private range 4000-4999, edges included.
    static let validCodes: [UInt16] = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]
    /// Never on the wire: unassigned (0-999, 1004, 1016-2999), or only for reporting (1005
    /// no code, 1006 dropped, 1015 TLS), or above the private range.
    static let invalidCodes: [UInt16] = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]

    @Test("a close with a valid code is answered with the same code", arguments: Target.allCases, validCodes)
    func validCodeIsEchoed(_ target: Target, code: UInt16) async throws {
        try await withSession(target) { try await $0.closeAndExpect(.close(code: code), answer: code) }
    }

    @Test("a close with a code no one may send is answered with 1002", arguments: Target.allCases, invalidCodes)
    func invalidCodeIs1002(_ target: Target, code: UInt16) async throws {
        try await withSession(target) { try await $0.closeAndExpect(.close(code: code), answer: 1002) }
    }

    @Test("an empty close is answered with 1000", arguments: Target.allCases)
    func emptyClose(_ target: Target) async throws {
        try await withSession(target) { try await $0.closeAndExpect(.close([]), answer: 1000) }
    }

    @Test("a close payload of one byte is answered with 1002", arguments: Target.allCases)
    func oneBytePayload(_ target: Target) async throws {
        try await withSession(target) { try await $0.closeAndExpect(.close([0x03]), answer: 1002) }
    }

    @Test("a close with a reason is answered with its code; 123 bytes of reason is the most", arguments: Target.allCases, [1, 123])
    func closeWithReason(_ target: Target, length: Int) async throws {
        try await withSession(target) { try await $0.closeAndExpect(.close(code: 4321, reason: String(decoding: letters(length), as: UTF8.self)), answer: 4321) }
    }

    @Test("a close of 126 bytes (code and 124 bytes of reason) fails the connection with 1002", arguments: Target.allCases)
    func reasonTooLong(_ target: Target) async throws {
        try await withSession(target) { session in
            try await session.send(.close(code: 1000, reason: String(decoding: letters(124), as: UTF8.self)))
            try await session.expectClose(1002)
        }
    }

    @Test("a close reason that is not UTF-8 is answered with 1007", arguments: Target.allCases)
    func invalidReason(_ target: Target) async throws {
        try await withSession(target) { try await $0.closeAndExpect(.close([0x03, 0xE8] + Array("κόσμε".utf8) + [0xED, 0xA0, 0x80]), answer: 1007) }
    }

    @Test("a message just before the close is answered before the close", arguments: Target.allCases.filter(\.answersInTurn))
    func messageThenClose(_ target: Target) async throws {
        try await withSession(target) { session in
            let message = target.textMessage(length: 40)
            try await session.send(.text(message), .close(code: 1000))
            try await session.expectAnswer(to: .text(message))
            try await session.expectClose(1000, answering: false)
        }
    }

    @Test("a client that stops sending right after a bad frame still gets the close frame", arguments: Target.allCases)
    func badFrameThenFIN(_ target: Target) async throws {
        try await withSession(target) { session in
            try await session.send(ClientFrame(opcode: 0x3, payload: []))
            try await session.stopSending()
            try await session.expectClose(1002, answering: false)
        }
    }

    @Test("after a close, nothing the client sends is answered", arguments: Target.allCases)
    func nothingAfterClose(_ target: Target) async throws {
        try await withSession(target) { session in
            let late = target.textMessage(length: 40)
            try await session.send(.close(code: 1000), .text(late), .ping(Array("late".utf8)), .close(code: 1001))
            let closing = try await session.expectClose(1000, answering: false)
            #expect(!closing.pongs.contains(Array("late".utf8)), "a ping after the close was answered")
            let answered = closing.before.contains { event in
                if case .message(let opcode, let payload) = event { target.isAnswer(opcode, payload, to: .text(late), in: session) } else { false }
            }
            #expect(!answered, "a message after the close was answered")
        }
    }
}
