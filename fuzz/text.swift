/// Fuzz target `text`: the text layout every rendering goes through: `withVisibleControlCharacters`,
/// `wrapWords`, `padding` and `HexDump`.
///
/// Input: byte 0 (a width), then bytes shown as text (decoded with replacement characters) and
/// as a hex dump. Invariants: visible text has no control character but LF and does not change
/// when made visible again; wrapped lines keep every word in order and are no wider than the
/// width in terminal cells unless one word is; padding adds spaces only, up to the width in cells; dump lines have the classic layout and
/// read back to the bytes.
import WireProtocol

private func checkVisible(_ text: String) {
    let visible = text.withVisibleControlCharacters
    expect(!visible.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || $0.value == 0x7F }, "a control character left in \(visible.debugDescription)")
    expect(visible.withVisibleControlCharacters == visible, "making \(visible.debugDescription) visible again changes it")
}

private func checkWrap(_ text: String, width: Int) {
    let indent = "  "
    let lines = wrapWords(text, width: width, indent: indent)
    let words = text.split(separator: " ").map(String.init)
    var rewrapped: [String] = []
    for (index, line) in lines.enumerated() {
        expect(!line.isEmpty, "an empty wrapped line")
        let body = index == 0 ? Substring(line) : line.dropFirst(indent.count)
        expect(index == 0 || line.hasPrefix(indent), "line \(index) lacks its indent: \(line.debugDescription)")
        let lineWords = body.split(separator: " ").map(String.init)
        expect(line.cells <= width || lineWords.count == 1, "a line of \(line.cells) cells > \(width) with \(lineWords.count) words")
        rewrapped += lineWords
    }
    expect(rewrapped == words, "wrapping changed the words of \(text.debugDescription): \(lines)")
}

private func checkDump(_ bytes: [UInt8], limit: Int?) {
    let lines = HexDump.lines(bytes, limit: limit)
    let shown = limit.map { min(max($0, 0), bytes.count) } ?? bytes.count
    let rows = (shown + 15) / 16
    expect(lines.count == rows + (shown < bytes.count ? 1 : 0), "\(lines.count) dump lines for \(shown) of \(bytes.count) bytes")
    var readBack: [UInt8] = []
    for (row, line) in lines.prefix(rows).enumerated() {
        expect(line.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F }, "a dump line with a control character")
        let offset = String(line.prefix { $0 != " " })
        expect(Int(offset, radix: 16) == row * 16, "offset \(offset) on row \(row)")
        let hexPart = line.dropFirst(offset.count + 2).prefix(49)
        readBack += hexPart.split(separator: " ").map { UInt8($0, radix: 16) ?? 0 }
        expect(line.dropFirst(offset.count + 2 + 49).first == "|" && line.last == "|", "dump line layout: \(line)")
    }
    expect(readBack == Array(bytes.prefix(shown)), "the dump does not read back to the bytes")
    expect(HexDump.compact(bytes).count == max(0, bytes.count * 3 - 1), "compact dump length")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = input(data, size)
    guard let first = bytes.first else { return 0 }
    let rest = Array(bytes.dropFirst())
    let text = String(decoding: rest, as: UTF8.self)
    let width = Int(first % 100)

    checkVisible(text)
    checkWrap(text, width: width)
    // Padding appends spaces only: up to the width in terminal cells, or one when the text is
    // wider than that.
    let padded = Array(text.padding(width).unicodeScalars)
    let scalars = Array(text.unicodeScalars)
    let added = padded.dropFirst(scalars.count)
    let cells = text.cells
    expect(cells >= 0 && cells <= 2 * text.unicodeScalars.count, "\(cells) cells for \(text.unicodeScalars.count) scalars")
    expect(padded.starts(with: scalars) && added.allSatisfy { $0 == " " } && added.count == (cells <= width ? width - cells : 1), "padding \(text.debugDescription) to \(width)")
    checkDump(rest, limit: first & 0x80 == 0 ? nil : Int(first & 0x7F))
    expect(String(HexDump.bits(first).filter { $0 != " " }) == String(first, radix: 2).leftPadded(8), "bits of \(first)")
    return 0
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
