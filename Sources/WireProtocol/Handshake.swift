import Crypto
import Foundation

/// The opening handshake's one computation (RFC 6455 §4.2.2): the server proves it read the
/// client's key by answering `base64(SHA-1(key + GUID))` in `Sec-WebSocket-Accept`.
public enum Handshake {
    /// The fixed GUID of RFC 6455 §1.3, appended to every key.
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// The RFC's own sample key and the accept value it must produce.
    public static let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="
    public static let sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    public static func digest(forKey key: String) -> [UInt8] {
        Array(Insecure.SHA1.hash(data: Array((key + guid).utf8)))
    }

    public static func acceptValue(forKey key: String) -> String {
        Data(digest(forKey: key)).base64EncodedString()
    }

    /// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64 (24 characters).
    public static func makeKey(using generator: inout some RandomNumberGenerator) -> String {
        Data((0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64EncodedString()
    }

    /// A valid key decodes from base64 to exactly 16 bytes (RFC 6455 §4.1, item 7).
    public static func isValidKey(_ key: String) -> Bool {
        Data(base64Encoded: key)?.count == 16
    }
}

/// Every step of the accept check, kept so the REPL can show it.
public struct AcceptCheck: Sendable, Equatable {
    public let key: String
    public let digest: [UInt8]
    public let expected: String
    /// What the server sent, or nil when the response had no `Sec-WebSocket-Accept`.
    public let received: String?

    public init(key: String, received: String?) {
        self.key = key
        self.digest = Handshake.digest(forKey: key)
        self.expected = Data(digest).base64EncodedString()
        self.received = received
    }

    public var matches: Bool { received == expected }
}
