/// The fixed part of a frame: everything before the payload (RFC 6455 §5.2).
public struct FrameHeader: Sendable, Equatable {
    public var fin: Bool
    public var rsv1: Bool
    public var rsv2: Bool
    public var rsv3: Bool
    public var opcode: Opcode
    public var maskingKey: [UInt8]?
    public var payloadLength: UInt64
    public var lengthForm: Frame.LengthForm
    /// 2 to 14 bytes.
    public var byteCount: Int

    public enum ParseResult: Sendable, Equatable {
        case header(FrameHeader)
        /// The input ends inside the header; at least this many more bytes are needed.
        case needMoreBytes(Int)
        /// The header announces a length no implementation can hold (the 64-bit length's top bit
        /// is set, or beyond `maximumPayloadLength`); the rest of the stream cannot be framed.
        case unreadable(ProtocolViolation)
    }

    /// The largest payload wirelab will buffer to dissect. Far above any limit the lab accepts.
    public static let maximumPayloadLength: UInt64 = 1 << 32

    /// Reads a header in the order the RFC lays it out. Never traps on short or hostile input.
    public static func parse(_ input: some Collection<UInt8>) -> ParseResult {
        var bytes = input.makeIterator()
        // Step 1: the two fixed bytes.
        guard let first = bytes.next() else { return .needMoreBytes(2) }
        guard let second = bytes.next() else { return .needMoreBytes(1) }
        let masked = second & 0x80 != 0
        let shortLength = second & 0x7F

        // Step 2: the length form chosen by the 7-bit value.
        let form: Frame.LengthForm =
            switch shortLength {
            case 126: .sixteenBit
            case 127: .sixtyFourBit
            default: .sevenBit
            }
        let byteCount = 2 + form.extendedLengthByteCount + (masked ? 4 : 0)
        let available = input.count
        guard available >= byteCount else { return .needMoreBytes(byteCount - available) }

        // Step 3: the extended length, big-endian.
        var payloadLength = UInt64(shortLength)
        if form != .sevenBit {
            payloadLength = 0
            for _ in 0..<form.extendedLengthByteCount {
                payloadLength = payloadLength << 8 | UInt64(bytes.next()!)
            }
        }
        if form == .sixtyFourBit && payloadLength & (1 << 63) != 0 {
            return .unreadable(.init("64-bit length has its most significant bit set"))
        }
        if payloadLength > maximumPayloadLength {
            return .unreadable(.init("announced length \(payloadLength) is beyond what wirelab will buffer", closeWith: .messageTooBig))
        }

        // Step 4: the masking key, when the MASK bit is set.
        let maskingKey = masked ? (0..<4).map { _ in bytes.next()! } : nil
        return .header(
            FrameHeader(
                fin: first & 0x80 != 0, rsv1: first & 0x40 != 0, rsv2: first & 0x20 != 0, rsv3: first & 0x10 != 0,
                opcode: Opcode(rawValue: first & 0x0F), maskingKey: maskingKey, payloadLength: payloadLength,
                lengthForm: form, byteCount: byteCount
            )
        )
    }
}

/// Takes raw bytes apart into one ``Frame``.
///
/// This is not the codec wirelab sends and receives with (that is SwiftNIO's); it explains bytes
/// that the codec already put on the wire, so it never trusts its input: truncated input asks for
/// more bytes, impossible lengths are reported, nothing traps.
public enum FrameDissector {
    public enum Result: Sendable, Equatable {
        /// A whole frame, and how many input bytes it used.
        case frame(Frame, consumed: Int)
        /// The input ends inside a frame; at least this many more bytes are needed.
        case needMoreBytes(Int)
        /// The stream cannot be framed any further; see ``FrameHeader/ParseResult/unreadable(_:)``.
        case unreadable(ProtocolViolation)
    }

    public static func dissect(_ bytes: some Collection<UInt8>) -> Result {
        let input = Array(bytes)
        switch FrameHeader.parse(input) {
        case .needMoreBytes(let count): return .needMoreBytes(count)
        case .unreadable(let violation): return .unreadable(violation)
        case .header(let header):
            let total = header.byteCount + Int(header.payloadLength)
            guard input.count >= total else { return .needMoreBytes(total - input.count) }
            let frame = Frame(
                fin: header.fin, rsv1: header.rsv1, rsv2: header.rsv2, rsv3: header.rsv3, opcode: header.opcode,
                maskingKey: header.maskingKey, payloadLength: header.payloadLength, lengthForm: header.lengthForm,
                header: Array(input[0..<header.byteCount]), wirePayload: Array(input[header.byteCount..<total])
            )
            return .frame(frame, consumed: total)
        }
    }
}
