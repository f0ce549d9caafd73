import Testing
import WireProtocol

/// The frames of a stream's items, in order.
private func frames(_ items: [FrameStream.Item]) -> [Frame] {
    items.compactMap { if case .frame(let frame, _) = $0 { frame } else { nil } }
}

/// The violations reported for each frame item, in order.
private func violationLists(_ items: [FrameStream.Item]) -> [[ProtocolViolation]] {
    items.compactMap { if case .frame(_, let violations) = $0 { violations } else { nil } }
}

private func frame(_ bytes: [UInt8]) throws -> Frame { try dissectFrame(bytes).frame }

@Suite("FrameStream")
struct FrameStreamTests {
    @Test("RFC fragmented \"Hel\" + \"lo\": two frames, then the reassembled message")
    func fragmentedHello() throws {
        var stream = FrameStream(sender: .server)
        let items = stream.append(Examples.fragmentHel + Examples.fragmentLo)
        let expected: [FrameStream.Item] = [
            .frame(try frame(Examples.fragmentHel), violations: []),
            .frame(try frame(Examples.fragmentLo), violations: []),
            .reassembled(opcode: .text, payload: ascii("Hello"), fragments: 2),
        ]
        #expect(items == expected)
        #expect(stream.pendingByteCount == 0)
    }

    @Test("fragments appended one call each")
    func fragmentsSeparately() throws {
        var stream = FrameStream(sender: .server)
        let first = stream.append(Examples.fragmentHel)
        #expect(first == [.frame(try frame(Examples.fragmentHel), violations: [])])
        let second = stream.append(Examples.fragmentLo)
        #expect(second == [
            .frame(try frame(Examples.fragmentLo), violations: []),
            .reassembled(opcode: .text, payload: ascii("Hello"), fragments: 2),
        ])
    }

    @Test("several frames in one buffer")
    func severalInOneBuffer() throws {
        var stream = FrameStream(sender: .server)
        let buffer = Examples.unmaskedHello + Examples.unmaskedPing + Examples.binary256 + hex("88 02 03 E8")
        let items = stream.append(buffer)
        #expect(items.count == 4)
        #expect(frames(items).map(\.opcode) == [.text, .ping, .binary, .close])
        #expect(frames(items).map(\.wireSize) == [7, 7, 260, 4])
        #expect(frames(items).flatMap(\.wireBytes) == buffer)
        #expect(violationLists(items) == [[], [], [], []])
        #expect(stream.pendingByteCount == 0)
    }

    @Test("several masked client frames in one buffer")
    func severalClientFrames() throws {
        var stream = FrameStream(sender: .client)
        let items = stream.append(Examples.maskedHello + Examples.maskedPong + Examples.maskedLowerHello)
        #expect(frames(items).map(\.payload) == [ascii("Hello"), ascii("Hello"), ascii("hello")])
        #expect(violationLists(items) == [[], [], []])
    }

    @Test("one frame split across single-byte appends gives the same frames",
          arguments: [
            Examples.unmaskedHello, Examples.maskedHello, Examples.binary256,
            Examples.fragmentHel + Examples.fragmentLo,
            Examples.unmaskedPing + Examples.unmaskedHello + Examples.binary256 + Examples.fragmentHel + Examples.fragmentLo,
          ])
    func byteByByte(buffer: [UInt8]) {
        var whole = FrameStream(sender: .server)
        let expected = whole.append(buffer)
        #expect(!expected.isEmpty)

        var stream = FrameStream(sender: .server)
        var items: [FrameStream.Item] = []
        for (index, byte) in buffer.enumerated() {
            let produced = stream.append([byte])
            items += produced
            // Nothing is held back once a frame boundary is reached.
            if !produced.isEmpty { #expect(stream.pendingByteCount == 0, "after byte \(index)") }
        }
        #expect(items == expected)
        #expect(stream.pendingByteCount == 0)
    }

    @Test("uneven chunk sizes give the same frames", arguments: [2, 3, 5, 7, 13, 64])
    func chunked(size: Int) {
        let buffer = Examples.unmaskedPing + Examples.binary256 + Examples.fragmentHel + Examples.fragmentLo + Examples.unmaskedHello
        var whole = FrameStream(sender: .server)
        let expected = whole.append(buffer)
        var stream = FrameStream(sender: .server)
        var items: [FrameStream.Item] = []
        var offset = 0
        while offset < buffer.count {
            items += stream.append(buffer[offset..<min(offset + size, buffer.count)])
            offset += size
        }
        #expect(items == expected)
    }

    @Test("incomplete tail is held back and counted")
    func pending() {
        var stream = FrameStream(sender: .server)
        let items = stream.append(Examples.unmaskedHello + Examples.maskedHello.prefix(4))
        #expect(frames(items).count == 1)
        #expect(stream.pendingByteCount == 4)
        let rest = stream.append(Examples.maskedHello.dropFirst(4))
        #expect(frames(rest).map(\.payload) == [ascii("Hello")])
        #expect(stream.pendingByteCount == 0)
    }

    @Test("the 65536-byte frame arriving in 1000-byte chunks")
    func bigFrameChunked() {
        var stream = FrameStream(sender: .server)
        var items: [FrameStream.Item] = []
        let buffer = Examples.binary65536
        var offset = 0
        while offset < buffer.count {
            let end = min(offset + 1000, buffer.count)
            items += stream.append(buffer[offset..<end])
            offset = end
            if offset < buffer.count { #expect(stream.pendingByteCount == offset) }
        }
        #expect(frames(items).count == 1)
        #expect(frames(items).first?.payloadLength == 65536)
        #expect(frames(items).first?.payload == Examples.payload65536)
    }

    @Test("text frame that is not UTF-8")
    func invalidText() {
        var stream = FrameStream(sender: .server)
        let items = stream.append(hex("81 02 C3 28"))
        let found = violationLists(items)
        #expect(found.count == 1)
        #expect(found.first?.count == 1)
        #expect(found.first?.first?.closeCode == .invalidPayloadData)
        // The same bytes as binary are fine.
        var binary = FrameStream(sender: .server)
        #expect(violationLists(binary.append(hex("82 02 C3 28"))) == [[]])
    }

    @Test("masked text from a client is checked after unmasking")
    func maskedTextChecked() {
        var stream = FrameStream(sender: .client)
        // "€" masked with 37 fa 21 3d: e2^37 82^fa ac^21 = d5 78 8d
        let valid = stream.append(hex("81 83 37 fa 21 3d d5 78 8d"))
        #expect(violationLists(valid) == [[]])
        #expect(frames(valid).first?.payload == hex("e2 82 ac"))
        // Raw (unmasked) bytes e2 82 ac sent masked become d5 78 8d after unmasking → invalid.
        let invalid = stream.append(hex("81 83 37 fa 21 3d e2 82 ac"))
        #expect(violationLists(invalid).first?.map(\.closeCode) == [.invalidPayloadData])
    }

    @Test("UTF-8 valid only across fragments: € split as e2 | 82 ac")
    func utf8AcrossFragments() {
        var stream = FrameStream(sender: .server)
        let first = stream.append(hex("01 01 e2"))
        #expect(violationLists(first) == [[]])
        let second = stream.append(hex("80 02 82 ac"))
        #expect(second.count == 2)
        #expect(violationLists(second) == [[]])
        #expect(second.last == .reassembled(opcode: .text, payload: hex("e2 82 ac"), fragments: 2))
        if case .reassembled(_, let payload, _) = second.last {
            #expect(String(validatingUTF8Bytes: payload) == "€")
        }
    }

    @Test("fragments that never form valid UTF-8: the last fragment carries 1007")
    func invalidAcrossFragments() {
        var stream = FrameStream(sender: .server)
        let items = stream.append(hex("01 01 e2") + hex("80 01 28"))
        let found = violationLists(items)
        #expect(found.count == 2)
        #expect(found[0].isEmpty)
        #expect(found[1].map(\.closeCode) == [.invalidPayloadData])
        #expect(items.last == .reassembled(opcode: .text, payload: hex("e2 28"), fragments: 2))
    }

    @Test("binary in three fragments, with a ping in between")
    func binaryThreeFragments() {
        var stream = FrameStream(sender: .server)
        let items = stream.append(hex("02 01 01") + hex("89 00") + hex("00 01 02") + hex("80 01 03"))
        #expect(items.count == 5)
        #expect(violationLists(items) == [[], [], [], []])
        #expect(frames(items).map(\.opcode) == [.binary, .ping, .continuation, .continuation])
        #expect(items.last == .reassembled(opcode: .binary, payload: [1, 2, 3], fragments: 3))
    }

    @Test("continuation with no message to continue")
    func orphanContinuation() {
        var stream = FrameStream(sender: .server)
        let items = stream.append(Examples.fragmentLo)
        #expect(items.count == 1)  // nothing reassembled
        #expect(violationLists(items).first?.count == 1)
        #expect(violationLists(items).first?.first?.closeCode == .protocolError)
    }

    @Test("continuation after a finished fragmented message is an orphan")
    func continuationAfterFinish() {
        var stream = FrameStream(sender: .server)
        _ = stream.append(Examples.fragmentHel + Examples.fragmentLo)
        let items = stream.append(Examples.fragmentLo)
        #expect(violationLists(items).map(\.count) == [1])
        #expect(items.count == 1)
    }

    @Test("new text frame while a fragmented message is open")
    func interleavedDataFrame() {
        var stream = FrameStream(sender: .server)
        let items = stream.append(Examples.fragmentHel + Examples.unmaskedHello)
        let found = violationLists(items)
        #expect(found.count == 2)
        #expect(found[0].isEmpty)
        #expect(found[1].count == 1)
        #expect(found[1].first?.closeCode == .protocolError)
        // The new, final frame abandoned the open message: a continuation now has nothing to continue.
        let after = stream.append(Examples.fragmentLo)
        #expect(violationLists(after).map(\.count) == [1])
        #expect(!after.contains { if case .reassembled = $0 { true } else { false } })
    }

    @Test("per-frame rules are reported by the stream too")
    func perFrameRules() {
        var stream = FrameStream(sender: .client)
        let items = stream.append(Examples.unmaskedHello)
        #expect(violationLists(items).map(\.count) == [1])
    }

    @Test("a 64-bit length with its top bit set makes the stream unreadable for good")
    func unreadable() {
        var stream = FrameStream(sender: .server)
        let bad = hex("82 7F 80 00 00 00 00 00 00 01 AA")
        let items = stream.append(Examples.unmaskedHello + bad)
        #expect(items.count == 2)
        #expect(frames(items).map(\.payload) == [ascii("Hello")])
        guard case .unreadable(let violation, let remaining) = items.last else {
            Issue.record("expected unreadable, got \(String(describing: items.last))")
            return
        }
        #expect(remaining == bad)
        #expect(violation.closeCode == .protocolError)
        #expect(stream.append(Examples.unmaskedHello).isEmpty)
        #expect(stream.pendingByteCount == 0)
    }
}
