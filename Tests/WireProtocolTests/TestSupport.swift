import Testing
import WireProtocol

/// `"81 05 48"` → `[0x81, 0x05, 0x48]`. Whitespace is ignored; anything else that is not hex traps.
func hex(_ text: String) -> [UInt8] {
    let digits = text.filter { !$0.isWhitespace }
    precondition(digits.count % 2 == 0, "odd number of hex digits in \(text)")
    var out: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        out.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return out
}

func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }

/// The frame a dissection produced, or a recorded failure.
func dissectFrame(
    _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation
) throws -> (frame: Frame, consumed: Int) {
    let result = FrameDissector.dissect(bytes)
    guard case .frame(let frame, let consumed) = result else {
        Issue.record("expected a whole frame, got \(result)", sourceLocation: sourceLocation)
        throw DissectionFailed()
    }
    return (frame, consumed)
}

struct DissectionFailed: Error {}

/// RFC 6455 §5.7 examples and a few more, shared by several suites.
enum Examples {
    static let unmaskedHello = hex("81 05 48 65 6c 6c 6f")
    static let maskedHello = hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")
    static let maskedLowerHello = hex("81 85 37 fa 21 3d 5f 9f 4d 51 58")
    static let fragmentHel = hex("01 03 48 65 6c")
    static let fragmentLo = hex("80 02 6c 6f")
    static let unmaskedPing = hex("89 05 48 65 6c 6c 6f")
    static let maskedPong = hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58")
    /// 256 bytes 0x00, 0x01, ... 0xFF.
    static let payload256: [UInt8] = (0..<256).map { UInt8($0) }
    static let binary256 = hex("82 7E 01 00") + payload256
    /// 65536 bytes: the low byte of each index, then a distinct last byte to catch off-by-one.
    static let payload65536: [UInt8] = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 7) }
    static let binary65536 = hex("82 7F 00 00 00 00 00 01 00 00") + payload65536
    static let maskKey = hex("37 fa 21 3d")
}
