/// Fuzz target `frames`: `FrameStream` (and through it `FrameDissector`, `FrameHeader.parse`,
/// `Frame.violations`, reassembly of fragments).
///
/// Input: byte 0 (bit 0: 0 = the client sent the frames, 1 = the server), bytes 1-2 (the sizes
/// of the pieces the stream arrives in, cycled), then the stream. Invariants: the same items
/// whether the stream comes in one piece or in many (an unreadable stream keeps fewer of the
/// bytes after it); every byte is a frame's, unreadable or pending; each frame dissects again to
/// itself; a reassembled message is its fragments' payloads in order.
import WireProtocol

private func check(_ items: [FrameStream.Item], pending: Int, streamLength: Int) {
    var accounted = pending
    var lastFrame: Frame?
    for item in items {
        switch item {
        case .frame(let frame, _):
            accounted += frame.wireSize
            expect(FrameDissector.dissect(frame.wireBytes) == .frame(frame, consumed: frame.wireSize), "a frame does not dissect again to itself")
            expect(frame.wirePayload.count == Int(frame.payloadLength), "payload length \(frame.payloadLength) but \(frame.wirePayload.count) bytes")
            expect(frame.header.count == 2 + frame.lengthForm.extendedLengthByteCount + (frame.isMasked ? 4 : 0), "header size")
            if let key = frame.maskingKey {
                expect(Frame.applyMask(key, to: frame.payload) == frame.wirePayload, "masking is not its own inverse")
            }
            lastFrame = frame
        case .reassembled(let opcode, _, let count):
            expect(lastFrame?.opcode == .continuation && lastFrame?.fin == true, "a reassembled message not right after its last fragment")
            expect(opcode == .text || opcode == .binary, "reassembled opcode \(opcode)")
            expect(count >= 2, "reassembled from \(count) frames")
        case .unreadable(_, let remaining):
            accounted += remaining.count
        }
    }
    expect(accounted == streamLength, "\(accounted) bytes accounted for of \(streamLength)")
}

/// The reassembled payloads, checked against the fragments that made them.
private func checkReassembly(_ items: [FrameStream.Item]) {
    var fragments: [[UInt8]]?
    var opcode: Opcode?
    for item in items {
        switch item {
        case .frame(let frame, _):
            switch frame.opcode {
            case .text, .binary:
                (fragments, opcode) = frame.fin ? (nil, nil) : ([frame.payload], frame.opcode)
            case .continuation where fragments != nil:
                fragments?.append(frame.payload)
            default: break
            }
        case .reassembled(let kind, let payload, let count):
            expect(kind == opcode, "reassembled as \(kind), begun as \(String(describing: opcode))")
            expect(fragments?.count == count, "\(count) fragments announced, \(fragments?.count ?? 0) seen")
            expect(payload == (fragments ?? []).flatMap { $0 }, "a reassembled payload is not its fragments in order")
            (fragments, opcode) = (nil, nil)
        case .unreadable:
            break
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = input(data, size)
    guard bytes.count >= 3 else { return 0 }
    let sender: Role = bytes[0] & 1 == 0 ? .client : .server
    let stream = bytes[3...]

    var whole = FrameStream(sender: sender)
    let wholeItems = whole.append(stream)
    var split = FrameStream(sender: sender)
    var splitItems: [FrameStream.Item] = []
    for piece in pieces(stream, sizes: [bytes[1], bytes[2]]) { splitItems += split.append(piece) }

    expect(wholeItems.count == splitItems.count, "\(wholeItems.count) items in one piece, \(splitItems.count) in pieces")
    for (a, b) in zip(wholeItems, splitItems) {
        if case .unreadable(let va, let ra) = a, case .unreadable(let vb, let rb) = b {
            // In pieces, the bytes after the unreadable header may not have arrived yet.
            expect(va == vb && ra.starts(with: rb), "unreadable differs: \(va) \(ra.count) bytes vs \(vb) \(rb.count) bytes")
        } else {
            expect(a == b, "items differ with how the stream was cut:\n\(a)\nvs\n\(b)")
        }
    }
    if case .unreadable? = wholeItems.last {} else {
        expect(whole.pendingByteCount == split.pendingByteCount, "pending \(whole.pendingByteCount) vs \(split.pendingByteCount)")
    }
    check(wholeItems, pending: whole.pendingByteCount, streamLength: stream.count)
    checkReassembly(wholeItems)
    return 0
}
