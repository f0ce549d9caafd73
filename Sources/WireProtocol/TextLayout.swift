/// Laying text out in columns and lines, for everything wirelab prints.

/// Wraps text at spaces to `width` columns; lines after the first start with `indent`.
public func wrapWords(_ text: String, width: Int, indent: String = "  ") -> [String] {
    var lines: [String] = []
    var line = ""
    for word in text.split(separator: " ") {
        if !line.isEmpty, line.count + 1 + word.count > width {
            lines.append(line)
            line = indent + word
        } else {
            line += (line.isEmpty ? "" : " ") + word
        }
    }
    if !line.isEmpty { lines.append(line) }
    return lines
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

    /// Pads to `width`; a longer string gets one space, so that columns never touch.
    public func padding(_ width: Int) -> String {
        count > width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
