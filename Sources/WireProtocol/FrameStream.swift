/// One direction of a WebSocket connection: bytes in, dissected frames out, with the rules that
/// span frames (fragment order, UTF-8 across fragments) checked as messages are assembled.
public struct FrameStream: Sendable {
    public enum Item: Sendable, Equatable {
        /// A frame and the rules it breaks (empty when it is well formed).
        case frame(Frame, violations: [ProtocolViolation])
        /// A data message that arrived in more than one frame, reassembled.
        case reassembled(opcode: Opcode, payload: [UInt8], fragments: Int)
        /// The stream cannot be framed any further.
        case unreadable(ProtocolViolation, remaining: [UInt8])
    }

    public let sender: Role
    private var buffer: [UInt8] = []
    private var broken = false
    /// The message being assembled from fragments: its opcode, payload so far and frame count.
    /// For a compressed message, the payload is still compressed.
    private var partial: (opcode: Opcode, payload: [UInt8], fragments: Int)?
    /// What the handshake agreed for permessage-deflate; nil when it was not negotiated.
    public let deflate: DeflateParameters?
    private let inflater: (any MessageInflater)?
    /// The compressed message in progress: its compressed bytes so far.
    private var compressed: [UInt8]?
    /// A compressed message has gone by (the next one may use its window).
    private var hasInflated = false

    /// The inflated size wirelab will hold of one message.
    public static let maximumInflatedSize = 1 << 26

    public init(sender: Role, deflate: DeflateParameters? = nil, inflater: (any MessageInflater)? = nil) {
        self.sender = sender
        self.deflate = deflate
        self.inflater = inflater
    }

    /// Bytes held back because they do not yet make a whole frame.
    public var pendingByteCount: Int { buffer.count }

    public mutating func append(_ bytes: some Collection<UInt8>) -> [Item] {
        if broken { return [] }
        buffer.append(contentsOf: bytes)
        var items: [Item] = []
        var offset = 0
        while offset < buffer.count {
            switch FrameDissector.dissect(buffer[offset...]) {
            case .needMoreBytes:
                buffer.removeFirst(offset)
                return items
            case .unreadable(let violation):
                items.append(.unreadable(violation, remaining: Array(buffer[offset...])))
                buffer = []
                broken = true
                return items
            case .frame(let frame, let consumed):
                offset += consumed
                items.append(contentsOf: assemble(frame))
            }
        }
        buffer = []
        return items
    }

    private mutating func assemble(_ frame: Frame) -> [Item] {
        var frame = frame
        // RSV1 is permessage-deflate's "this message is compressed", allowed on a message's first
        // frame only (RFC 7692 §6.1); RSV2 and RSV3 stay reserved.
        let startsCompressed = deflate != nil && frame.rsv1 && !frame.rsv2 && !frame.rsv3
        var violations = frame.violations(sentBy: sender, extensionsNegotiated: startsCompressed && frame.opcode.isData)
        if startsCompressed && frame.opcode.isControl {
            violations.append(.init("RSV1 on a control frame: permessage-deflate compresses data messages only (RFC 7692 §6.1)"))
        } else if startsCompressed && frame.opcode == .continuation {
            violations.append(.init("RSV1 on a continuation frame: only a message's first frame says it is compressed (RFC 7692 §6.1)"))
        }
        if frame.opcode == .text || frame.opcode == .binary {
            compressed = startsCompressed ? [] : nil
        }
        if frame.opcode.isData, compressed != nil {
            compress(&frame, &violations)
        }
        var reassembled: Item?
        switch frame.opcode {
        case .continuation:
            if var message = partial {
                message.payload += frame.compression.map { $0.inflated ?? [] } ?? frame.payload
                message.fragments += 1
                if frame.fin {
                    if message.opcode == .text && String(validatingUTF8Bytes: message.payload) == nil {
                        violations.append(.init("the reassembled text message is not valid UTF-8", closeWith: .invalidPayloadData))
                    }
                    reassembled = .reassembled(opcode: message.opcode, payload: message.payload, fragments: message.fragments)
                    partial = nil
                } else {
                    partial = message
                }
            } else {
                violations.append(.init("continuation frame with no fragmented message to continue"))
            }
        case .text, .binary:
            if partial != nil {
                violations.append(.init("new \(frame.opcode.name) frame while a fragmented message is unfinished"))
            }
            if frame.fin {
                partial = nil
                if frame.opcode == .text && (frame.compression == nil || frame.compression?.inflated != nil)
                    && String(validatingUTF8Bytes: frame.messageData) == nil
                {
                    violations.append(.init("text payload is not valid UTF-8", closeWith: .invalidPayloadData))
                }
            } else {
                partial = (frame.opcode, frame.compression == nil ? frame.payload : [], 1)
            }
        default:
            break  // control frames may sit between fragments
        }
        return [.frame(frame, violations: violations)] + (reassembled.map { [$0] } ?? [])
    }

    /// Adds `frame`'s payload to the compressed message in progress; on its last frame, inflates
    /// the message (the payloads joined and `00 00 ff ff` put back, RFC 7692 §7.2.2).
    private mutating func compress(_ frame: inout Frame, _ violations: inout [ProtocolViolation]) {
        guard var bytes = compressed, let deflate else { return }
        bytes += frame.payload
        let takesOver = hasInflated && !deflate.resetsContext(of: sender)
        var info = Frame.Compression(compressedBytes: bytes.count, inflated: nil, contextTakenOver: takesOver)
        if frame.fin {
            compressed = nil
            if let inflater {
                do {
                    info.inflated = try inflater.inflate(bytes + [0x00, 0x00, 0xFF, 0xFF], limit: Self.maximumInflatedSize)
                    hasInflated = true
                    if deflate.resetsContext(of: sender) { try inflater.reset() }
                } catch {
                    violations.append(.init("the compressed message could not be inflated (\(error))"))
                }
            }
        } else {
            compressed = bytes
        }
        frame.compression = info
    }
}
