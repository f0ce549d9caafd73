import Testing
import WireProtocol

private typealias Item = SSEParser.Item
private typealias Event = SSEParser.ParsedEvent

/// Every item of a whole stream: the bytes in one call, then the end of the stream.
private func parse(_ bytes: [UInt8]) -> [Item] {
    var parser = SSEParser()
    return parser.feed(bytes) + parser.finish()
}

private func parse(_ text: String) -> [Item] { parse(ascii(text)) }

/// Every item of a stream fed in pieces of the given sizes (the last piece takes the rest).
private func parse(_ bytes: [UInt8], pieces sizes: [Int]) -> [Item] {
    var parser = SSEParser()
    var items: [Item] = []
    var offset = 0
    for size in sizes where offset < bytes.count {
        let end = min(offset + size, bytes.count)
        items += parser.feed(bytes[offset..<end])
        offset = end
    }
    items += parser.feed(bytes[offset...])
    return items + parser.finish()
}

private func events(_ items: [Item]) -> [Event] {
    items.compactMap { if case .event(let event) = $0 { event } else { nil } }
}

private func meanings(_ items: [Item]) -> [SSEParser.LineMeaning] {
    items.compactMap { if case .line(_, _, let meaning) = $0 { meaning } else { nil } }
}

private func endings(_ items: [Item]) -> [SSEParser.LineEnding] {
    items.compactMap { if case .line(_, let ending, _) = $0 { ending } else { nil } }
}

/// A `.line` item, LF-ended unless told.
private func line(_ raw: String, _ meaning: SSEParser.LineMeaning, _ ending: SSEParser.LineEnding = .lf) -> Item {
    .line(raw: raw, ending: ending, meaning: meaning)
}

private func data(_ value: String) -> SSEParser.LineMeaning { .field(.data(value)) }

/// A stream with something of everything: BOM, all three line endings, multi-byte and invalid
/// UTF-8, comments, every field, an id with NUL, and an unterminated last line.
private let kitchenSink: [UInt8] = [0xEF, 0xBB, 0xBF]
    + ascii(": hello\r\nretry: 1500\revent: add\ndata: é€😀\r\ndata\r")
    + ascii("id: 7\n\r\n")
    + ascii("id: a") + [0] + ascii("b\ndata:  two spaces\rData: no\nfoo\n\n")
    + ascii("data: ") + [0xFF, 0x61, 0xF0, 0x9F, 0x98] + ascii("\r\r")
    + ascii("data: last\n\r")
    + ascii("data: never")

/// CR endings throughout, the last one the stream's last byte: only `finish()` can end that line.
private let endsInCR = ascii("id: 1\rdata: a\r\n\r\ndata: b\n\r")

private let splitStreams = [kitchenSink, endsInCR]

@Suite("SSEParser")
struct SSEParserTests {
    // MARK: The spec's own examples

    @Test("spec: the stock example's data lines are joined with LF")
    func stockExample() {
        let items = parse("data: YHOO\ndata: +2\ndata: 10\n\n")
        #expect(items == [
            line("data: YHOO", data("YHOO")),
            line("data: +2", data("+2")),
            line("data: 10", data("10")),
            line("", .dispatch),
            .event(Event(data: "YHOO\n+2\n10")),
        ])
    }

    @Test("spec: comment, id, an id line with no colon resets it, two spaces keep one")
    func testStreamExample() {
        var parser = SSEParser()
        let items = parser.feed(ascii(": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n"))
        #expect(items == [
            line(": test stream", .comment(" test stream")),
            line("", .dispatchNothing),
            line("data: first event", data("first event")),
            line("id: 1", .field(.id("1"))),
            line("", .dispatch),
            .event(Event(data: "first event", lastEventID: "1")),
            line("data:second event", data("second event")),
            line("id", .field(.id(""))),
            line("", .dispatch),
            .event(Event(data: "second event", lastEventID: "")),
            line("data:  third event", data(" third event")),
            line("", .dispatch),
            .event(Event(data: " third event", lastEventID: "")),
        ])
        #expect(parser.finish() == [])
        #expect(parser.lastEventID == "")
    }

    @Test("spec: `data` alone is an empty value; two of them make one LF; the unended block is dropped")
    func emptyDataExample() {
        let items = parse("data\n\ndata\ndata\n\ndata:\n")
        #expect(events(items) == [Event(data: ""), Event(data: "\n")])
        #expect(items.last == .discarded(.init(dataBuffer: "\n")))
    }

    @Test("spec: `data:test` and `data: test` are the same event")
    func oneSpaceIsOptional() {
        #expect(events(parse("data:test\n\ndata: test\n\n")) == [Event(data: "test"), Event(data: "test")])
    }

    @Test("only one leading space is removed; other whitespace stays",
          arguments: [
            ("data:test", "test"), ("data: test", "test"), ("data:  test", " test"), ("data:   test ", "  test "),
            ("data:\ttest", "\ttest"), ("data: ", ""), ("data:", ""), ("data: a:b", "a:b"), ("data::x", ":x"),
          ])
    func oneSpaceRemoved(text: String, value: String) {
        let items = parse(text + "\n\n")
        #expect(items == [line(text, data(value)), line("", .dispatch), .event(Event(data: value))])
    }

    // MARK: Line endings

    @Test("LF, CRLF and CR give the same events, and each line reports its ending",
          arguments: SSEParser.LineEnding.allCases)
    func eachLineEnding(ending: SSEParser.LineEnding) {
        let newline = String(decoding: ending.bytes, as: UTF8.self)
        let text = ["event: add", "data: 1", "data: 2", "", "id: x", "data: 3", ""].map { $0 + newline }.joined()
        let items = parse(text)
        #expect(events(items) == [Event(type: "add", data: "1\n2"), Event(data: "3", lastEventID: "x")])
        #expect(endings(items) == Array(repeating: ending, count: 7))
    }

    @Test("line endings mixed in one stream")
    func mixedEndings() {
        let items = parse("data: a\r\ndata: b\rdata: c\n\r\n\ndata: d\r\r")
        #expect(events(items) == [Event(data: "a\nb\nc"), Event(data: "d")])
        #expect(endings(items) == [.crlf, .cr, .lf, .crlf, .lf, .cr, .cr])
        #expect(meanings(items) == [data("a"), data("b"), data("c"), .dispatch, .dispatchNothing, data("d"), .dispatch])
    }

    @Test("LF CR is two line endings, not one")
    func lfThenCR() {
        let items = parse("data: a\n\r")
        #expect(items == [line("data: a", data("a")), line("", .dispatch, .cr), .event(Event(data: "a"))])
    }

    @Test("a CR at the end of a chunk waits; an LF in the next chunk makes it one CRLF")
    func crlfAcrossChunks() {
        var parser = SSEParser()
        #expect(parser.feed(ascii("data: a\r")) == [])
        #expect(parser.pendingByteCount == 8)
        #expect(parser.feed(ascii("\n")) == [line("data: a", data("a"), .crlf)])
        #expect(parser.feed(ascii("\r")) == [])
        #expect(parser.feed(ascii("\ndata: b\r")) == [line("", .dispatch, .crlf), .event(Event(data: "a"))])
        #expect(parser.pendingByteCount == 8)
        #expect(parser.finish() == [line("data: b", data("b"), .cr), .discarded(.init(dataBuffer: "b\n"))])
    }

    @Test("a CR at the end of a chunk followed by anything else is a CR line ending")
    func crThenOther() {
        var parser = SSEParser()
        #expect(parser.feed(ascii("data: a\r")) == [])
        #expect(parser.feed(ascii("\r")) == [line("data: a", data("a"), .cr)])
        #expect(parser.feed(ascii("d")) == [line("", .dispatch, .cr), .event(Event(data: "a"))])
        #expect(parser.pendingByteCount == 1)
    }

    @Test("a CR as the very last byte ends its line at finish(), and that blank line dispatches")
    func crAtEndOfStream() {
        var parser = SSEParser()
        #expect(parser.feed(ascii("data: a\n\r")) == [line("data: a", data("a"))])
        #expect(parser.finish() == [line("", .dispatch, .cr), .event(Event(data: "a"))])
    }

    // MARK: Any split gives the same items

    @Test("the kitchen-sink stream parsed whole")
    func kitchenSinkWhole() {
        let items = parse(kitchenSink)
        #expect(items == [
            .byteOrderMark,
            line(": hello", .comment(" hello"), .crlf),
            line("retry: 1500", .field(.retry(1500)), .cr),
            .retry(1500),
            line("event: add", .field(.event("add"))),
            line("data: é€😀", data("é€😀"), .crlf),
            line("data", data(""), .cr),
            line("id: 7", .field(.id("7"))),
            line("", .dispatch, .crlf),
            .event(Event(type: "add", data: "é€😀\n", lastEventID: "7")),
            line("id: a\u{0}b", .idWithNull(value: "a\u{0}b")),
            line("data:  two spaces", data(" two spaces"), .cr),
            line("Data: no", .ignoredField(name: "Data", value: "no")),
            line("foo", .ignoredField(name: "foo", value: "")),
            line("", .dispatch),
            .event(Event(data: " two spaces", lastEventID: "7")),
            line("data: \u{FFFD}a\u{FFFD}", data("\u{FFFD}a\u{FFFD}"), .cr),
            line("", .dispatch, .cr),
            .event(Event(data: "\u{FFFD}a\u{FFFD}", lastEventID: "7")),
            line("data: last", data("last")),
            line("", .dispatch, .cr),
            .event(Event(data: "last", lastEventID: "7")),
            .discarded(.init(unterminatedLine: "data: never")),
        ])
    }

    @Test("the stream ending in CR parsed whole")
    func endsInCRWhole() {
        #expect(parse(endsInCR) == [
            line("id: 1", .field(.id("1")), .cr),
            line("data: a", data("a"), .crlf),
            line("", .dispatch, .crlf),
            .event(Event(data: "a", lastEventID: "1")),
            line("data: b", data("b")),
            line("", .dispatch, .cr),
            .event(Event(data: "b", lastEventID: "1")),
        ])
    }

    @Test("cut at every pair of points, a stream gives the same items", arguments: splitStreams)
    func everySplit(stream: [UInt8]) {
        let expected = parse(stream)
        var mismatches: [(Int, Int)] = []
        for first in 0...stream.count {
            for second in first...stream.count where parse(stream, pieces: [first, second - first]) != expected {
                mismatches.append((first, second))
            }
        }
        #expect(mismatches.isEmpty, "differs when cut at \(mismatches.prefix(5))")
    }

    @Test("fed one byte at a time, a stream gives the same items", arguments: splitStreams)
    func byteByByte(stream: [UInt8]) {
        #expect(parse(stream, pieces: Array(repeating: 1, count: stream.count)) == parse(stream))
    }

    @Test("fed in random chunk sizes (some empty), a stream gives the same items", arguments: splitStreams, 1...20)
    func randomChunks(stream: [UInt8], seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        let sizes = (0..<stream.count).map { _ in Int.random(in: 0...9, using: &generator) }
        #expect(parse(stream, pieces: sizes) == parse(stream))
    }

    @Test("a multi-byte character split inside its bytes still decodes", arguments: 1...4)
    func multibyteSplit(offset: Int) {
        // "data: 😀" is 6 ASCII bytes then F0 9F 98 80.
        let bytes = ascii("data: 😀\n\n")
        let cut = 6 + offset
        var parser = SSEParser()
        let first = parser.feed(bytes[..<cut])
        #expect(first == [])
        #expect(events(parser.feed(bytes[cut...])) == [Event(data: "😀")])
    }

    // MARK: UTF-8

    @Test("invalid UTF-8 becomes U+FFFD, one per maximal bad sequence",
          arguments: [
            ([0xFF] as [UInt8], "\u{FFFD}"),
            ([0xC3], "\u{FFFD}"),
            ([0xF0, 0x9F, 0x98], "\u{FFFD}"),
            ([0xC0, 0xAF], "\u{FFFD}\u{FFFD}"),
            ([0xED, 0xA0, 0x80], "\u{FFFD}\u{FFFD}\u{FFFD}"),
            ([0x61, 0xE2, 0x82, 0x62], "a\u{FFFD}b"),
          ])
    func invalidUTF8(bad: [UInt8], decoded: String) {
        let items = parse(ascii("data: ") + bad + ascii("\n\n"))
        #expect(items == [line("data: " + decoded, data(decoded)), line("", .dispatch), .event(Event(data: decoded))])
    }

    @Test("an invalid sequence cut short by a line ending or a colon is replaced there")
    func invalidBeforeASCII() {
        let items = parse([0xE2, 0x82] + ascii(":x\ndata: ") + [0xE2, 0x82] + ascii("\r\n\n"))
        #expect(items == [
            line("\u{FFFD}:x", .ignoredField(name: "\u{FFFD}", value: "x")),
            line("data: \u{FFFD}", data("\u{FFFD}"), .crlf),
            line("", .dispatch),
            .event(Event(data: "\u{FFFD}")),
        ])
    }

    // MARK: Byte order mark

    @Test("a BOM at the very start is skipped and reported, even fed a byte at a time")
    func bomAtStart() {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + ascii("data: x\n\n")
        let expected: [Item] = [.byteOrderMark, line("data: x", data("x")), line("", .dispatch), .event(Event(data: "x"))]
        #expect(parse(bytes) == expected)
        #expect(parse(bytes, pieces: Array(repeating: 1, count: bytes.count)) == expected)
    }

    @Test("only the first BOM is skipped: a second one starts the field name")
    func secondBOM() {
        let items = parse([0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF] + ascii("data: x\n\n"))
        #expect(items == [.byteOrderMark, line("\u{FEFF}data: x", .ignoredField(name: "\u{FEFF}data", value: "x")), line("", .dispatchNothing)])
    }

    @Test("a BOM later in the stream is kept as data")
    func laterBOM() {
        let items = parse(ascii("data: ") + [0xEF, 0xBB, 0xBF] + ascii("x\n\n"))
        #expect(items.first != .byteOrderMark)
        #expect(events(items) == [Event(data: "\u{FEFF}x")])
    }

    @Test("a BOM's first two bytes and then something else are one U+FFFD in the first line")
    func brokenBOM() {
        var parser = SSEParser()
        #expect(parser.feed([0xEF, 0xBB]) == [])
        #expect(parser.pendingByteCount == 2)
        #expect(parser.feed(ascii("data: x\n\n")) == [
            line("\u{FFFD}data: x", .ignoredField(name: "\u{FFFD}data", value: "x")), line("", .dispatchNothing),
        ])
    }

    @Test("a stream that ends inside a possible BOM discards those bytes")
    func bomThenEnd() {
        var parser = SSEParser()
        #expect(parser.feed([0xEF, 0xBB]) == [])
        #expect(parser.finish() == [.discarded(.init(unterminatedLine: "\u{FFFD}"))])
    }

    // MARK: Comments and fields

    @Test("comments are reported and change nothing, even between data lines")
    func comments() {
        let items = parse(":\n: keep-alive\ndata: a\n:: x\ndata: b\n\n")
        #expect(meanings(items) == [.comment(""), .comment(" keep-alive"), data("a"), .comment(": x"), data("b"), .dispatch])
        #expect(events(items) == [Event(data: "a\nb")])
    }

    @Test("SSEEvent.comment is a comment and a blank line that fires nothing")
    func sseEventComment() {
        #expect(parse(SSEEvent.comment("ping")) == [line(": ping", .comment(" ping")), line("", .dispatchNothing)])
    }

    @Test("unknown fields are ignored; names are case-sensitive and a leading space is part of the name")
    func unknownFields() {
        let items = parse("Data: A\nfoo: bar\n data: b\nEVENT: x\nfoo\nid : 3\ndata: c\n\n")
        #expect(meanings(items) == [
            .ignoredField(name: "Data", value: "A"),
            .ignoredField(name: "foo", value: "bar"),
            .ignoredField(name: " data", value: "b"),
            .ignoredField(name: "EVENT", value: "x"),
            .ignoredField(name: "foo", value: ""),
            .ignoredField(name: "id ", value: "3"),
            data("c"),
            .dispatch,
        ])
        #expect(events(items) == [Event(data: "c")])
    }

    @Test("a line with no colon is a field name with an empty value")
    func fieldWithoutColon() {
        let items = parse("event: x\nevent\ndata\nid\nretry\n\n")
        #expect(meanings(items) == [.field(.event("x")), .field(.event("")), data(""), .field(.id("")), .invalidRetry(value: ""), .dispatch])
        #expect(events(items) == [Event(type: "message", data: "")])
    }

    @Test("NUL is fine in data and event, only an id rejects it")
    func nulOutsideID() {
        let items = parse(ascii("event: a") + [0] + ascii("\ndata: b") + [0] + ascii("\n\n"))
        #expect(events(items) == [Event(type: "a\u{0}", data: "b\u{0}")])
    }

    // MARK: Last event ID

    @Test("an id persists across events until the server sends another")
    func idPersists() {
        var parser = SSEParser()
        let items = parser.feed(ascii("id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\nevent: x\ndata: d\n\n"))
        #expect(events(items) == [
            Event(data: "a", lastEventID: "1"),
            Event(data: "b", lastEventID: "1"),
            Event(data: "c", lastEventID: "2"),
            Event(type: "x", data: "d", lastEventID: "2"),
        ])
        #expect(parser.lastEventID == "2")
        #expect(parser.finish() == [])
        #expect(parser.lastEventID == "2")
    }

    @Test("an id containing NUL is ignored and the previous one stays")
    func idWithNull() {
        var parser = SSEParser()
        let items = parser.feed(ascii("id: 1\n\nid: a") + [0] + ascii("b\ndata: x\n\n"))
        #expect(meanings(items) == [.field(.id("1")), .dispatchNothing, .idWithNull(value: "a\u{0}b"), data("x"), .dispatch])
        #expect(events(items) == [Event(data: "x", lastEventID: "1")])
        #expect(parser.lastEventIDBuffer == "1")
    }

    @Test("an empty id resets the last event ID to the empty string", arguments: ["id:", "id: ", "id"])
    func emptyIDResets(resetLine: String) {
        var parser = SSEParser()
        let items = parser.feed(ascii("id: 1\ndata: a\n\n\(resetLine)\ndata: b\n\n"))
        #expect(events(items) == [Event(data: "a", lastEventID: "1"), Event(data: "b", lastEventID: "")])
        #expect(parser.lastEventID == "")
    }

    @Test("an id counts for reconnection once a blank line follows, even one that fires nothing")
    func idCommittedAtBlankLine() {
        var parser = SSEParser()
        #expect(parser.feed(ascii("id: 7\n")) == [line("id: 7", .field(.id("7")))])
        #expect(parser.lastEventIDBuffer == "7")
        #expect(parser.lastEventID == "")
        #expect(parser.feed(ascii("\n")) == [line("", .dispatchNothing)])
        #expect(parser.lastEventID == "7")
        // An id the stream never ended with a blank line is not the one to send back.
        #expect(parser.feed(ascii("id: 8\ndata: x\n")).count == 2)
        #expect(parser.finish() == [.discarded(.init(dataBuffer: "x\n"))])
        #expect(parser.lastEventID == "7")
        #expect(parser.lastEventIDBuffer == "8")
    }

    // MARK: Retry

    @Test("a valid retry sets the reconnection time at once, without waiting for a blank line",
          arguments: [("retry: 3000", 3000), ("retry:0", 0), ("retry: 007", 7), ("retry:10", 10)])
    func validRetry(text: String, milliseconds: Int) {
        var parser = SSEParser()
        #expect(parser.reconnectionTime == nil)
        #expect(parser.feed(ascii(text + "\n")) == [line(text, .field(.retry(milliseconds))), .retry(milliseconds)])
        #expect(parser.reconnectionTime == milliseconds)
        #expect(parser.finish() == [])
    }

    @Test("a retry that is not only ASCII digits is ignored and keeps the previous time",
          arguments: [
            ("retry: 10a", "10a"), ("retry:", ""), ("retry: ", ""), ("retry:  10", " 10"), ("retry: -1", "-1"),
            ("retry: +5", "+5"), ("retry: 1.5", "1.5"), ("retry: 10 ", "10 "), ("retry: １０", "１０"), ("retry", ""),
          ])
    func invalidRetry(text: String, value: String) {
        var parser = SSEParser()
        _ = parser.feed(ascii("retry: 500\n"))
        #expect(parser.feed(ascii(text + "\n")) == [line(text, .invalidRetry(value: value))])
        #expect(parser.reconnectionTime == 500)
    }

    @Test("a retry too large for Int is clamped rather than refused")
    func hugeRetry() {
        var parser = SSEParser()
        let items = parser.feed(ascii("retry: 99999999999999999999999\n"))
        #expect(items.last == .retry(.max))
        #expect(parser.reconnectionTime == .max)
    }

    // MARK: Dispatch

    @Test("the event type applies to one event only")
    func eventTypeReset() {
        let items = parse("event: add\ndata: 1\n\ndata: 2\n\nevent: remove\ndata: 3\n\nevent:\ndata: 4\n\n")
        #expect(events(items).map(\.type) == ["add", "message", "remove", "message"])
    }

    @Test("a blank line with no data fires nothing but still clears the event type")
    func blankLineWithoutData() {
        let items = parse("\n\r\n\revent: x\nid: 2\n\ndata: y\n\n")
        #expect(meanings(items) == [
            .dispatchNothing, .dispatchNothing, .dispatchNothing, .field(.event("x")), .field(.id("2")), .dispatchNothing, data("y"), .dispatch,
        ])
        #expect(events(items) == [Event(type: "message", data: "y", lastEventID: "2")])
    }

    @Test("only one trailing LF is removed from the data")
    func oneTrailingLF() {
        #expect(events(parse("data: a\ndata:\ndata:\n\n")) == [Event(data: "a\n\n")])
    }

    // MARK: End of stream

    @Test("an event without its blank line is discarded at finish()")
    func unfinishedEventDiscarded() {
        var parser = SSEParser()
        #expect(events(parser.feed(ascii("data: a\n\nevent: b\ndata: c\n"))) == [Event(data: "a")])
        #expect(parser.finish() == [.discarded(.init(dataBuffer: "c\n", eventTypeBuffer: "b"))])
        #expect(parser.dataBuffer == "")
        #expect(parser.eventTypeBuffer == "")
    }

    @Test("a last line without its ending is not a line: discarded, not processed")
    func unterminatedLastLine() {
        var parser = SSEParser()
        #expect(parser.feed(ascii("retry: 5\ndata: a\n\nretry: 9")).count == 5)
        #expect(parser.pendingByteCount == 8)
        #expect(parser.finish() == [.discarded(.init(unterminatedLine: "retry: 9"))])
        #expect(parser.reconnectionTime == 5)
    }

    @Test("nothing pending, nothing discarded; after finish() the parser takes no more")
    func finishIsFinal() {
        var parser = SSEParser()
        _ = parser.feed(ascii("data: a\n\n"))
        #expect(parser.finish() == [])
        #expect(parser.feed(ascii("data: b\n\n")) == [])
        #expect(parser.finish() == [])
    }

    // MARK: Round trip with SSEEvent

    @Test("events written with SSEEvent.wireText parse back the same, however the bytes are cut", arguments: [1, 2, 3] as [UInt64])
    func roundTrip(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        let alphabet: [String] = ["a", "b", "Z", "0", " ", ":", "\n", "é", "€", "😀", "\u{FEFF}", "\t", "data: ", "id:"]
        func text(_ maxLength: Int) -> String {
            (0..<Int.random(in: 0...maxLength, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined()
        }
        var wire = ""
        var expected: [Event] = []
        var lastID = ""
        var lastRetry: Int?
        for index in 0..<300 {
            let id: String? = Bool.random(using: &generator) ? String(index) + text(3).filter { $0 != "\n" } : nil
            let type: String? = Bool.random(using: &generator) ? "kind" + text(3).filter { $0 != "\n" } : nil
            let retry: Int? = Int.random(in: 0..<10, using: &generator) == 0 ? Int.random(in: 0...60_000, using: &generator) : nil
            let event = SSEEvent(id: id, event: type, data: text(12), retry: retry)
            wire += event.wireText
            if Int.random(in: 0..<8, using: &generator) == 0 { wire += SSEEvent.comment("keep-alive") }
            lastID = id ?? lastID
            lastRetry = retry ?? lastRetry
            expected.append(Event(type: type ?? "message", data: event.data, lastEventID: lastID))
        }
        let bytes = ascii(wire)
        let sizes = (0..<bytes.count).map { _ in Int.random(in: 1...64, using: &generator) }
        var parser = SSEParser()
        var items: [Item] = []
        var offset = 0
        for size in sizes where offset < bytes.count {
            let end = min(offset + size, bytes.count)
            items += parser.feed(bytes[offset..<end])
            offset = end
        }
        items += parser.finish()
        #expect(events(items) == expected)
        #expect(parser.lastEventID == lastID)
        #expect(parser.reconnectionTime == lastRetry)
        #expect(!items.contains { if case .line(_, _, .ignoredField) = $0 { true } else { false } })
    }

    @Test("SSEEvent.wireText with CR in the data: every line becomes its own data field, nothing escapes",
          arguments: [("a\r\nb", "a\nb"), ("a\rb", "a\nb"), ("a\r\rdata: forged", "a\n\ndata: forged")])
    func wireTextCarriageReturn(data: String, expected: String) {
        // The spec ends a line at CR as well as LF; if wireText split on LF only, what follows a CR
        // would arrive as a line of its own: an ignored field, or a forged field or event.
        let items = parse(SSEEvent(data: data).wireText)
        #expect(events(items) == [Event(data: expected)])
    }

    @Test func lineBreaksInIDAndEventCannotStartNewFields() {
        let items = parse(SSEEvent(id: "7\ndata: forged", event: "tick\r\nid: 99", data: "x").wireText)
        #expect(events(items) == [Event(type: "tickid: 99", data: "x", lastEventID: "7data: forged")])
    }
}
