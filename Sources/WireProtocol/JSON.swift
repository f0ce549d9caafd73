import Foundation

/// A JSON value with object keys kept in order, so messages come out exactly in the guide's
/// shape (`{"from": …, "data": …, "timestamp": …}`), byte for byte the same every run.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    public subscript(key: String) -> JSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// Compact text, no spaces: what goes on the wire.
    public var text: String {
        String(decoding: utf8, as: UTF8.self)
    }

    /// The compact text's UTF-8 bytes, written byte by byte: a broadcast serializes its message
    /// once with this and shares the bytes among its receivers.
    public var utf8: [UInt8] {
        if SerializationProbe.isWatching { SerializationProbe.saw(self) }
        var out: [UInt8] = []
        out.reserveCapacity(64)
        write(to: &out)
        return out
    }

    private func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let value):
            if value.rounded() == value && abs(value) < 1e15 { out.append(contentsOf: String(Int64(value)).utf8) } else { out.append(contentsOf: "\(value)".utf8) }
        case .string(let value): Self.quote(value, into: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.quote(key, into: &out)
                out.append(UInt8(ascii: ":"))
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Quotes a string, escaping `"`, `\\` and the control characters; every other byte (UTF-8
    /// beyond ASCII included) is copied as it is, in runs.
    private static func quote(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { bytes in
            var runStart = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                runStart = index + 1
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
                case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
                case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
                case UInt8(ascii: "\r"): out.append(contentsOf: #"\r"#.utf8)
                case UInt8(ascii: "\t"): out.append(contentsOf: #"\t"#.utf8)
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: #"\u00"#.utf8)
                    out.append(hex[Int(byte >> 4)])
                    out.append(hex[Int(byte & 0xF)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart...]))
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Counts how often JSON values holding a marker string are serialized, anywhere in the process:
/// the test that a broadcast to N receivers makes its bytes once, not N times. Costs one lock-free
/// read per serialization while nothing is watched.
public enum SerializationProbe {
    private static let watching = NSLock()
    nonisolated(unsafe) private static var markers: [String: Int] = [:]
    nonisolated(unsafe) private(set) static var isWatching = false

    /// Starts counting serializations of values that contain the string `marker`.
    public static func watch(_ marker: String) {
        watching.withLock {
            markers[marker] = 0
            isWatching = true
        }
    }

    /// The count so far for `marker`; stops watching it.
    public static func stop(_ marker: String) -> Int {
        watching.withLock {
            let count = markers.removeValue(forKey: marker) ?? 0
            isWatching = !markers.isEmpty
            return count
        }
    }

    static func saw(_ value: JSON) {
        watching.withLock {
            for marker in markers.keys where value.contains(string: marker) { markers[marker, default: 0] += 1 }
        }
    }
}

extension JSON {
    func contains(string marker: String) -> Bool {
        switch self {
        case .string(let value): value == marker
        case .array(let values): values.contains { $0.contains(string: marker) }
        case .object(let members): members.contains { $0.1.contains(string: marker) }
        default: false
        }
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
}

/// Why some text is not JSON, and where: the REPL points at the column, the lab puts it in its
/// `{"type":"error"}` replies.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Offset in UTF-8 bytes from the start of the text.
    public let offset: Int
    /// 1-based column in characters, for pointing at it.
    public let column: Int
    public let message: String

    public var description: String { "\(message) at column \(column)" }
}

extension JSON {
    /// Strict RFC 8259 parsing (nesting up to 256 levels), with the position of the first error.
    public init(parsing text: String) throws(JSONSyntaxError) {
        var parser = JSONParser(bytes: Array(text.utf8))
        self = try parser.parseDocument()
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    var index = 0
    var depth = 0

    mutating func parseDocument() throws(JSONSyntaxError) -> JSON {
        skipSpace()
        let value = try parseValue()
        skipSpace()
        guard index == bytes.count else { throw error("unexpected text after the JSON value") }
        return value
    }

    func error(_ message: String) -> JSONSyntaxError {
        let column = String(decoding: bytes[..<min(index, bytes.count)], as: UTF8.self).count + 1
        return JSONSyntaxError(offset: index, column: column, message: message)
    }

    var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func skipSpace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    mutating func parseValue() throws(JSONSyntaxError) -> JSON {
        guard let byte = current else { throw error("the text ends where a value should start") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        case UInt8(ascii: "'"): throw error("strings take double quotes in JSON, not single quotes")
        default: throw error("expected a value (object, array, string, number, true, false or null)")
        }
    }

    mutating func literal(_ word: String, _ value: JSON) throws(JSONSyntaxError) -> JSON {
        let expected = Array(word.utf8)
        guard bytes.count - index >= expected.count, Array(bytes[index..<index + expected.count]) == expected else {
            throw error("expected \(word)")
        }
        index += expected.count
        return value
    }

    mutating func nest() throws(JSONSyntaxError) {
        depth += 1
        if depth > 256 { throw error("nested more than 256 levels deep") }
    }

    mutating func parseObject() throws(JSONSyntaxError) -> JSON {
        try nest()
        index += 1
        var members: [(String, JSON)] = []
        skipSpace()
        if current == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipSpace()
            guard current == UInt8(ascii: "\"") else {
                throw error(current == UInt8(ascii: "}") ? "a trailing comma is not allowed in JSON" : "expected a key in double quotes")
            }
            let key = try parseString()
            skipSpace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':' after the key \"\(key)\"") }
            index += 1
            skipSpace()
            members.append((key, try parseValue()))
            skipSpace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                depth -= 1
                return .object(members)
            case nil: throw error("the text ends inside an object: expected ',' or '}'")
            default: throw error("expected ',' or '}'")
            }
        }
    }

    mutating func parseArray() throws(JSONSyntaxError) -> JSON {
        try nest()
        index += 1
        var values: [JSON] = []
        skipSpace()
        if current == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(values)
        }
        while true {
            skipSpace()
            if current == UInt8(ascii: "]") { throw error("a trailing comma is not allowed in JSON") }
            values.append(try parseValue())
            skipSpace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                depth -= 1
                return .array(values)
            case nil: throw error("the text ends inside an array: expected ',' or ']'")
            default: throw error("expected ',' or ']'")
            }
        }
    }

    mutating func parseString() throws(JSONSyntaxError) -> String {
        index += 1  // the opening quote
        var scalars = String.UnicodeScalarView()
        var run: [UInt8] = []
        func flush() {
            scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
            run = []
        }
        while true {
            guard let byte = current else { throw error("the text ends inside a string: a closing \" is missing") }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                flush()
                return String(scalars)
            case UInt8(ascii: "\\"):
                flush()
                index += 1
                guard let escape = current else { throw error("the text ends inside an escape") }
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code) {
                        guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                            throw error("a high surrogate must be followed by a low one")
                        }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("a high surrogate must be followed by a low one") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw error("\\u escape is not a character") }
                    scalars.append(scalar)
                default:
                    index -= 1
                    throw error("unknown escape \\\(Character(UnicodeScalar(escape)))")
                }
            case 0..<0x20:
                throw error("control characters must be escaped inside strings")
            default:
                run.append(byte)
                index += 1
            }
        }
    }

    mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        // Four hex digits and nothing else: UInt32(_:radix:) alone would take "+041" and "-000".
        guard bytes.count - index >= 4, bytes[index..<index + 4].allSatisfy(\.isHexDigit),
            let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
        else {
            throw error("\\u needs four hex digits")
        }
        index += 4
        return value
    }

    mutating func parseNumber() throws(JSONSyntaxError) -> JSON {
        let start = index
        if current == UInt8(ascii: "-") { index += 1 }
        guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { throw error("expected a digit") }
        if first == UInt8(ascii: "0") {
            index += 1
            if let next = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next) { throw error("numbers cannot start with 0") }
        } else {
            digits()
        }
        if current == UInt8(ascii: ".") {
            index += 1
            guard digits() else { throw error("expected a digit after the decimal point") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard digits() else { throw error("expected a digit in the exponent") }
        }
        guard let value = Double(String(decoding: bytes[start..<index], as: UTF8.self)) else { throw error("not a number") }
        // `1e400` reads as infinity, which `text` could only write as `inf`: not JSON.
        guard value.isFinite else {
            index = start
            throw error("the number is too large for a 64-bit float")
        }
        return .number(value)
    }

    @discardableResult
    mutating func digits() -> Bool {
        let start = index
        while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
        return index > start
    }
}
