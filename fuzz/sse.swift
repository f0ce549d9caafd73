/// Fuzz target `sse`: `SSEParser`, and `SSEEvent.wireText` read back by it.
///
/// Input: bytes 0-1 (the sizes of the pieces the stream arrives in, cycled), then the stream.
/// Invariants: the same items and the same state whether the stream comes in one piece, in
/// pieces or a byte at a time (the parser's own promise); an event built from the input, written
/// with `wireText` and parsed, comes back as it was sent (line breaks in data as LF, line breaks
/// dropped from id and event, an id with NUL ignored, a negative retry ignored).
import WireProtocol

private func parse(_ pieces: [ArraySlice<UInt8>]) -> (items: [SSEParser.Item], parser: SSEParser) {
    var parser = SSEParser()
    var items: [SSEParser.Item] = []
    for piece in pieces { items += parser.feed(piece) }
    items += parser.finish()
    return (items, parser)
}

private func sameState(_ a: SSEParser, _ b: SSEParser) -> Bool {
    a.lastEventID == b.lastEventID && a.lastEventIDBuffer == b.lastEventIDBuffer && a.reconnectionTime == b.reconnectionTime
        && a.dataBuffer == b.dataBuffer && a.eventTypeBuffer == b.eventTypeBuffer && a.pendingByteCount == b.pendingByteCount
}

/// CR LF, CR and LF each as one LF: what the data of an event becomes on the way through.
private func newlinesAsLF(_ text: String) -> String {
    var out = String.UnicodeScalarView()
    var previousWasCR = false
    for scalar in text.unicodeScalars {
        defer { previousWasCR = scalar == "\r" }
        if scalar == "\n" && previousWasCR { continue }
        out.append(scalar == "\r" ? "\n" : scalar)
    }
    return String(out)
}

private func withoutLineBreaks(_ text: String) -> String {
    String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" }))
}

private func checkRoundTrip(_ control: (UInt8, UInt8), _ stream: ArraySlice<UInt8>) {
    // The stream, decoded, is the data; U+001F separates an id and an event type after it.
    let parts = String(decoding: stream, as: UTF8.self).split(separator: "\u{1F}", maxSplits: 2, omittingEmptySubsequences: false)
        .map(String.init)
    let retry = control.0 & 0x80 != 0 ? Int(Int8(bitPattern: control.1)) * 100 : nil
    let sent = SSEEvent(id: parts.count > 1 ? parts[1] : nil, event: parts.count > 2 ? parts[2] : nil, data: parts[0], retry: retry)

    var parser = SSEParser()
    let items = parser.feed(Array(sent.wireText.utf8)) + parser.finish()
    let events = items.compactMap { if case .event(let event) = $0 { event } else { nil } }
    expect(events.count == 1, "\(events.count) events from the wire text of one: \(sent.wireText.debugDescription)")
    guard let event = events.first else { return }
    let id = sent.id.map(withoutLineBreaks) ?? ""
    let type = sent.event.map(withoutLineBreaks) ?? ""
    expect(event.data == newlinesAsLF(sent.data), "data \(event.data.debugDescription) for \(sent.data.debugDescription)")
    expect(event.type == (type.isEmpty ? "message" : type), "type \(event.type.debugDescription) for \(type.debugDescription)")
    expect(event.lastEventID == (id.unicodeScalars.contains("\0") ? "" : id), "id \(event.lastEventID.debugDescription) for \(id.debugDescription)")
    expect(parser.reconnectionTime == retry.flatMap { $0 >= 0 ? $0 : nil }, "retry \(String(describing: parser.reconnectionTime)) for \(String(describing: retry))")
    expect(!items.contains { if case .discarded = $0 { true } else { false } }, "the wire text of an event leaves something discarded")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = input(data, size)
    guard bytes.count >= 2 else { return 0 }
    let stream = bytes[2...]

    let whole = parse([stream])
    let split = parse(pieces(stream, sizes: [bytes[0], bytes[1]]))
    let byByte = parse(pieces(stream, sizes: [1]))
    expect(whole.items == split.items, "items differ with how the stream was cut:\n\(whole.items)\nvs\n\(split.items)")
    expect(whole.items == byByte.items, "items differ when the stream comes a byte at a time:\n\(whole.items)\nvs\n\(byByte.items)")
    expect(sameState(whole.parser, split.parser) && sameState(whole.parser, byByte.parser), "state differs with how the stream was cut")

    var dispatches = 0
    var events = 0
    for item in whole.items {
        switch item {
        case .line(_, _, .dispatch): dispatches += 1
        case .event(let event):
            events += 1
            expect(!event.type.isEmpty, "an event without a type")
        default: break
        }
    }
    expect(dispatches == events, "\(dispatches) dispatching lines, \(events) events")

    checkRoundTrip((bytes[0], bytes[1]), stream)
    return 0
}
