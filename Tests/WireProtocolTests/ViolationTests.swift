import Testing
import WireProtocol

/// Dissects `bytes` and returns the violations of the single frame they hold.
private func violations(
    _ bytes: [UInt8], sentBy sender: Role, extensionsNegotiated: Bool = false,
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> [ProtocolViolation] {
    let (frame, consumed) = try dissectFrame(bytes, sourceLocation: sourceLocation)
    #expect(consumed == bytes.count, sourceLocation: sourceLocation)
    return frame.violations(sentBy: sender, extensionsNegotiated: extensionsNegotiated)
}

/// A server close frame carrying `code` and `reason`.
private func closeFrame(code: UInt16, reason: [UInt8] = []) -> [UInt8] {
    let body = [UInt8(code >> 8), UInt8(code & 0xFF)] + reason
    return [0x88, UInt8(body.count)] + body
}

@Suite("Frame.violations(sentBy:)")
struct FrameViolationTests {
    @Test("well-formed examples break no rule for the right sender")
    func wellFormed() throws {
        #expect(try violations(Examples.unmaskedHello, sentBy: .server).isEmpty)
        #expect(try violations(Examples.maskedHello, sentBy: .client).isEmpty)
        #expect(try violations(Examples.unmaskedPing, sentBy: .server).isEmpty)
        #expect(try violations(Examples.maskedPong, sentBy: .client).isEmpty)
        #expect(try violations(Examples.binary256, sentBy: .server).isEmpty)
        #expect(try violations(Examples.binary65536, sentBy: .server).isEmpty)
        #expect(try violations(Examples.fragmentHel, sentBy: .server).isEmpty)
        #expect(try violations(Examples.fragmentLo, sentBy: .server).isEmpty)
    }

    @Test("RSV1, RSV2 or RSV3 set without an extension", arguments: [0xC1, 0xA1, 0x91, 0xF1] as [UInt8])
    func rsvBits(firstByte: UInt8) throws {
        let bytes = [firstByte, 0x05] + ascii("Hello")
        let found = try violations(bytes, sentBy: .server)
        #expect(found.count == 1)
        #expect(found.first?.closeCode == .protocolError)
        #expect(found.first?.description.contains("RSV") == true)
        #expect(try violations(bytes, sentBy: .server, extensionsNegotiated: true).isEmpty)
    }

    @Test("reserved opcodes 0x3 and 0xB", arguments: [0x83, 0x8B] as [UInt8])
    func reservedOpcode(firstByte: UInt8) throws {
        let found = try violations([firstByte, 0x00], sentBy: .server)
        #expect(found.count == 1)
        #expect(found.first?.closeCode == .protocolError)
        #expect(found.first?.description.contains("reserved") == true)
    }

    @Test("every reserved opcode is flagged, no defined one is")
    func allOpcodes() throws {
        for raw: UInt8 in 0...15 {
            let found = try violations([0x80 | raw, 0x00], sentBy: .server)
            let reserved = Opcode(rawValue: raw).isReserved
            #expect(found.contains { $0.description.contains("reserved") } == reserved, "opcode \(raw)")
        }
    }

    @Test("control frame with a 126-byte payload (16-bit form)")
    func controlTooLong() throws {
        let bytes = hex("89 7E 00 7E") + [UInt8](repeating: 0x2A, count: 126)
        let (frame, _) = try dissectFrame(bytes)
        #expect(frame.lengthForm == .sixteenBit)
        #expect(frame.payloadLength == 126)
        let found = frame.violations(sentBy: .server)
        // The 16-bit form is the minimal one for 126, so only the control limit is broken.
        #expect(found.count == 1)
        #expect(found.first?.description.contains("125") == true)
        // 125 bytes is still fine.
        #expect(try violations(hex("89 7D") + [UInt8](repeating: 0, count: 125), sentBy: .server).isEmpty)
    }

    @Test("fragmented control frame: ping with FIN=0")
    func fragmentedPing() throws {
        let found = try violations(hex("09 05") + ascii("Hello"), sentBy: .server)
        #expect(found.count == 1)
        #expect(found.first?.description.contains("FIN") == true)
        #expect(try violations(hex("08 00"), sentBy: .server).count == 1)
        #expect(try violations(hex("0A 00"), sentBy: .server).count == 1)
    }

    @Test("non-minimal length: 16-bit form used for length 5")
    func nonMinimal16() throws {
        let bytes = hex("81 7E 00 05") + ascii("Hello")
        let (frame, consumed) = try dissectFrame(bytes)
        #expect(consumed == 9)
        #expect(frame.payloadLength == 5)
        #expect(frame.lengthForm == .sixteenBit)
        #expect(frame.payload == ascii("Hello"))
        let found = frame.violations(sentBy: .server)
        #expect(found.count == 1)
        #expect(found.first?.description.contains("shortest") == true)
    }

    @Test("non-minimal length: 64-bit form used for 256 bytes, 16-bit form for 125")
    func nonMinimal64() throws {
        let long = hex("82 7F 00 00 00 00 00 00 01 00") + Examples.payload256
        #expect(try violations(long, sentBy: .server).count == 1)
        let short = hex("82 7E 00 7D") + [UInt8](repeating: 1, count: 125)
        #expect(try violations(short, sentBy: .server).count == 1)
        // 65535 is the largest the 16-bit form holds; 64-bit form for it is not minimal.
        #expect(Frame.LengthForm.minimal(for: 125) == .sevenBit)
        #expect(Frame.LengthForm.minimal(for: 126) == .sixteenBit)
        #expect(Frame.LengthForm.minimal(for: 65535) == .sixteenBit)
        #expect(Frame.LengthForm.minimal(for: 65536) == .sixtyFourBit)
    }

    @Test("unmasked client frame, masked server frame")
    func maskingRules() throws {
        let unmasked = try violations(Examples.unmaskedHello, sentBy: .client)
        #expect(unmasked.count == 1)
        #expect(unmasked.first?.description.contains("masked") == true)
        #expect(unmasked.first?.closeCode == .protocolError)
        let masked = try violations(Examples.maskedHello, sentBy: .server)
        #expect(masked.count == 1)
        #expect(masked.first?.description.contains("masked") == true)
    }

    @Test("close with a one-byte payload")
    func closeOneByte() throws {
        let (frame, _) = try dissectFrame(hex("88 01 03"))
        #expect(frame.closeBody == nil)
        let found = frame.violations(sentBy: .server)
        #expect(found.count == 1)
        #expect(found.first?.closeCode == .protocolError)
    }

    @Test("an empty close is fine")
    func closeEmpty() throws {
        #expect(try violations(hex("88 00"), sentBy: .server).isEmpty)
    }

    @Test("close codes that may not be sent", arguments: [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] as [UInt16])
    func invalidCloseCode(code: UInt16) throws {
        let bytes = closeFrame(code: code)
        let (frame, _) = try dissectFrame(bytes)
        #expect(frame.closeBody?.code.code == code)
        let found = frame.violations(sentBy: .server)
        #expect(found.count == 1)
        #expect(found.first?.closeCode == .protocolError)
    }

    @Test("close codes that may be sent", arguments: [1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 3999, 4000, 4999] as [UInt16])
    func validCloseCode(code: UInt16) throws {
        #expect(try violations(closeFrame(code: code), sentBy: .server).isEmpty)
        #expect(try violations(closeFrame(code: code, reason: ascii("bye")), sentBy: .server).isEmpty)
    }

    @Test("close body: code big-endian, then the reason")
    func closeBody() throws {
        let (frame, _) = try dissectFrame(hex("88 05 03 E8 62 79 65"))
        let body = try #require(frame.closeBody)
        #expect(body.code == .normalClosure)
        #expect(body.code.code == 1000)
        #expect(body.reason == ascii("bye"))
        let (other, _) = try dissectFrame(hex("88 02 0F A0"))
        #expect(other.closeBody?.code == .unknown(4000))
    }

    @Test("a masked close from the client is read after unmasking")
    func maskedClose() throws {
        let key = hex("11 22 33 44")
        let body = hex("03 E9") + ascii("gone")
        let bytes = [0x88, 0x80 | UInt8(body.count)] + key + Frame.applyMask(key, to: body)
        let (frame, _) = try dissectFrame(bytes)
        #expect(frame.closeBody?.code == .goingAway)
        #expect(frame.closeBody?.reason == ascii("gone"))
        #expect(frame.violations(sentBy: .client).isEmpty)
    }

    @Test("close reason that is not UTF-8 answers 1007")
    func closeReasonInvalidUTF8() throws {
        let found = try violations(hex("88 04 03 E8 FF FE"), sentBy: .server)
        #expect(found.count == 1)
        #expect(found.first?.closeCode == .invalidPayloadData)
        // A valid multi-byte reason is fine: "€".
        #expect(try violations(hex("88 05 03 E8 E2 82 AC"), sentBy: .server).isEmpty)
        // A reason cut in the middle of a character is not.
        #expect(try violations(hex("88 04 03 E8 E2 82"), sentBy: .server).first?.closeCode == .invalidPayloadData)
    }

    @Test("several rules broken at once are all reported")
    func several() throws {
        // FIN=0, RSV1, opcode 0xB, 16-bit form for length 2, unmasked from a client.
        let found = try violations(hex("4B 7E 00 02 00 00"), sentBy: .client)
        #expect(found.count == 5)
    }
}

@Suite("Strict UTF-8")
struct StrictUTF8Tests {
    @Test("valid text decodes")
    func valid() {
        #expect(String(validatingUTF8Bytes: ascii("Hello")) == "Hello")
        #expect(String(validatingUTF8Bytes: hex("e2 82 ac")) == "€")
        #expect(String(validatingUTF8Bytes: hex("f0 9f 98 80")) == "😀")
        #expect(String(validatingUTF8Bytes: [UInt8]()) == "")
    }

    @Test("invalid sequences are refused", arguments: [
        "c3 28",  // bad continuation
        "ff",  // never valid
        "e2 82",  // truncated
        "82 ac",  // lone continuation bytes
        "c0 80",  // overlong NUL
        "ed a0 80",  // UTF-16 surrogate
        "f4 90 80 80",  // above U+10FFFF
    ])
    func invalid(sequence: String) {
        #expect(String(validatingUTF8Bytes: hex(sequence)) == nil)
    }
}
