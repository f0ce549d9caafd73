/// A rule of RFC 6455 that a frame or message breaks, and the close code a strict peer answers with.
public struct ProtocolViolation: Sendable, Equatable, CustomStringConvertible {
    public var closeCode: CloseCode
    public var description: String

    public init(_ description: String, closeWith closeCode: CloseCode = .protocolError) {
        self.description = description
        self.closeCode = closeCode
    }
}

/// Which side of the connection sent a frame: clients must mask, servers must not (RFC 6455 §5.1).
public enum Role: Sendable, Equatable {
    case client
    case server
}

extension Frame {
    /// The rules a single frame can break on its own. Message-level rules (fragment order,
    /// UTF-8 split across fragments) are checked by ``FrameStream``.
    public func violations(sentBy sender: Role, extensionsNegotiated: Bool = false) -> [ProtocolViolation] {
        var found: [ProtocolViolation] = []
        if (rsv1 || rsv2 || rsv3) && !extensionsNegotiated {
            found.append(.init("RSV bits set but no extension was negotiated"))
        }
        if opcode.isReserved {
            found.append(.init("opcode \(opcode.hex) is reserved"))
        }
        if opcode.isControl {
            if payloadLength > 125 { found.append(.init("control frame payload is \(payloadLength) bytes; the limit is 125")) }
            if !fin { found.append(.init("control frames must not be fragmented (FIN=0)")) }
        }
        if lengthForm != LengthForm.minimal(for: payloadLength) {
            found.append(.init("length \(payloadLength) written in the \(lengthForm.name) form; the shortest form is required"))
        }
        switch sender {
        case .client where !isMasked: found.append(.init("client frames must be masked"))
        case .server where isMasked: found.append(.init("server frames must not be masked"))
        default: break
        }
        if opcode == .close {
            let body = payload
            if body.count == 1 {
                found.append(.init("a close payload of one byte cannot hold a status code"))
            } else if let close = closeBody {
                if !close.code.mayAppearOnWire {
                    found.append(.init("close code \(close.code.code) may not be sent"))
                }
                if String(validatingUTF8Bytes: close.reason) == nil {
                    found.append(.init("close reason is not valid UTF-8", closeWith: .invalidPayloadData))
                }
            }
        }
        return found
    }
}

extension String {
    /// Strict UTF-8 decoding: nil instead of replacement characters.
    public init?(validatingUTF8Bytes bytes: some Collection<UInt8>) {
        // The standard library's check (as strict: no overlongs, surrogates or values past
        // U+10FFFF), optimised even in a debug build, where a decode loop here crawls over MiBs.
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        self = text
    }
}
