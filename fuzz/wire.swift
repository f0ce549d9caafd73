/// Fuzz target `wire`: `WireDissector`, both directions, HTTP heads and bodies (chunked too), the
/// 101 and the frames after it.
///
/// Input: records of one op byte (bit 7: 0 = up, 1 = down; bits 0-6: length of the piece, 0 =
/// the rest of the input) followed by that piece. Invariant: feeding consecutive pieces of one
/// direction in one call instead gives the same events (bodies and unreadable bytes joined) and
/// the same byte ledger; the ledger never counts more bytes than were fed.
import WireProtocol

private struct Record {
    var direction: Direction
    var bytes: ArraySlice<UInt8>
}

private func records(_ bytes: [UInt8]) -> [Record] {
    var out: [Record] = []
    var index = 0
    while index < bytes.count {
        let op = bytes[index]
        index += 1
        let length = Int(op & 0x7F)
        let end = length == 0 ? bytes.count : min(bytes.count, index + length)
        out.append(Record(direction: op & 0x80 == 0 ? .up : .down, bytes: bytes[index..<end]))
        index = end
    }
    return out
}

/// Consecutive records of one direction as one.
private func merged(_ records: [Record]) -> [Record] {
    var out: [Record] = []
    for record in records {
        if let last = out.last, last.direction == record.direction {
            out[out.count - 1].bytes = ArraySlice(Array(last.bytes) + Array(record.bytes))
        } else {
            out.append(record)
        }
    }
    return out
}

private func direction(of event: WireEvent) -> Direction {
    switch event {
    case .httpHead(let d, _), .httpBody(let d, _), .chunkFraming(let d, _), .frame(let d, _, _), .reassembled(let d, _, _, _),
        .undecodable(let d, _, _):
        d
    }
}

/// One direction's events with the pieces that depend on how bytes arrived joined: body bytes,
/// and an unreadable stream's bytes (the first reason kept).
private func normalized(_ events: [WireEvent], _ wanted: Direction) -> [WireEvent] {
    var out: [WireEvent] = []
    for event in events where direction(of: event) == wanted {
        switch (out.last, event) {
        case (_, .httpBody(_, let bytes)) where bytes.isEmpty: continue
        case (.httpBody(let d, let before)?, .httpBody(_, let bytes)):
            out[out.count - 1] = .httpBody(d, before + bytes)
        case (.undecodable(let d, let reason, let before)?, .undecodable(_, _, let bytes)):
            out[out.count - 1] = .undecodable(d, reason: reason, bytes: before + bytes)
        default:
            out.append(event)
        }
    }
    return out
}

private func run(_ records: [Record]) -> (events: [WireEvent], ledger: ByteLedger) {
    var dissector = WireDissector()
    var events: [WireEvent] = []
    var ledger = ByteLedger()
    for record in records {
        let found = dissector.feed(record.direction, Array(record.bytes))
        for event in found { ledger.record(event) }
        events += found
    }
    return (events, ledger)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let pieces = records(input(data, size))
    let split = run(pieces)
    let whole = run(merged(pieces))

    for side in [Direction.up, .down] {
        let fed = pieces.filter { $0.direction == side }.reduce(0) { $0 + $1.bytes.count }
        expect(split.ledger[side].total <= fed, "\(side): the ledger counts \(split.ledger[side].total) bytes of \(fed) fed")
        let a = normalized(split.events, side)
        let b = normalized(whole.events, side)
        expect(a == b, "\(side): events differ with how the bytes were cut:\n\(a)\nvs\n\(b)")
    }
    expect(split.ledger == whole.ledger, "ledgers differ with how the bytes were cut: \(split.ledger) vs \(whole.ledger)")

    for event in split.events {
        switch event {
        case .httpHead(_, let head):
            expect(HTTPHead.parse(head.raw) == .head(head, consumed: head.byteCount), "a head does not parse again to itself: \(head)")
        case .frame(_, let frame, _):
            expect(FrameDissector.dissect(frame.wireBytes) == .frame(frame, consumed: frame.wireSize), "a frame does not dissect again to itself")
        default:
            break
        }
    }
    return 0
}
