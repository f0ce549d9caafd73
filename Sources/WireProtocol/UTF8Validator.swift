/// Checks UTF-8 a piece at a time, so that a text message split across frames can be refused at
/// the first bad byte rather than once it is whole (RFC 6455 §8.1, "fail fast").
///
/// Strict as RFC 3629 is: no overlong forms, no surrogates (U+D800-U+DFFF), nothing above
/// U+10FFFF. A sequence may be cut anywhere between pieces; ``endsOnCharacterBoundary`` says
/// whether the bytes so far end cleanly.
public struct UTF8Validator: Sendable, Equatable {
    /// Continuation bytes still expected for the character in progress.
    private var pending = 0
    /// The range the next continuation byte must fall in. Only the first one after a lead byte
    /// is narrower than 80...BF: that is where overlong forms, surrogates and values above
    /// U+10FFFF show themselves.
    private var lowest: UInt8 = 0x80
    private var highest: UInt8 = 0xBF
    /// Bytes accepted so far, for saying where a bad one was.
    public private(set) var byteCount = 0

    public init() {}

    /// True when no character is left half finished.
    public var endsOnCharacterBoundary: Bool { pending == 0 }

    /// Takes the next piece. - Returns: false at the first byte that cannot be valid UTF-8 (the
    /// validator then stays as it was before that byte).
    public mutating func accept(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            // ASCII runs are the common case: skip them eight bytes at a time.
            if pending == 0 {
                while index + 8 <= count, bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    index += 8
                }
                if index == count { break }
            }
            guard accept(byte: bytes[index]) else {
                byteCount += index
                return false
            }
            index += 1
        }
        byteCount += count
        return true
    }

    public mutating func accept(_ bytes: some Collection<UInt8>) -> Bool {
        let contiguous = Array(bytes)
        return contiguous.withUnsafeBytes { accept($0) }
    }

    private mutating func accept(byte: UInt8) -> Bool {
        if pending > 0 {
            guard (lowest...highest).contains(byte) else { return false }
            pending -= 1
            (lowest, highest) = (0x80, 0xBF)
            return true
        }
        switch byte {
        case 0x00...0x7F: return true
        case 0xC2...0xDF: pending = 1
        case 0xE0: (pending, lowest) = (2, 0xA0)  // below A0 would be overlong
        case 0xED: (pending, highest) = (2, 0x9F)  // above 9F would be a surrogate
        case 0xE1...0xEC, 0xEE...0xEF: pending = 2
        case 0xF0: (pending, lowest) = (3, 0x90)  // below 90 would be overlong
        case 0xF1...0xF3: pending = 3
        case 0xF4: (pending, highest) = (3, 0x8F)  // above 8F would pass U+10FFFF
        default: return false  // 80-BF with nothing to continue, C0-C1 (overlong), F5-FF
        }
        return true
    }
}
