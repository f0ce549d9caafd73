import Testing
import WireProtocol

@Suite("CloseCode")
struct CloseCodeTests {
    @Test("init(code:) round-trips", arguments: Array(1000...1015) + [1016, 2000, 3000, 3999, 4000, 4999, 0, 65535] as [UInt16])
    func roundTrip(code: UInt16) {
        #expect(CloseCode(code: code).code == code)
    }

    @Test("named cases map to their codes")
    func namedCases() {
        #expect(CloseCode(code: 1000) == .normalClosure)
        #expect(CloseCode(code: 1001) == .goingAway)
        #expect(CloseCode(code: 1002) == .protocolError)
        #expect(CloseCode(code: 1003) == .unsupportedData)
        #expect(CloseCode(code: 1004) == .unknown(1004))
        #expect(CloseCode(code: 1005) == .noStatusReceived)
        #expect(CloseCode(code: 1006) == .abnormalClosure)
        #expect(CloseCode(code: 1007) == .invalidPayloadData)
        #expect(CloseCode(code: 1008) == .policyViolation)
        #expect(CloseCode(code: 1009) == .messageTooBig)
        #expect(CloseCode(code: 1010) == .mandatoryExtension)
        #expect(CloseCode(code: 1011) == .internalError)
        #expect(CloseCode(code: 1012) == .serviceRestart)
        #expect(CloseCode(code: 1013) == .tryAgainLater)
        #expect(CloseCode(code: 1014) == .badGateway)
        #expect(CloseCode(code: 1015) == .tlsHandshakeFailure)
        #expect(CloseCode(code: 4000) == .unknown(4000))
        #expect(CloseCode.messageTooBig.code == 1009)
    }

    @Test("codes that never go on the wire", arguments: [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] as [UInt16])
    func notOnWire(code: UInt16) {
        #expect(!CloseCode(code: code).mayAppearOnWire)
    }

    @Test("codes that may go on the wire", arguments: [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] as [UInt16])
    func onWire(code: UInt16) {
        #expect(CloseCode(code: code).mayAppearOnWire)
    }

    @Test("names for the application ranges and invalid codes")
    func names() {
        #expect(CloseCode.normalClosure.description == "1000 normal closure")
        #expect(CloseCode(code: 3001).name == "registered application code")
        #expect(CloseCode(code: 4001).name == "private application code")
        #expect(CloseCode(code: 2000).name == "invalid code")
    }
}

@Suite("HexDump")
struct HexDumpTests {
    @Test("compact")
    func compact() {
        #expect(HexDump.compact(Examples.maskedHello) == "81 85 37 fa 21 3d 7f 9f 4d 51 58")
        #expect(HexDump.compact([0x00, 0x0F, 0xF0, 0xFF]) == "00 0f f0 ff")
        #expect(HexDump.compact([UInt8]()) == "")
        #expect(HexDump.hex(0x0A) == "0a")
    }

    @Test("bits")
    func bits() {
        #expect(HexDump.bits(0x81) == "1000 0001")
        #expect(HexDump.bits(0x00) == "0000 0000")
        #expect(HexDump.bits(0xFF) == "1111 1111")
        #expect(HexDump.bits(0x7E) == "0111 1110")
        #expect(HexDump.bits(0x05) == "0000 0101")
    }

    @Test("lines: 20 bytes make two lines, offsets 0000 and 0010")
    func lines() {
        let bytes = ascii("The quick brown fox!")
        #expect(bytes.count == 20)
        let lines = HexDump.lines(bytes)
        #expect(lines.count == 2)
        #expect(lines[0] == "0000  54 68 65 20 71 75 69 63  6b 20 62 72 6f 77 6e 20 |The quick brown |")
        #expect(lines[1] == "0010  66 6f 78 21 " + String(repeating: " ", count: 37) + "|fox!|")
        // The ASCII column lines up.
        #expect(lines[0].firstIndex(of: "|").map { lines[0].distance(from: lines[0].startIndex, to: $0) }
                == lines[1].firstIndex(of: "|").map { lines[1].distance(from: lines[1].startIndex, to: $0) })
    }

    @Test("lines: unprintable bytes are dots")
    func unprintable() {
        let lines = HexDump.lines([0x00, 0x7F, 0x41, 0xFF, 0x20, 0x7E])
        #expect(lines == ["0000  00 7f 41 ff 20 7e " + String(repeating: " ", count: 31) + "|..A. ~|"])
    }

    @Test("lines: a limit and a note about the rest")
    func limit() {
        let bytes = (0..<40).map { UInt8($0) }
        let lines = HexDump.lines(bytes, limit: 16)
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("0000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f "))
        #expect(lines[1] == "… 24 more bytes")
        #expect(HexDump.lines([]) == [])
        #expect(HexDump.lines(bytes).map { String($0.prefix(4)) } == ["0000", "0010", "0020"])
    }
}
