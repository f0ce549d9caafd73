/// The receiving side of Server-Sent Events: the bytes of one `text/event-stream` response in, and
/// out, for every line, what the WHATWG HTML rules ("Interpreting an event stream") make of it,
/// plus the events and reconnection times those lines produce.
///
/// It exists to teach, so nothing is folded away: a comment, an unknown field or a blank line
/// that fires nothing is reported like a `data` line, each with its raw text and line ending.
/// Bytes may arrive split anywhere (inside a UTF-8 sequence, between CR and LF); the items are
/// the same however the stream is cut.
///
/// One parser is one stream. A reconnection is a new response and so a new parser; carry
/// `lastEventID` (for the `Last-Event-ID` header) and `reconnectionTime` over yourself.
public struct SSEParser: Sendable {
    /// How a line ended on the wire. The spec accepts all three, even mixed in one stream.
    public enum LineEnding: Sendable, Equatable, CaseIterable {
        case crlf
        case lf
        /// A CR not followed by LF. A CR at the end of a chunk is held until the next byte (or
        /// `finish()`) says which it is, so a line ending in CR is reported one byte late.
        case cr

        public var bytes: [UInt8] {
            switch self {
            case .crlf: [13, 10]
            case .lf: [10]
            case .cr: [13]
            }
        }
    }

    /// A field the parser acted on, with the value as the spec reads it: the text after the first
    /// colon, one leading space removed.
    public enum Field: Sendable, Equatable {
        /// `event`: the event type buffer is now this value.
        case event(String)
        /// `data`: this value and a LF were appended to the data buffer.
        case data(String)
        /// `id`: the last event ID buffer is now this value (`""` clears it).
        case id(String)
        /// `retry`: the reconnection time is now this many milliseconds.
        case retry(Int)

        public var name: String {
            switch self {
            case .event: "event"
            case .data: "data"
            case .id: "id"
            case .retry: "retry"
            }
        }

        public var value: String {
            switch self {
            case .event(let value), .data(let value), .id(let value): value
            case .retry(let milliseconds): String(milliseconds)
            }
        }
    }

    /// What one line did, in the spec's terms.
    public enum LineMeaning: Sendable, Equatable {
        /// A blank line with data buffered: an event was dispatched (the `.event` item follows).
        case dispatch
        /// A blank line with an empty data buffer: the event type buffer is cleared, nothing fires.
        case dispatchNothing
        /// A line starting with `:`, ignored by the spec; the text after that colon, untouched.
        case comment(String)
        /// A field that changed the parser's state.
        case field(Field)
        /// A field name the spec does not know, so the line is ignored. Names are case-sensitive:
        /// `Data` is ignored too.
        case ignoredField(name: String, value: String)
        /// `retry` with a value that is not only ASCII digits (`""`, `" 10"`, `"10a"`): ignored.
        case invalidRetry(value: String)
        /// `id` with a value containing U+0000 NULL: ignored, the last event ID buffer is kept.
        case idWithNull(value: String)
    }

    /// An event as `EventSource` delivers it to a page.
    public struct ParsedEvent: Sendable, Equatable {
        /// The `event` field, or `"message"` when there was none (or it was empty).
        public var type: String
        /// The `data` values joined with LF.
        public var data: String
        /// The last event ID at dispatch: the latest `id` so far, from this event or an earlier one.
        public var lastEventID: String

        public init(type: String = "message", data: String, lastEventID: String = "") {
            self.type = type
            self.data = data
            self.lastEventID = lastEventID
        }
    }

    /// What `finish()` threw away because the stream ended before the blank line that would have
    /// used it: the spec only ever dispatches on a blank line.
    public struct Discarded: Sendable, Equatable {
        /// Bytes after the last line ending, decoded. Not a line: a line needs its ending.
        public var unterminatedLine: String?
        /// The data buffer as it stood: each `data` value followed by a LF.
        public var dataBuffer: String
        public var eventTypeBuffer: String

        public init(unterminatedLine: String? = nil, dataBuffer: String = "", eventTypeBuffer: String = "") {
            self.unterminatedLine = unterminatedLine
            self.dataBuffer = dataBuffer
            self.eventTypeBuffer = eventTypeBuffer
        }
    }

    /// What the parser made of the stream, in stream order: each line as it ends, followed by what
    /// it caused.
    public enum Item: Sendable, Equatable {
        /// The stream began with the UTF-8 byte order mark (EF BB BF), which the decoder skipped.
        /// Only at the very start; a later one is an ordinary U+FEFF in a line.
        case byteOrderMark
        /// Every line, in order: its text (decoded, without its ending), its ending, what it did.
        case line(raw: String, ending: LineEnding, meaning: LineMeaning)
        /// An event, right after the blank line that dispatched it.
        case event(ParsedEvent)
        /// A valid `retry` field set the reconnection time (ms), right after its line. The line
        /// explains; this is the outcome, like `.event`, for callers that only act on outcomes.
        case retry(Int)
        /// From `finish()` only, and only when something was pending.
        case discarded(Discarded)
    }

    /// The last event ID string: the last event ID buffer as it stood at the latest blank line.
    /// This is what a reconnecting client sends as `Last-Event-ID` (when not empty). An `id` the
    /// stream set but never followed with a blank line does not count.
    public private(set) var lastEventID = ""
    /// Set by every valid `id` field at once and never reset by a dispatch, so an id persists
    /// across events until the server sends another (an empty `id:` clears it).
    public private(set) var lastEventIDBuffer = ""
    /// Milliseconds to wait before reconnecting, from the latest valid `retry` field; nil until one.
    public private(set) var reconnectionTime: Int?
    /// The `data` values since the last blank line, each followed by a LF.
    public private(set) var dataBuffer = ""
    /// The latest `event` value since the last blank line.
    public private(set) var eventTypeBuffer = ""

    /// The bytes of the line not yet ended.
    private var line: [UInt8] = []
    /// The current line ended with a CR; the next byte decides between `.cr` and `.crlf`.
    private var pendingCR = false
    /// How many bytes of a BOM the stream has begun with; nil once the start is decided.
    private var bomBytesSeen: Int? = 0
    private var finished = false

    public init() {}

    /// Bytes held back: an unfinished line, a CR waiting for a possible LF, a possible BOM start.
    public var pendingByteCount: Int { line.count + (pendingCR ? 1 : 0) + (bomBytesSeen ?? 0) }

    /// Parses the next bytes of the stream and returns what they completed. Bytes after the last
    /// line ending wait for the next call.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [Item] {
        var items: [Item] = []
        guard !finished else { return items }
        for byte in bytes {
            if let seen = bomBytesSeen {
                if byte == Self.byteOrderMark[seen] {
                    if seen + 1 == Self.byteOrderMark.count {
                        bomBytesSeen = nil
                        items.append(.byteOrderMark)
                    } else {
                        bomBytesSeen = seen + 1
                    }
                    continue
                }
                // Not a BOM after all: the bytes held back belong to the first line (none is a CR or LF).
                bomBytesSeen = nil
                line.append(contentsOf: Self.byteOrderMark[..<seen])
            }
            consume(byte, into: &items)
        }
        return items
    }

    /// The stream is over (the server closed it, or the connection broke). A CR still waiting
    /// ends its line; anything after the last blank line is discarded, as the spec says, and
    /// reported as `.discarded`. Later calls to `feed` and `finish` return nothing.
    public mutating func finish() -> [Item] {
        var items: [Item] = []
        guard !finished else { return items }
        finished = true
        if pendingCR {
            pendingCR = false
            completeLine(.cr, into: &items)
        }
        if let seen = bomBytesSeen {
            line.append(contentsOf: Self.byteOrderMark[..<seen])
            bomBytesSeen = nil
        }
        let unterminated = line.isEmpty ? nil : String(decoding: line, as: UTF8.self)
        if unterminated != nil || !dataBuffer.isEmpty || !eventTypeBuffer.isEmpty {
            items.append(.discarded(Discarded(unterminatedLine: unterminated, dataBuffer: dataBuffer, eventTypeBuffer: eventTypeBuffer)))
        }
        line = []
        dataBuffer = ""
        eventTypeBuffer = ""
        return items
    }

    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
    private static let lf: UInt8 = 10
    private static let cr: UInt8 = 13
    private static let colon: UInt8 = 0x3A
    private static let space: UInt8 = 0x20

    private mutating func consume(_ byte: UInt8, into items: inout [Item]) {
        if pendingCR {
            pendingCR = false
            if byte == Self.lf {
                completeLine(.crlf, into: &items)
                return
            }
            completeLine(.cr, into: &items)
        }
        switch byte {
        case Self.lf: completeLine(.lf, into: &items)
        case Self.cr: pendingCR = true
        default: line.append(byte)
        }
    }

    // Lines are split and their fields cut on bytes, then decoded. That is the same as decoding
    // the whole stream first: CR, LF, ':' and ' ' are ASCII, never part of a multi-byte sequence,
    // so an invalid sequence always ends before them and gets the same U+FFFD either way.
    private mutating func completeLine(_ ending: LineEnding, into items: inout [Item]) {
        let bytes = line
        line.removeAll(keepingCapacity: true)
        let raw = String(decoding: bytes, as: UTF8.self)

        guard let first = bytes.first else {
            dispatch(raw: raw, ending: ending, into: &items)
            return
        }
        if first == Self.colon {
            items.append(.line(raw: raw, ending: ending, meaning: .comment(String(decoding: bytes.dropFirst(), as: UTF8.self))))
            return
        }
        let name: ArraySlice<UInt8>
        var value: ArraySlice<UInt8>
        if let colon = bytes.firstIndex(of: Self.colon) {
            name = bytes[..<colon]
            value = bytes[(colon + 1)...]
            if value.first == Self.space { value = value.dropFirst() }
        } else {
            // No colon: the whole line is the name and the value is empty (`data` alone adds a LF).
            name = bytes[...]
            value = []
        }
        let text = String(decoding: value, as: UTF8.self)
        // Compared as bytes: String's == is canonical equivalence, the spec's is code points.
        let meaning: LineMeaning
        var retry: Int?
        if name.elementsEqual("event".utf8) {
            eventTypeBuffer = text
            meaning = .field(.event(text))
        } else if name.elementsEqual("data".utf8) {
            dataBuffer += text
            dataBuffer += "\n"
            meaning = .field(.data(text))
        } else if name.elementsEqual("id".utf8) {
            if value.contains(0) {
                meaning = .idWithNull(value: text)
            } else {
                lastEventIDBuffer = text
                meaning = .field(.id(text))
            }
        } else if name.elementsEqual("retry".utf8) {
            if let milliseconds = Self.milliseconds(value) {
                reconnectionTime = milliseconds
                retry = milliseconds
                meaning = .field(.retry(milliseconds))
            } else {
                meaning = .invalidRetry(value: text)
            }
        } else {
            meaning = .ignoredField(name: String(decoding: name, as: UTF8.self), value: text)
        }
        items.append(.line(raw: raw, ending: ending, meaning: meaning))
        if let retry { items.append(.retry(retry)) }
    }

    /// The spec's "dispatch the event" for browsers.
    private mutating func dispatch(raw: String, ending: LineEnding, into items: inout [Item]) {
        lastEventID = lastEventIDBuffer
        guard !dataBuffer.isEmpty else {
            eventTypeBuffer = ""
            items.append(.line(raw: raw, ending: ending, meaning: .dispatchNothing))
            return
        }
        var data = dataBuffer
        // Scalars, not Characters: the buffer's last scalar is always this LF.
        if data.unicodeScalars.last == "\n" { data.unicodeScalars.removeLast() }
        let event = ParsedEvent(type: eventTypeBuffer.isEmpty ? "message" : eventTypeBuffer, data: data, lastEventID: lastEventID)
        dataBuffer = ""
        eventTypeBuffer = ""
        items.append(.line(raw: raw, ending: ending, meaning: .dispatch))
        items.append(.event(event))
    }

    /// A `retry` value in base ten if it is one or more ASCII digits and nothing else. The spec
    /// sets no upper bound; a value too large for Int is clamped to Int.max (wait forever).
    private static func milliseconds(_ value: ArraySlice<UInt8>) -> Int? {
        guard !value.isEmpty, value.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        var result = 0
        for digit in value {
            let (times10, overflow1) = result.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(digit - 0x30))
            if overflow1 || overflow2 { return .max }
            result = sum
        }
        return result
    }
}
