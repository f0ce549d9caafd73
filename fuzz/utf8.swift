/// Fuzz target `utf8`: `UTF8Validator`, the piecewise check of text split across frames.
///
/// Input: bytes 0-1 (the sizes of the pieces, cycled), then the bytes to check. Invariants: it
/// agrees with the standard library's strict decoding (`String(validating:as:)`) on the whole;
/// it gives the same answer and stops at the same byte whether the bytes come in one piece or in
/// many; the bytes it accepted before a bad one are valid UTF-8 up to a character it could still
/// finish, and the bad byte could finish none.
import WireProtocol

/// Whether `tail` (at most 3 bytes) begins a UTF-8 sequence that some continuation bytes finish.
private func canBeFinished(_ tail: ArraySlice<UInt8>) -> Bool {
    if tail.isEmpty { return true }
    // Every continuation byte a strict decoder may want after a lead byte is one of these.
    for filler: UInt8 in [0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF] {
        for count in 1...3 where String(validating: Array(tail) + Array(repeating: filler, count: count), as: UTF8.self) != nil {
            return true
        }
    }
    return false
}

/// The accepted bytes: a valid prefix, then a character begun and not yet finished.
private func isValidPrefix(_ bytes: ArraySlice<UInt8>) -> Bool {
    for cut in 0...min(3, bytes.count) {
        let head = bytes.dropLast(cut)
        if String(validating: head, as: UTF8.self) != nil && canBeFinished(bytes.suffix(cut)) { return true }
    }
    return false
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = input(data, size)
    guard bytes.count >= 2 else { return 0 }
    let text = bytes[2...]

    var whole = UTF8Validator()
    let wholeOK = whole.accept(text)
    let reference = String(validating: text, as: UTF8.self) != nil
    expect((wholeOK && whole.endsOnCharacterBoundary) == reference, "validator says \(wholeOK)/\(whole.endsOnCharacterBoundary), the standard library \(reference)")

    var split = UTF8Validator()
    var splitOK = true
    for piece in pieces(text, sizes: [bytes[0], bytes[1]]) where splitOK {
        splitOK = split.accept(piece)
    }
    expect(splitOK == wholeOK && split == whole, "the answer depends on how the bytes were cut: \(whole) vs \(split)")

    if !wholeOK {
        let bad = text.startIndex + whole.byteCount
        expect(bad < text.endIndex, "refused at \(whole.byteCount), past the end")
        expect(isValidPrefix(text[..<bad]), "the \(whole.byteCount) bytes accepted are not a valid start")
        expect(!isValidPrefix(text[...bad]), "refused byte \(whole.byteCount) could still be valid")
    }
    return 0
}
