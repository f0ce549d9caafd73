/// Laying text out in columns and lines, for everything wirelab prints.

/// Wraps text at spaces to `width` terminal cells; lines after the first start with `indent`.
public func wrapWords(_ text: String, width: Int, indent: String = "  ") -> [String] {
    var lines: [String] = []
    var line = ""
    var lineCells = 0
    for word in text.split(separator: " ") {
        let wordCells = word.cells
        if !line.isEmpty, lineCells + 1 + wordCells > width {
            lines.append(line)
            line = indent + word
            lineCells = indent.cells + wordCells
        } else {
            lineCells += (line.isEmpty ? 0 : 1) + wordCells
            line += (line.isEmpty ? "" : " ") + word
        }
    }
    if !line.isEmpty { lines.append(line) }
    return lines
}

extension Unicode.Scalar {
    /// The terminal cells this scalar takes: 0 for combining marks, invisible format characters
    /// (the zero-width joiner, variation selectors) and controls; 2 for East Asian wide and
    /// fullwidth characters and for emoji shown as emoji; 1 for the rest. This is what terminals
    /// do (it follows `wcwidth`), so that columns line up with CJK text and emoji in them.
    public var cells: Int {
        switch properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format, .control: return 0
        default: break
        }
        if properties.isEmojiPresentation { return 2 }
        switch value {
        case 0x1160...0x11FF: return 0  // Hangul medial vowels and final consonants join the syllable
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
            0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19,
            0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return 2
        default: return 1
        }
    }
}

extension Character {
    /// The terminal cells of this character (a grapheme cluster): its widest scalar, and 2 for
    /// an emoji asked to show as one (U+FE0F after it), since terminals then draw it wide.
    public var cells: Int {
        let scalars = unicodeScalars
        if scalars.count > 1, scalars.contains("\u{FE0F}"), scalars.first?.properties.isEmoji == true { return 2 }
        return scalars.reduce(0) { max($0, $1.cells) }
    }
}

extension StringProtocol {
    /// The text cut with "…" to fit in `width` terminal cells, or as it is when it fits.
    public func fitted(toCells width: Int) -> String {
        guard cells > width else { return String(self) }
        var used = 0
        var end = startIndex
        for index in indices {
            used += self[index].cells
            if used > width - 1 { break }
            end = self.index(after: index)
        }
        return String(self[..<end]) + "…"
    }

    /// The terminal cells this text takes on one line (see `Character.cells`). Styling escape
    /// sequences (`ESC [ … m`, as the REPL's colours are written) take none.
    public var cells: Int {
        var total = 0
        var inEscape = false
        for character in self {
            if inEscape {
                // A CSI sequence ends with its final byte, @ through ~ (after "[" itself).
                if character != "[", let ascii = character.asciiValue, (0x40...0x7E).contains(ascii) { inEscape = false }
            } else if character == "\u{1B}" {
                inEscape = true
            } else {
                total += character.cells
            }
        }
        return total
    }
}

extension String {
    /// Control characters (C0 and DEL, except the line feeds that separate a message's lines)
    /// written as `\xNN`: typed input echoed back in a message stays visible, and an escape
    /// sequence in it cannot drive the terminal.
    public var withVisibleControlCharacters: String {
        var out = ""
        for scalar in unicodeScalars {
            if (scalar.value < 0x20 && scalar != "\n") || scalar.value == 0x7F {
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Pads to `width` terminal cells; a longer string gets one space, so that columns never touch.
    public func padding(_ width: Int) -> String {
        let cells = self.cells
        return cells > width ? self + " " : self + String(repeating: " ", count: width - cells)
    }
}
