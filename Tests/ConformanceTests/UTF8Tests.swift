import Testing
import WireProtocol

/// Autobahn 6: text must be valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
/// above U+10FFFF), whole or split across fragments anywhere; invalid text fails the
/// connection with 1007, as soon as the first bad byte arrives.
@Suite("6 UTF-8") struct UTF8Tests {
    struct Sample: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        var testDescription: String { name }
    }

    static let valid: [Sample] = [
        Sample(name: "6.2 Hello-µ@ßöäüàá-UTF-8!!", bytes: Array("Hello-µ@ßöäüàá-UTF-8!!".utf8)),
        Sample(name: "6.5 κόσμε", bytes: Array("κόσμε".utf8)),
        Sample(name: "6.7 first of each length: U+0080 U+0800 U+10000", bytes: Array("\u{80}\u{800}\u{10000}".utf8)),
        Sample(name: "6.8 last of each length: U+007F U+07FF U+FFFF U+10FFFF", bytes: Array("\u{7F}\u{7FF}\u{FFFF}\u{10FFFF}".utf8)),
        Sample(name: "around the surrogates: U+D7FF U+E000 U+FFFD", bytes: Array("\u{D7FF}\u{E000}\u{FFFD}".utf8)),
        Sample(name: "6.22 noncharacters U+FFFE U+1FFFF U+10FFFE", bytes: Array("\u{FFFE}\u{1FFFF}\u{10FFFE}".utf8)),
        Sample(name: "a byte order mark, U+FEFF", bytes: Array("\u{FEFF}after".utf8)),
        Sample(name: "four-byte characters: 𝄞 😀", bytes: Array("𝄞 😀".utf8)),
    ]

    /// From Autobahn 6.3-6.21 and Markus Kuhn's decoder test: each alone is invalid.
    static let invalid: [Sample] = [
        Sample(name: "6.3 κόσμε with a surrogate, then more", bytes: Array("κόσμε".utf8) + [0xED, 0xA0, 0x80] + Array("edited".utf8)),
        Sample(name: "6.6 a lone continuation byte 80", bytes: [0x80]),
        Sample(name: "6.6 a lone continuation byte BF", bytes: Array("ab".utf8) + [0xBF]),
        Sample(name: "6.9 overlong / in two bytes (C0 AF)", bytes: [0xC0, 0xAF]),
        Sample(name: "overlong U+007F in two bytes (C1 BF)", bytes: [0xC1, 0xBF]),
        Sample(name: "6.9 overlong / in three bytes (E0 80 AF)", bytes: [0xE0, 0x80, 0xAF]),
        Sample(name: "6.9 overlong / in four bytes (F0 80 80 AF)", bytes: [0xF0, 0x80, 0x80, 0xAF]),
        Sample(name: "6.10 the highest overlong in three bytes (E0 9F BF)", bytes: [0xE0, 0x9F, 0xBF]),
        Sample(name: "6.11 a single surrogate U+D800", bytes: [0xED, 0xA0, 0x80]),
        Sample(name: "6.11 a single surrogate U+DFFF", bytes: [0xED, 0xBF, 0xBF]),
        Sample(name: "6.12 a surrogate pair U+D800 U+DC00", bytes: [0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80]),
        Sample(name: "6.13 above U+10FFFF (F4 90 80 80)", bytes: [0xF4, 0x90, 0x80, 0x80]),
        Sample(name: "6.14 lead byte F5", bytes: [0xF5, 0x80, 0x80, 0x80]),
        Sample(name: "6.15 bytes FE and FF", bytes: [0xFE, 0xFF]),
        Sample(name: "6.16 a five-byte form (F8 88 80 80 80)", bytes: [0xF8, 0x88, 0x80, 0x80, 0x80]),
        Sample(name: "6.17 a two-byte lead followed by ASCII", bytes: [0xC2, 0x41]),
        Sample(name: "6.18 a three-byte character cut short, then ASCII", bytes: [0xE2, 0x82, 0x41]),
        Sample(name: "6.19 the message ends inside a character", bytes: Array("κόσμ".utf8) + [0xCE]),
    ]

    @Test("valid text is answered", arguments: Target.allCases, valid)
    func validText(_ target: Target, _ sample: Sample) async throws {
        try await withSession(target) { try await $0.expectAccepted(text: target.textMessage(carrying: sample.bytes)) }
    }

    @Test("valid text split into one-byte fragments, through every character, is answered", arguments: Target.allCases)
    func validTextByteByByte(_ target: Target) async throws {
        try await withSession(target) { session in
            let message = target.textMessage(carrying: Array("κόσμε 𝄞 😀 \u{10FFFF}".utf8))
            try await session.expectAccepted(.text(message), as: ClientFrame.fragments(opcode: 0x1, of: message, pieces: message.count))
        }
    }

    @Test("invalid text fails the connection with 1007", arguments: Target.allCases, invalid)
    func invalidText(_ target: Target, _ sample: Sample) async throws {
        try await withSession(target) { session in
            try await session.send(.text(target.textMessage(carrying: sample.bytes)))
            try await session.expectClose(1007)
        }
    }

    @Test("invalid text split across fragments fails the connection with 1007", arguments: Target.allCases, invalid)
    func invalidTextInFragments(_ target: Target, _ sample: Sample) async throws {
        try await withSession(target) { session in
            let message = target.textMessage(carrying: sample.bytes)
            // Cut inside the carried bytes, so that a bad sequence is split between frames.
            let cut = target.carriedOffset + max(1, sample.bytes.count / 2)
            try await session.send(.text(Array(message.prefix(cut)), fin: false), .continuation(Array(message.dropFirst(cut)), fin: true))
            try await session.expectClose(1007)
        }
    }

    @Test("a character begun in one fragment and broken in the next fails with 1007", arguments: Target.allCases)
    func characterBrokenAcrossFragments(_ target: Target) async throws {
        try await withSession(target) { session in
            // CE starts a two-byte character (κ is CE BA); the next fragment goes on with ASCII.
            let message = target.textMessage(carrying: Array("ok ".utf8) + [0xCE] + Array("x".utf8))
            let cut = target.carriedOffset + 4
            try await session.send(.text(Array(message.prefix(cut)), fin: false), .continuation(Array(message.dropFirst(cut)), fin: true))
            try await session.expectClose(1007)
        }
    }

    @Test("invalid text fails at once: before the message's final fragment is sent", arguments: Target.allCases)
    func failFast(_ target: Target) async throws {
        try await withSession(target) { session in
            let message = target.textMessage(carrying: Array("κόσμε".utf8) + [0xED, 0xA0, 0x80] + Array("edited".utf8))
            let cut = target.carriedOffset + 10
            try await session.send(.text(Array(message.prefix(cut)), fin: false))
            try await session.send(.continuation(Array(message.dropFirst(cut)), fin: false))
            try await session.expectClose(1007)  // the final fragment never comes
        }
    }
}
