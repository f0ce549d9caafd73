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
    private var partial: (opcode: Opcode, payload: [UInt8], fragments: Int)?

    public init(sender: Role) {
        self.sender = sender
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
        var violations = frame.violations(sentBy: sender)
        var reassembled: Item?
        switch frame.opcode {
        case .continuation:
            if var message = partial {
                message.payload += frame.payload
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
                if frame.opcode == .text && String(validatingUTF8Bytes: frame.payload) == nil {
                    violations.append(.init("text payload is not valid UTF-8", closeWith: .invalidPayloadData))
                }
            } else {
                partial = (frame.opcode, frame.payload, 1)
            }
        default:
            break  // control frames may sit between fragments
        }
        return [.frame(frame, violations: violations)] + (reassembled.map { [$0] } ?? [])
    }
}
