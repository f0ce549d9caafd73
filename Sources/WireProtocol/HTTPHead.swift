/// The head of an HTTP/1.1 message (start line and header fields) exactly as it crossed the wire.
public struct HTTPHead: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String
    }

    public enum StartLine: Sendable, Equatable {
        case request(method: String, target: String, version: String)
        case response(version: String, status: Int, reason: String)
        /// A first line that is neither; the bytes are still shown.
        case unrecognised(String)
    }

    /// Every byte of the head, up to and including the blank line that ends it.
    public let raw: [UInt8]
    public let startLine: StartLine
    public let fields: [Field]

    public var byteCount: Int { raw.count }

    /// The first value of a field, by case-insensitive name.
    public func field(_ name: String) -> String? {
        fields.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var status: Int? {
        if case .response(_, let status, _) = startLine { return status }
        return nil
    }

    public var contentLength: Int? { field("Content-Length").flatMap { Int($0.trimmingSpaces) } }
    public var isChunked: Bool { field("Transfer-Encoding")?.lowercased().contains("chunked") ?? false }

    /// The head's lines without their CRLF, the blank line excluded, bytes decoded leniently.
    public var lines: [String] {
        let text = String(decoding: raw, as: UTF8.self)
        var lines = text.components(separatedByCRLF: ())
        while lines.last == "" { lines.removeLast() }
        return lines
    }

    public enum ParseResult: Sendable, Equatable {
        case head(HTTPHead, consumed: Int)
        /// No blank line yet.
        case needMoreBytes
        /// Not an HTTP head (or larger than the limit); the message says why.
        case malformed(String)
    }

    /// Heads larger than this are refused rather than buffered forever.
    public static let maximumSize = 64 * 1024

    public static func parse(_ bytes: some Collection<UInt8>) -> ParseResult {
        let input = Array(bytes)
        guard let end = headLength(in: input) else {
            return input.count > maximumSize ? .malformed("no end of head within \(maximumSize) bytes") : .needMoreBytes
        }
        // The same limit when the whole head is there at once: otherwise a head too large to
        // wait for in pieces would pass when it arrived in one read.
        guard end <= maximumSize else { return .malformed("no end of head within \(maximumSize) bytes") }
        let raw = Array(input[..<end])
        let text = String(decoding: raw, as: UTF8.self)
        var lines = text.components(separatedByCRLF: ())
        while lines.last == "" { lines.removeLast() }
        guard let first = lines.first, !first.isEmpty else { return .malformed("empty start line") }
        var fields: [Field] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return .malformed("header line without a colon: \(line)") }
            fields.append(Field(name: String(line[..<colon]), value: String(line[line.index(after: colon)...]).trimmingSpaces))
        }
        return .head(HTTPHead(raw: raw, startLine: StartLine(first), fields: fields), consumed: end)
    }
}

extension HTTPHead.StartLine {
    init(_ line: String) {
        let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        if parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) {
            self = .response(version: parts[0], status: status, reason: parts.count > 2 ? parts[2] : "")
        } else if parts.count == 3, parts[2].hasPrefix("HTTP/") {
            self = .request(method: parts[0], target: parts[1], version: parts[2])
        } else {
            self = .unrecognised(line)
        }
    }
}

extension HTTPHead {
    /// The length of the head at the start of `bytes`: the index just past the first CR LF CR LF.
    public static func headLength(in bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index + 4
        }
        return nil
    }
}

extension String {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first == " " || slice.first == "\t" { slice.removeFirst() }
        while slice.last == " " || slice.last == "\t" { slice.removeLast() }
        return String(slice)
    }

    /// Splits on CRLF only, so a stray bare LF or CR stays visible inside its line.
    func components(separatedByCRLF: ()) -> [String] {
        var result: [String] = []
        var current = ""
        var pendingCR = false
        for scalar in unicodeScalars {
            if pendingCR {
                pendingCR = false
                if scalar == "\n" {
                    result.append(current)
                    current = ""
                    continue
                }
                current.unicodeScalars.append("\r")
            }
            if scalar == "\r" { pendingCR = true } else { current.unicodeScalars.append(scalar) }
        }
        if pendingCR { current.unicodeScalars.append("\r") }
        result.append(current)
        return result
    }
}
