/// Fuzz target `http`: `HTTPHead.parse`, and the REPL's rendering (`WireRenderer`, compiled in
/// from Sources/WirelabREPL) of everything the dissector makes of the bytes: heads, bodies,
/// chunk framing, SSE lines and events, frames, unreadable bytes, the accept check.
///
/// Input: byte 0 (bits 0-1: the view level; bit 2: the bytes go up rather than down; bits 3-7:
/// the terminal's width), then the bytes. Invariants: a parsed head is the input's first bytes up
/// to the first blank line and parses again to itself; with colours off, no rendered line holds
/// a character a terminal would act on (no escape sequence from the wire reaches the terminal,
/// and each line is one line).
import WireProtocol

private func checkHead(_ bytes: [UInt8]) {
    switch HTTPHead.parse(bytes) {
    case .head(let head, let consumed):
        expect(consumed == head.byteCount && head.raw == Array(bytes.prefix(consumed)), "a head that is not the input's start")
        expect(HTTPHead.headLength(in: bytes) == consumed && head.raw.suffix(4) == [13, 10, 13, 10], "a head that does not end at the first blank line")
        expect(HTTPHead.parse(head.raw) == .head(head, consumed: consumed), "a head does not parse again to itself")
        expect(head.fields.count == head.lines.count - 1, "\(head.fields.count) fields in \(head.lines.count) lines")
    case .needMoreBytes:
        expect(HTTPHead.headLength(in: bytes) == nil && bytes.count <= HTTPHead.maximumSize, "more bytes asked for a complete head")
    case .malformed:
        break
    }
}

private func checkLines(_ lines: [String], from what: @autoclosure () -> String) {
    for line in lines where line.unicodeScalars.contains(where: isTerminalControl) {
        fatalError("invariant broken: rendering \(what()) gave a line a terminal acts on: \(line.debugDescription)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = input(data, size)
    guard let control = bytes.first else { return 0 }
    let rest = Array(bytes.dropFirst())
    checkHead(rest)

    let views = ViewLevel.allCases
    let renderer = WireRenderer(
        client: "c1", view: views[Int(control & 3) % views.count], style: Styler(enabled: false), columns: 20 + Int(control >> 3) * 4
    )
    let direction: Direction = control & 4 == 0 ? .down : .up
    var dissector = WireDissector()
    var sse = SSEParser()
    for event in dissector.feed(direction, rest) {
        switch event {
        case .httpHead(let d, let head):
            checkLines(renderer.render(head: head, direction: d), from: "a head")
            if let key = head.field("Sec-WebSocket-Key") ?? head.field("Sec-WebSocket-Accept") {
                let check = AcceptCheck(key: key, received: head.field("Sec-WebSocket-Accept"))
                checkLines(renderer.render(acceptCheck: check), from: "an accept check")
            }
        case .httpBody(let d, let body):
            checkLines(renderer.render(body: body, direction: d), from: "a body")
            for item in sse.feed(body) { checkLines(renderer.render(sseItem: item), from: "an SSE item \(item)") }
        case .chunkFraming(let d, let framing):
            checkLines(renderer.render(chunkFraming: framing, direction: d), from: "chunk framing")
        case .frame(let d, let frame, let violations):
            checkLines(renderer.render(frame: frame, direction: d, violations: violations), from: "a frame")
            checkLines([renderer.compactLine(frame, direction: d)], from: "a frame's compact line")
        case .reassembled(let d, let opcode, let payload, let fragments):
            checkLines(renderer.render(reassembled: opcode, payload: payload, fragments: fragments, direction: d), from: "a message")
        case .undecodable(let d, let reason, let undecodable):
            checkLines(renderer.render(undecodable: reason, bytes: undecodable, direction: d), from: "unreadable bytes")
        }
    }
    for item in sse.finish() { checkLines(renderer.render(sseItem: item), from: "an SSE item \(item)") }
    return 0
}
