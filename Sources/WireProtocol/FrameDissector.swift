/// Takes raw bytes apart into one ``Frame``, reading the header in the order the RFC lays it out.
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
        /// The header announces a length no implementation can hold (the 64-bit length's top bit is
        /// set); the rest of the stream cannot be framed.
        case unreadable(ProtocolViolation)
    }

    /// The largest payload wirelab will buffer to dissect. Far above any limit the lab accepts.
    public static let maximumPayloadLength: UInt64 = 1 << 32

    public static func dissect(_ bytes: some Collection<UInt8>) -> Result {
        let input = Array(bytes)
        // Step 1: the two fixed bytes.
        guard input.count >= 2 else { return .needMoreBytes(2 - input.count) }
        let first = input[0]
        let second = input[1]
        let masked = second & 0x80 != 0
        let shortLength = second & 0x7F

        // Step 2: the length form chosen by the 7-bit value.
        let form: Frame.LengthForm =
            switch shortLength {
            case 126: .sixteenBit
            case 127: .sixtyFourBit
            default: .sevenBit
            }
        let headerLength = 2 + form.extendedLengthByteCount + (masked ? 4 : 0)
        guard input.count >= headerLength else { return .needMoreBytes(headerLength - input.count) }

        // Step 3: the extended length, big-endian.
        var payloadLength = UInt64(shortLength)
        if form != .sevenBit {
            payloadLength = 0
            for byte in input[2..<(2 + form.extendedLengthByteCount)] {
                payloadLength = payloadLength << 8 | UInt64(byte)
            }
        }
        if form == .sixtyFourBit && payloadLength & (1 << 63) != 0 {
            return .unreadable(.init("64-bit length has its most significant bit set"))
        }
        if payloadLength > maximumPayloadLength {
            return .unreadable(.init("announced length \(payloadLength) is beyond what wirelab will buffer", closeWith: .messageTooBig))
        }

        // Step 4: the masking key, then the payload.
        let maskingKey = masked ? Array(input[(headerLength - 4)..<headerLength]) : nil
        let total = headerLength + Int(payloadLength)
        guard input.count >= total else { return .needMoreBytes(total - input.count) }

        let frame = Frame(
            fin: first & 0x80 != 0,
            rsv1: first & 0x40 != 0,
            rsv2: first & 0x20 != 0,
            rsv3: first & 0x10 != 0,
            opcode: Opcode(rawValue: first & 0x0F),
            maskingKey: maskingKey,
            payloadLength: payloadLength,
            lengthForm: form,
            header: Array(input[0..<headerLength]),
            wirePayload: Array(input[headerLength..<total])
        )
        return .frame(frame, consumed: total)
    }
}
