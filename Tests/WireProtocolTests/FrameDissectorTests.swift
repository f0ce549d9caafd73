import Testing
import WireProtocol

@Suite("FrameDissector: RFC 6455 §5.7 examples")
struct FrameDissectorExampleTests {
    @Test("unmasked text \"Hello\": 81 05 48 65 6c 6c 6f")
    func unmaskedHello() throws {
        let (frame, consumed) = try dissectFrame(Examples.unmaskedHello)
        #expect(consumed == 7)
        #expect(frame.fin)
        #expect(!frame.rsv1 && !frame.rsv2 && !frame.rsv3)
        #expect(frame.opcode == .text)
        #expect(frame.opcode.rawValue == 0x1)
        #expect(frame.maskingKey == nil)
        #expect(!frame.isMasked)
        #expect(frame.payloadLength == 5)
        #expect(frame.lengthForm == .sevenBit)
        #expect(frame.header == [0x81, 0x05])
        #expect(frame.wirePayload == [0x48, 0x65, 0x6c, 0x6c, 0x6f])
        #expect(frame.payload == ascii("Hello"))
        #expect(frame.wireBytes == Examples.unmaskedHello)
        #expect(frame.wireSize == 7)
        #expect(frame.closeBody == nil)
        #expect(frame.violations(sentBy: .server).isEmpty)
    }

    @Test("masked text \"Hello\": 81 85 37 fa 21 3d 7f 9f 4d 51 58")
    func maskedHello() throws {
        let (frame, consumed) = try dissectFrame(Examples.maskedHello)
        #expect(consumed == 11)
        #expect(frame.fin)
        #expect(frame.opcode == .text)
        #expect(frame.isMasked)
        #expect(frame.maskingKey == [0x37, 0xfa, 0x21, 0x3d])
        #expect(frame.payloadLength == 5)
        #expect(frame.lengthForm == .sevenBit)
        #expect(frame.header == [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d])
        #expect(frame.wirePayload == [0x7f, 0x9f, 0x4d, 0x51, 0x58])
        #expect(frame.payload == ascii("Hello"))
        #expect(String(decoding: frame.payload, as: UTF8.self) == "Hello")
        #expect(frame.wireBytes == Examples.maskedHello)
        #expect(frame.wireSize == 11)
        #expect(frame.violations(sentBy: .client).isEmpty)
    }

    @Test("masked text \"hello\" with key 37fa213d: 81 85 37 fa 21 3d 5f 9f 4d 51 58")
    func maskedLowercaseHello() throws {
        let (frame, consumed) = try dissectFrame(Examples.maskedLowerHello)
        #expect(consumed == 11)
        #expect(frame.maskingKey == Examples.maskKey)
        #expect(frame.wirePayload == hex("5f 9f 4d 51 58"))
        #expect(frame.payload == ascii("hello"))
        // Masking is its own inverse, in both directions.
        #expect(Frame.applyMask(Examples.maskKey, to: ascii("hello")) == hex("5f 9f 4d 51 58"))
        #expect(Frame.applyMask(Examples.maskKey, to: hex("5f 9f 4d 51 58")) == ascii("hello"))
    }

    @Test("applyMask cycles the key every four bytes")
    func maskCycles() {
        let key = hex("01 02 04 08")
        #expect(Frame.applyMask(key, to: [0, 0, 0, 0, 0, 0, 0xFF]) == [1, 2, 4, 8, 1, 2, 0xFB])
        #expect(Frame.applyMask(key, to: []) == [])
    }

    @Test("unmasked ping \"Hello\": 89 05 48 65 6c 6c 6f")
    func unmaskedPing() throws {
        let (frame, consumed) = try dissectFrame(Examples.unmaskedPing)
        #expect(consumed == 7)
        #expect(frame.opcode == .ping)
        #expect(frame.opcode.isControl)
        #expect(frame.fin)
        #expect(frame.maskingKey == nil)
        #expect(frame.header == [0x89, 0x05])
        #expect(frame.payload == ascii("Hello"))
        #expect(frame.violations(sentBy: .server).isEmpty)
    }

    @Test("masked pong \"Hello\": 8a 85 37 fa 21 3d 7f 9f 4d 51 58")
    func maskedPong() throws {
        let (frame, consumed) = try dissectFrame(Examples.maskedPong)
        #expect(consumed == 11)
        #expect(frame.opcode == .pong)
        #expect(frame.opcode.rawValue == 0xA)
        #expect(frame.maskingKey == Examples.maskKey)
        #expect(frame.header == [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d])
        #expect(frame.payload == ascii("Hello"))
        #expect(frame.violations(sentBy: .client).isEmpty)
    }

    @Test("fragmented unmasked \"Hel\" + \"lo\" dissect as two frames")
    func fragments() throws {
        let (first, firstConsumed) = try dissectFrame(Examples.fragmentHel)
        #expect(firstConsumed == 5)
        #expect(!first.fin)
        #expect(first.opcode == .text)
        #expect(first.payload == ascii("Hel"))
        let (second, secondConsumed) = try dissectFrame(Examples.fragmentLo)
        #expect(secondConsumed == 4)
        #expect(second.fin)
        #expect(second.opcode == .continuation)
        #expect(second.payload == ascii("lo"))
    }

    @Test("256-byte unmasked binary uses the 16-bit length: 82 7E 01 00 ...")
    func binary256() throws {
        let (frame, consumed) = try dissectFrame(Examples.binary256)
        #expect(consumed == 260)
        #expect(frame.opcode == .binary)
        #expect(frame.lengthForm == .sixteenBit)
        #expect(frame.payloadLength == 256)
        #expect(frame.header == [0x82, 0x7E, 0x01, 0x00])
        #expect(frame.wirePayload == Examples.payload256)
        #expect(frame.payload == Examples.payload256)
        #expect(frame.violations(sentBy: .server).isEmpty)
    }

    @Test("65536-byte unmasked binary uses the 64-bit length: 82 7F 00 00 00 00 00 01 00 00 ...")
    func binary65536() throws {
        let (frame, consumed) = try dissectFrame(Examples.binary65536)
        #expect(consumed == 65546)
        #expect(frame.opcode == .binary)
        #expect(frame.lengthForm == .sixtyFourBit)
        #expect(frame.payloadLength == 65536)
        #expect(frame.header == hex("82 7F 00 00 00 00 00 01 00 00"))
        #expect(frame.wirePayload.count == 65536)
        #expect(frame.wirePayload == Examples.payload65536)
        #expect(frame.violations(sentBy: .server).isEmpty)
    }

    @Test("a 16-bit length is big-endian: 82 7E 01 02 → 258 bytes")
    func sixteenBitIsBigEndian() throws {
        let (frame, consumed) = try dissectFrame(hex("82 7E 01 02") + [UInt8](repeating: 0xAB, count: 258))
        #expect(frame.payloadLength == 258)
        #expect(consumed == 262)
    }

    @Test("a masked 16-bit frame has a 8-byte header")
    func masked16BitHeader() throws {
        let payload = [UInt8](repeating: 0x61, count: 200)
        let key = hex("a1 b2 c3 d4")
        let bytes = hex("82 FE 00 C8") + key + Frame.applyMask(key, to: payload)
        let (frame, consumed) = try dissectFrame(bytes)
        #expect(consumed == 208)
        #expect(frame.header == hex("82 FE 00 C8 a1 b2 c3 d4"))
        #expect(frame.maskingKey == key)
        #expect(frame.payload == payload)
        #expect(frame.lengthForm == .sixteenBit)
    }

    @Test("an empty payload: 88 00 is a whole 2-byte frame")
    func emptyFrame() throws {
        let (frame, consumed) = try dissectFrame(hex("88 00"))
        #expect(consumed == 2)
        #expect(frame.opcode == .close)
        #expect(frame.payloadLength == 0)
        #expect(frame.wirePayload.isEmpty)
        #expect(frame.closeBody == nil)
    }

    @Test("bytes after the frame are left alone")
    func trailingBytes() throws {
        let (frame, consumed) = try dissectFrame(Examples.unmaskedHello + Examples.maskedHello + [0x81])
        #expect(consumed == 7)
        #expect(frame.payload == ascii("Hello"))
        #expect(frame.wireBytes == Examples.unmaskedHello)
    }

    @Test("a slice that does not start at index 0 dissects the same")
    func sliceInput() throws {
        let buffer = [0xEE, 0xEE, 0xEE] + Examples.maskedHello
        let result = FrameDissector.dissect(buffer[3...])
        guard case .frame(let frame, let consumed) = result else {
            Issue.record("expected a frame, got \(result)")
            return
        }
        #expect(consumed == 11)
        #expect(frame.payload == ascii("Hello"))
    }

    @Test("FIN, RSV bits and opcode come from byte 0 bit by bit")
    func firstByteBits() throws {
        let (frame, _) = try dissectFrame(hex("7A 00"))  // 0111 1010: FIN=0 RSV1..3=1 opcode 0xA
        #expect(!frame.fin)
        #expect(frame.rsv1 && frame.rsv2 && frame.rsv3)
        #expect(frame.opcode == .pong)
        let (other, _) = try dissectFrame(hex("A2 00"))  // 1010 0010: FIN=1 RSV2 binary
        #expect(other.fin)
        #expect(!other.rsv1 && other.rsv2 && !other.rsv3)
        #expect(other.opcode == .binary)
    }
}

@Suite("FrameDissector: truncated and impossible input")
struct FrameDissectorTruncationTests {
    struct Example: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        /// Bytes up to and including the masking key.
        var headerLength: Int
        var testDescription: String { name }
    }

    /// Every prefix must ask for exactly the bytes up to the end of the header, then exactly the
    /// bytes up to the end of the frame.
    static let examples: [Example] = [
        Example(name: "unmasked Hello", bytes: Examples.unmaskedHello, headerLength: 2),
        Example(name: "masked Hello", bytes: Examples.maskedHello, headerLength: 6),
        Example(name: "masked hello", bytes: Examples.maskedLowerHello, headerLength: 6),
        Example(name: "fragment Hel", bytes: Examples.fragmentHel, headerLength: 2),
        Example(name: "fragment lo", bytes: Examples.fragmentLo, headerLength: 2),
        Example(name: "ping", bytes: Examples.unmaskedPing, headerLength: 2),
        Example(name: "masked pong", bytes: Examples.maskedPong, headerLength: 6),
        Example(name: "binary 256", bytes: Examples.binary256, headerLength: 4),
        Example(name: "binary 65536", bytes: Examples.binary65536, headerLength: 10),
    ]

    @Test("every proper prefix asks for more bytes, the exact number the next step needs",
          arguments: examples)
    func everyPrefix(example: Example) {
        let bytes = example.bytes
        let headerLength = example.headerLength
        let name = example.name
        var failures = 0
        for length in 0..<bytes.count {
            let expected: Int =
                if length < 2 { 2 - length } else if length < headerLength { headerLength - length } else { bytes.count - length }
            let result = FrameDissector.dissect(bytes[..<length])
            if result != .needMoreBytes(expected) {
                failures += 1
                if failures <= 5 {
                    Issue.record("\(name): prefix of \(length) bytes gave \(result), expected needMoreBytes(\(expected))")
                }
            }
        }
        #expect(failures == 0)
        // And the whole thing is a frame.
        #expect(throws: Never.self) { _ = try dissectFrame(bytes) }
    }

    @Test("exact counts for a few prefixes")
    func exactCounts() {
        #expect(FrameDissector.dissect([UInt8]()) == .needMoreBytes(2))
        #expect(FrameDissector.dissect(hex("81")) == .needMoreBytes(1))
        // Masked header missing its whole key, then part of it.
        #expect(FrameDissector.dissect(hex("81 85")) == .needMoreBytes(4))
        #expect(FrameDissector.dissect(hex("81 85 37 fa 21")) == .needMoreBytes(1))
        // Key complete, payload short by 3.
        #expect(FrameDissector.dissect(hex("81 85 37 fa 21 3d 7f 9f")) == .needMoreBytes(3))
        #expect(FrameDissector.dissect(hex("81 05 48 65")) == .needMoreBytes(3))
        // Extended lengths missing.
        #expect(FrameDissector.dissect(hex("82 7E")) == .needMoreBytes(2))
        #expect(FrameDissector.dissect(hex("82 7E 01")) == .needMoreBytes(1))
        #expect(FrameDissector.dissect(hex("82 FE 01 00")) == .needMoreBytes(4))
        #expect(FrameDissector.dissect(hex("82 7F")) == .needMoreBytes(8))
        #expect(FrameDissector.dissect(hex("82 FF 00 00 00 00 00 01 00 00")) == .needMoreBytes(4))
        #expect(FrameDissector.dissect(hex("82 7F 00 00 00 00 00 01 00 00")) == .needMoreBytes(65536))
        #expect(FrameDissector.dissect(Array(Examples.binary256.dropLast(3))) == .needMoreBytes(3))
    }

    @Test("a 64-bit length with its most significant bit set is unreadable")
    func msbSet() {
        let result = FrameDissector.dissect(hex("82 7F 80 00 00 00 00 00 00 05 01 02 03 04 05"))
        guard case .unreadable(let violation) = result else {
            Issue.record("expected unreadable, got \(result)")
            return
        }
        #expect(violation.closeCode == .protocolError)
        // All bits set too.
        let allSet = FrameDissector.dissect(hex("82 7F FF FF FF FF FF FF FF FF"))
        guard case .unreadable = allSet else {
            Issue.record("expected unreadable, got \(allSet)")
            return
        }
    }

    @Test("a length beyond the buffering limit is unreadable with 1009; the limit itself is not")
    func beyondLimit() {
        let over = FrameDissector.dissect(hex("82 7F 00 00 00 01 00 00 00 01"))  // 2^32 + 1
        guard case .unreadable(let violation) = over else {
            Issue.record("expected unreadable, got \(over)")
            return
        }
        #expect(violation.closeCode == .messageTooBig)
        #expect(FrameDissector.dissect(hex("82 7F 00 00 00 01 00 00 00 00")) == .needMoreBytes(1 << 32))
    }

    @Test("random garbage never traps and any frame it finds fits in the input")
    func garbage() {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<2000 {
            let count = Int.random(in: 0...24, using: &generator)
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            switch FrameDissector.dissect(bytes) {
            case .frame(let frame, let consumed):
                #expect(consumed <= bytes.count)
                #expect(consumed == frame.wireSize)
                #expect(Array(bytes.prefix(consumed)) == frame.wireBytes)
                #expect(UInt64(frame.wirePayload.count) == frame.payloadLength)
            case .needMoreBytes(let needed):
                #expect(needed > 0)
            case .unreadable:
                break
            }
        }
    }
}

@Suite("Opcode")
struct OpcodeTests {
    @Test("only the low four bits count")
    func lowNibble() {
        #expect(Opcode(rawValue: 0x81) == .text)
        #expect(Opcode(rawValue: 0xF9) == .ping)
        #expect(Opcode(rawValue: 0x81).rawValue == 0x1)
    }

    @Test("control, reserved and names")
    func classification() {
        let control: [UInt8] = [0x8, 0x9, 0xA, 0xB, 0xF]
        let data: [UInt8] = [0x0, 0x1, 0x2, 0x3, 0x7]
        for raw in control { #expect(Opcode(rawValue: raw).isControl, "\(raw)") }
        for raw in data { #expect(!Opcode(rawValue: raw).isControl, "\(raw)") }
        for raw: UInt8 in 0...15 {
            let reserved = !(raw <= 2 || (8...10).contains(raw))
            #expect(Opcode(rawValue: raw).isReserved == reserved, "\(raw)")
        }
        #expect(Opcode(rawValue: 0x3).name == "reserved data")
        #expect(Opcode(rawValue: 0xB).name == "reserved control")
        #expect(Opcode.text.hex == "0x1")
        #expect(Opcode(rawValue: 0xB).hex == "0xB")
        #expect(Opcode.pong.description == "pong (0xA)")
    }
}
