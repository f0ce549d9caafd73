/// One WebSocket frame exactly as it crossed the wire, taken apart (RFC 6455 §5.2).
///
/// ```
///  byte 0: FIN RSV1 RSV2 RSV3 opcode(4)
///  byte 1: MASK payload-length(7)        126 → 16-bit length follows, 127 → 64-bit length follows
///  [extended length: 2 or 8 bytes] [masking key: 4 bytes, if MASK] [payload]
/// ```
public struct Frame: Sendable, Equatable {
    /// How the payload length was written in the header.
    public enum LengthForm: Sendable, Equatable {
        /// 0-125, in the low seven bits of byte 1.
        case sevenBit
        /// 126 in byte 1, then a 16-bit big-endian length (126-65535).
        case sixteenBit
        /// 127 in byte 1, then a 64-bit big-endian length (65536 and up).
        case sixtyFourBit

        /// The shortest form able to carry `length`; RFC 6455 requires it.
        public static func minimal(for length: UInt64) -> LengthForm {
            switch length {
            case 0...125: .sevenBit
            case 126...0xFFFF: .sixteenBit
            default: .sixtyFourBit
            }
        }

        /// Bytes after byte 1 that hold the length.
        public var extendedLengthByteCount: Int {
            switch self {
            case .sevenBit: 0
            case .sixteenBit: 2
            case .sixtyFourBit: 8
            }
        }

        public var name: String {
            switch self {
            case .sevenBit: "7-bit"
            case .sixteenBit: "16-bit"
            case .sixtyFourBit: "64-bit"
            }
        }
    }

    public var fin: Bool
    public var rsv1: Bool
    public var rsv2: Bool
    public var rsv3: Bool
    public var opcode: Opcode
    /// The four masking-key bytes, present exactly when the MASK bit is set.
    public var maskingKey: [UInt8]?
    public var payloadLength: UInt64
    public var lengthForm: LengthForm
    /// The header bytes as they were on the wire (2 to 14 bytes).
    public var header: [UInt8]
    /// The payload bytes as they were on the wire: masked when `maskingKey` is set.
    public var wirePayload: [UInt8]
    /// Set when the frame belongs to a per-message compressed message (permessage-deflate,
    /// RFC 7692): filled in by ``FrameStream``, which knows what the handshake agreed.
    public var compression: Compression?

    /// A frame's part in a compressed message.
    public struct Compression: Sendable, Equatable {
        /// The compressed payload bytes of the message up to and including this frame.
        public var compressedBytes: Int
        /// On the frame that ends the message: the message inflated (nil if it could not be).
        public var inflated: [UInt8]?
        /// Whether the message started with an empty window (no context takeover) or with what
        /// earlier messages left in it.
        public var contextTakenOver: Bool

        public init(compressedBytes: Int, inflated: [UInt8]?, contextTakenOver: Bool) {
            self.compressedBytes = compressedBytes
            self.inflated = inflated
            self.contextTakenOver = contextTakenOver
        }
    }

    public init(
        fin: Bool, rsv1: Bool = false, rsv2: Bool = false, rsv3: Bool = false, opcode: Opcode,
        maskingKey: [UInt8]?, payloadLength: UInt64, lengthForm: LengthForm, header: [UInt8], wirePayload: [UInt8]
    ) {
        self.fin = fin
        self.rsv1 = rsv1
        self.rsv2 = rsv2
        self.rsv3 = rsv3
        self.opcode = opcode
        self.maskingKey = maskingKey
        self.payloadLength = payloadLength
        self.lengthForm = lengthForm
        self.header = header
        self.wirePayload = wirePayload
    }

    public var isMasked: Bool { maskingKey != nil }

    /// What the application sent: the payload unmasked and, for a compressed message's last
    /// frame, inflated.
    public var messageData: [UInt8] { compression?.inflated ?? payload }

    /// The application data: `wirePayload` XOR the masking key, byte `i` with key byte `i % 4`.
    public var payload: [UInt8] {
        guard let key = maskingKey else { return wirePayload }
        return Self.applyMask(key, to: wirePayload)
    }

    /// Every byte of the frame, header first.
    public var wireBytes: [UInt8] { header + wirePayload }
    public var wireSize: Int { header.count + wirePayload.count }

    /// Masking is its own inverse, so the same function masks and unmasks.
    public static func applyMask(_ key: [UInt8], to bytes: [UInt8]) -> [UInt8] {
        precondition(key.count == 4, "a masking key is four bytes")
        var out = bytes
        for index in out.indices { out[index] ^= key[index & 3] }
        return out
    }

    /// The status code and reason of a close frame; nil for other frames or an empty close body.
    public var closeBody: (code: CloseCode, reason: [UInt8])? {
        guard opcode == .close else { return nil }
        let body = payload
        guard body.count >= 2 else { return nil }
        return (CloseCode(code: UInt16(body[0]) << 8 | UInt16(body[1])), Array(body.dropFirst(2)))
    }
}
