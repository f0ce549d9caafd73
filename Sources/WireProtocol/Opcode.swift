/// A WebSocket frame opcode: the low four bits of a frame's first byte (RFC 6455 §5.2).
///
/// An open set, like NIO's `WebSocketOpcode`: reserved values still round-trip so that the
/// dissector can show what actually arrived and flag it.
public struct Opcode: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue & 0x0F
    }

    /// Corresponds to opcode 0x0: a later fragment of a fragmented message.
    public static let continuation = Opcode(rawValue: 0x0)
    /// Corresponds to opcode 0x1: UTF-8 text.
    public static let text = Opcode(rawValue: 0x1)
    /// Corresponds to opcode 0x2: arbitrary bytes.
    public static let binary = Opcode(rawValue: 0x2)
    /// Corresponds to opcode 0x8: start or answer the closing handshake.
    public static let close = Opcode(rawValue: 0x8)
    /// Corresponds to opcode 0x9: a heartbeat that must be answered with a pong.
    public static let ping = Opcode(rawValue: 0x9)
    /// Corresponds to opcode 0xA: the answer to a ping (or an unsolicited heartbeat).
    public static let pong = Opcode(rawValue: 0xA)

    /// Control frames (close, ping, pong and the reserved 0xB-0xF) have the high bit set.
    public var isControl: Bool { rawValue & 0x8 != 0 }

    /// 0x3-0x7 and 0xB-0xF are reserved for future use; a frame carrying one is a protocol error.
    public var isReserved: Bool {
        switch rawValue {
        case 0x0, 0x1, 0x2, 0x8, 0x9, 0xA: false
        default: true
        }
    }

    public var name: String {
        switch self {
        case .continuation: "continuation"
        case .text: "text"
        case .binary: "binary"
        case .close: "close"
        case .ping: "ping"
        case .pong: "pong"
        default: isControl ? "reserved control" : "reserved data"
        }
    }

    /// `0x1` style.
    public var hex: String { "0x" + String(rawValue, radix: 16, uppercase: true) }
}

extension Opcode: CustomStringConvertible {
    public var description: String { "\(name) (\(hex))" }
}
