import Testing
import WireProtocol

/// Autobahn 1 (framing) and 9 (limits of size and speed, in part): messages in every length form
/// the RFC has, on every route.
@Suite("1 Framing") struct FramingTests {
    /// The edges of the 7-bit (0-125), 16-bit (126-65535) and 64-bit (65536 and up) length forms.
    static let lengths = [0, 1, 125, 126, 127, 128, 65535, 65536, 65537]

    @Test("a text message in every length form is answered", arguments: Target.allCases, lengths)
    func text(_ target: Target, length: Int) async throws {
        try await withSession(target) { try await $0.expectAccepted(text: target.textMessage(length: length)) }
    }

    @Test("a binary message in every length form is answered", arguments: Target.allCases, lengths)
    func binary(_ target: Target, length: Int) async throws {
        try await withSession(target) { try await $0.expectAccepted(binary: allByteValues(length)) }
    }

    @Test("16 MiB in one frame (64-bit length) comes back whole", arguments: [Opcode.text, .binary])
    func sixteenMebibytes(_ opcode: Opcode) async throws {
        let payload = opcode == .text ? letters(16 << 20) : allByteValues(16 << 20)
        let message = SentMessage(opcode: opcode, payload: payload)
        try await withSession(.echo, on: .large) { session in
            try await session.send(ClientFrame(opcode: opcode.rawValue, payload: payload))
            try await session.expectAnswer(to: message, within: .seconds(60))
        }
    }

    @Test("16 MiB in 256 frames of 64 KiB comes back whole", arguments: [Opcode.text, .binary])
    func sixteenMebibytesFragmented(_ opcode: Opcode) async throws {
        let payload = opcode == .text ? letters(16 << 20) : allByteValues(16 << 20)
        try await withSession(.echo, on: .large) { session in
            try await session.send(ClientFrame.fragments(opcode: opcode.rawValue, of: payload, pieces: 256))
            try await session.expectAnswer(to: SentMessage(opcode: opcode, payload: payload), within: .seconds(60))
        }
    }

    @Test("messages in one TCP write are each answered", arguments: Target.allCases)
    func batched(_ target: Target) async throws {
        try await withSession(target) { session in
            let messages = [10, 200, 70_000].map { target.textMessage(length: $0) }
            try await session.send(messages.map { ClientFrame.text($0) })
            guard target.answersMessages else { return try await session.expectOpen() }
            for message in messages { try await session.expectAnswer(to: .text(message)) }
            try await session.expectOpen()
        }
    }

    @Test("echo answers messages in the order they came")
    func echoKeepsOrder() async throws {
        try await withSession(.echo) { session in
            let messages = (1...20).map { Array("message \($0)".utf8) }
            try await session.send(messages.map { ClientFrame.text($0) })
            for message in messages {
                #expect(try await session.next() == .message(.text, Array("Echo: ".utf8) + message))
            }
        }
    }

    @Test("a frame written one byte at a time is answered", arguments: Target.allCases)
    func byteByByte(_ target: Target) async throws {
        try await withSession(target) { session in
            let message = target.textMessage(length: 300)  // a 16-bit length, so the header itself arrives in pieces
            for byte in ClientFrame.text(message).bytes { try await session.send(raw: [byte]) }
            if target.answersMessages { try await session.expectAnswer(to: .text(message)) }
            try await session.expectOpen()
        }
    }
}

/// Every byte value in turn, so that a binary payload checks all of them.
func allByteValues(_ count: Int) -> [UInt8] {
    var bytes = (0...255).map { UInt8($0) }
    while bytes.count < count { bytes += bytes }
    return Array(bytes.prefix(count))
}
