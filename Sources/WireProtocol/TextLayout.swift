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
    /// Pads to `width`; a longer string gets one space, so that columns never touch.
    public func padding(_ width: Int) -> String {
        count > width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
