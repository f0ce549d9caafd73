/// Fuzz target `json`: `JSON(parsing:)` (it reads what clients send to the lab) and `JSON.text`.
///
/// Input: text (invalid UTF-8 decoded with replacement characters, as a `String` would be).
/// Invariants: an error points inside the text; a parsed value written with `.text` parses again
/// to the same value and writes the same text; Foundation's `JSONSerialization` accepts what
/// `JSON` accepts (the reverse does not hold: Foundation allows deeper nesting).
import Foundation
import WireProtocol

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: input(data, size), as: UTF8.self)
    let value: JSON
    do {
        value = try JSON(parsing: text)
    } catch {
        expect((0...text.utf8.count).contains(error.offset), "error offset \(error.offset) outside \(text.utf8.count) bytes")
        expect(error.column >= 1 && error.column <= text.count + 1, "error column \(error.column) outside \(text.count) characters")
        return 0
    }
    let written = value.text
    let again: JSON
    do {
        again = try JSON(parsing: written)
    } catch {
        fatalError("invariant broken: \(text.debugDescription) parsed, but its text \(written.debugDescription) does not: \(error)")
    }
    expect(again == value, "\(written.debugDescription) parses to another value")
    expect(again.text == written, "\(written.debugDescription) is written back as \(again.text.debugDescription)")
    let foundation = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)
    expect(foundation != nil, "JSON accepts \(text.debugDescription), JSONSerialization refuses it")
    return 0
}
