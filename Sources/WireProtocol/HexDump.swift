/// Hex renderings of raw bytes.
public enum HexDump {
    /// `81 85 37 fa`.
    public static func compact(_ bytes: some Collection<UInt8>) -> String {
        bytes.map(hex).joined(separator: " ")
    }

    /// Classic 16-bytes-a-line dump: offset, hex in two groups of eight, printable ASCII.
    public static func lines(_ bytes: [UInt8], limit: Int? = nil) -> [String] {
        let shown = limit.map { Array(bytes.prefix($0)) } ?? bytes
        var lines: [String] = []
        var offset = 0
        while offset < shown.count {
            let row = shown[offset..<min(offset + 16, shown.count)]
            var hexPart = ""
            for (index, byte) in row.enumerated() {
                hexPart += hex(byte) + (index == 7 ? "  " : " ")
            }
            let pad = String(repeating: " ", count: max(0, 49 - hexPart.count))
            let ascii = String(row.map { (0x20..<0x7F).contains($0) ? Character(UnicodeScalar($0)) : "." })
            lines.append(Self.offset(offset) + "  " + hexPart + pad + "|" + ascii + "|")
            offset += 16
        }
        if shown.count < bytes.count {
            lines.append("… \(bytes.count - shown.count) more bytes")
        }
        return lines
    }

    public static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }

    /// A dump-line offset: four hex digits, zero padded.
    static func offset(_ value: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// `0000 0001` for a byte.
    public static func bits(_ byte: UInt8) -> String {
        let text = String(byte, radix: 2)
        let padded = String(repeating: "0", count: 8 - text.count) + text
        return String(padded.prefix(4)) + " " + String(padded.suffix(4))
    }
}
