import Testing
import WireProtocol

/// Inputs the fuzz targets (fuzz/, `make fuzz`) found wrong, minimized, kept so they stay fixed,
/// and one found while writing a target's invariant.
@Suite struct FuzzFindingsTests {
    /// fuzz target `json`: a number beyond a Double's range read as infinity, which `text` wrote
    /// as `inf`, not JSON; the lab would have relayed it so.
    @Test(arguments: [("1e400", 0), ("-1e400", 0), ("[6E03030991]", 1), ("{\"n\":1e309}", 5)])
    func numberTooLargeIsRefused(_ text: String, at offset: Int) throws {
        let error = try #require(throws: JSONSyntaxError.self) { try JSON(parsing: text) }
        #expect(error.message == "the number is too large for a 64-bit float")
        #expect(error.offset == offset, "the error points at the number's first byte")
    }

    @Test func largestDoubleStillParsesAndWritesBack() throws {
        let value = try JSON(parsing: "1.7976931348623157e308")
        #expect(try JSON(parsing: value.text) == value)
    }

    /// fuzz target `json`: `\u` took a sign as its first "hex digit" (`\u+041` was "A").
    @Test(arguments: ["\"\\u+041\"", "\"\\u-000\"", "[\"\\u-00000000\"]", "\"\\ud83d\\u+e00\""])
    func unicodeEscapeTakesHexDigitsOnly(_ text: String) throws {
        let error = try #require(throws: JSONSyntaxError.self) { try JSON(parsing: text) }
        #expect(error.message == "\\u needs four hex digits" || error.message == "a high surrogate must be followed by a low one")
    }

    @Test func unicodeEscapesStillParse() throws {
        #expect(try JSON(parsing: "\"\\u0041\\u00e9\\uD83D\\uDE00\"") == .string("Aé😀"))
    }

    /// Found while writing fuzz target `wire`'s invariant (the same events however the bytes are
    /// cut), beyond the sizes it tries: a head over the 64 KiB limit was refused when 64 KiB of it
    /// had come without its end, and accepted when it came in one read.
    @Test func headOverTheLimitIsRefusedHoweverItArrives() {
        let head = Array("GET / HTTP/1.1\r\nX-Big: \(String(repeating: "a", count: HTTPHead.maximumSize))\r\n\r\n".utf8)
        var whole = WireDissector()
        let inOneRead = whole.feed(.up, head)
        var split = WireDissector()
        let cut = HTTPHead.maximumSize + 1
        let inPieces = split.feed(.up, Array(head[..<cut])) + split.feed(.up, Array(head[cut...]))
        for (name, events) in [("in one read", inOneRead), ("in pieces", inPieces)] {
            guard case .undecodable(_, let reason, _)? = events.first else {
                Issue.record("\(name): expected the head to be refused, got \(events.first.map { "\($0)".prefix(80) } ?? "nothing")")
                continue
            }
            #expect(reason == "no end of head within \(HTTPHead.maximumSize) bytes", "\(name)")
        }
        guard case .malformed = HTTPHead.parse(head) else {
            Issue.record("HTTPHead.parse accepts a head of \(head.count) bytes")
            return
        }
    }
}
