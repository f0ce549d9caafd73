/// TLS as a network observer sees it (RFC 8446 §5.1): a stream of records, each a 5-byte header
/// in the clear (content type, legacy version, length) and a body. Only the first flight of the
/// handshake is readable; the ClientHello names the server (SNI) and the protocols offered
/// (ALPN). Everything after the ServerHello is encrypted and, in TLS 1.3, even disguised: every
/// record says "application data, TLS 1.2". This is dissection, not TLS: nothing is decrypted.

/// A record's content type: an open set on the wire, so unknown values keep their number.
public struct TLSContentType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// 20: a leftover of TLS 1.2 that TLS 1.3 still sends once, for middleboxes.
    public static let changeCipherSpec = TLSContentType(rawValue: 20)
    /// 21
    public static let alert = TLSContentType(rawValue: 21)
    /// 22: readable only before the keys are agreed (ClientHello, ServerHello).
    public static let handshake = TLSContentType(rawValue: 22)
    /// 23: encrypted; in TLS 1.3 everything after the ServerHello, handshake included, looks like this.
    public static let applicationData = TLSContentType(rawValue: 23)

    public var name: String {
        switch self {
        case .changeCipherSpec: "change_cipher_spec"
        case .alert: "alert"
        case .handshake: "handshake"
        case .applicationData: "application_data"
        default: "unknown"
        }
    }

    public var description: String { "\(name) (\(rawValue))" }
}

/// A record's version field (RFC 8446 §5.1: `legacy_record_version`, frozen at 1.2 or 1.0).
public struct TLSVersion: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public var description: String {
        switch rawValue {
        case 0x0300: "SSL 3.0"
        case 0x0301: "TLS 1.0"
        case 0x0302: "TLS 1.1"
        case 0x0303: "TLS 1.2"
        case 0x0304: "TLS 1.3"
        default: "0x" + HexDump.hex(UInt8(rawValue >> 8)) + HexDump.hex(UInt8(rawValue & 0xFF))
        }
    }
}

/// What the first readable handshake message of the client tells everyone on the path.
public struct ClientHello: Sendable, Equatable {
    /// The server_name extension (RFC 6066): the host name, in the clear. Nil when none was sent
    /// (a client connecting to an IP address sends none).
    public var serverName: String?
    /// The application_layer_protocol_negotiation extension (RFC 7301): the protocols offered.
    public var alpn: [String]

    public init(serverName: String?, alpn: [String]) {
        self.serverName = serverName
        self.alpn = alpn
    }

    /// Reads a ClientHello message (handshake type 1, header included). Nil when `message` is
    /// not one or is cut short.
    public static func parse(_ message: [UInt8]) -> ClientHello? {
        var reader = ByteReader(message[...])
        guard reader.u8() == 1, let length = reader.u24(), var body = reader.bytes(length).map(ByteReader.init) else { return nil }
        // legacy_version, random, legacy_session_id, cipher_suites, legacy_compression_methods
        guard body.skip(2 + 32), body.skipVector(lengthBytes: 1), body.skipVector(lengthBytes: 2), body.skipVector(lengthBytes: 1) else {
            return nil
        }
        var hello = ClientHello(serverName: nil, alpn: [])
        guard let extensionsLength = body.u16(), var extensions = body.bytes(extensionsLength).map(ByteReader.init) else { return hello }
        while !extensions.isAtEnd {
            guard let type = extensions.u16(), let length = extensions.u16(), let data = extensions.bytes(length) else { return nil }
            var field = ByteReader(data)
            switch type {
            case 0x0000:  // server_name: a list of (name_type, name); type 0 is a host name
                guard let listLength = field.u16(), var list = field.bytes(listLength).map(ByteReader.init) else { return nil }
                while !list.isAtEnd {
                    guard let nameType = list.u8(), let nameLength = list.u16(), let name = list.bytes(nameLength) else { return nil }
                    if nameType == 0 { hello.serverName = String(decoding: name, as: UTF8.self) }
                }
            case 0x0010:  // ALPN: a list of length-prefixed protocol names
                guard let listLength = field.u16(), var list = field.bytes(listLength).map(ByteReader.init) else { return nil }
                while !list.isAtEnd {
                    guard let nameLength = list.u8(), let name = list.bytes(Int(nameLength)) else { return nil }
                    hello.alpn.append(String(decoding: name, as: UTF8.self))
                }
            default:
                break
            }
        }
        return hello
    }
}

/// One TLS record as seen on the wire.
public struct TLSRecord: Sendable, Equatable {
    public let contentType: TLSContentType
    public let version: TLSVersion
    /// The body's length, as the header gives it (the record is 5 bytes more).
    public let length: Int
    /// For a handshake record still in the clear: the handshake message type of its first
    /// message (1 ClientHello, 2 ServerHello); nil otherwise.
    public let handshakeType: UInt8?
    /// Set on the record that completes the client's ClientHello.
    public let clientHello: ClientHello?

    public static let headerLength = 5

    public var handshakeName: String? {
        handshakeType.map { type in
            switch type {
            case 1: "ClientHello"
            case 2: "ServerHello"
            default: "handshake message \(type)"
            }
        }
    }
}

/// Takes one direction of a TLS connection apart into records, whatever pieces the bytes come
/// in. Handshake records are read as such only while they can be in the clear: until this side's
/// change_cipher_spec or first application_data record (after a change_cipher_spec, TLS 1.2's
/// Finished message is encrypted inside a handshake record).
public struct TLSRecordStream: Sendable {
    public enum Failure: Error, Equatable, Sendable {
        /// The bytes do not start with a record header: not TLS (plain HTTP to a TLS port, say).
        /// `firstBytes` are the five that were read as one.
        case notTLS(firstBytes: [UInt8])
    }

    /// What one ``feed(_:)`` gave: the records it completed and, if the bytes then stopped
    /// being TLS, why (reported once; what follows is not taken apart).
    public struct Fed: Sendable, Equatable {
        public var records: [TLSRecord] = []
        public var failure: Failure?

        public init(records: [TLSRecord] = [], failure: Failure? = nil) {
            self.records = records
            self.failure = failure
        }
    }

    private var pending: [UInt8] = []
    /// Handshake bytes in the clear, gathered across records until a ClientHello is whole.
    private var handshake: [UInt8] = []
    private var clearHandshake = true
    private var failed = false

    /// The largest body TLS allows: 2^14 plus the expansion of encryption (RFC 8446 §5.2).
    public static let maxLength = (1 << 14) + 256

    public init() {}

    public mutating func feed(_ bytes: [UInt8]) -> Fed {
        guard !failed else { return Fed() }
        pending += bytes
        var records: [TLSRecord] = []
        var offset = 0
        while pending.count - offset >= TLSRecord.headerLength {
            let type = TLSContentType(rawValue: pending[offset])
            let version = TLSVersion(rawValue: UInt16(pending[offset + 1]) << 8 | UInt16(pending[offset + 2]))
            let length = Int(pending[offset + 3]) << 8 | Int(pending[offset + 4])
            guard (20...24).contains(type.rawValue), pending[offset + 1] == 3, length <= Self.maxLength else {
                failed = true
                // The five bytes that were read as a header: as many whatever pieces they came in.
                // The records before it were whole: they come out too, whatever the pieces.
                return Fed(records: records, failure: .notTLS(firstBytes: Array(pending[offset..<(offset + TLSRecord.headerLength)])))
            }
            guard pending.count - offset >= TLSRecord.headerLength + length else { break }
            let body = Array(pending[(offset + TLSRecord.headerLength)..<(offset + TLSRecord.headerLength + length)])
            offset += TLSRecord.headerLength + length
            var handshakeType: UInt8?
            var hello: ClientHello?
            if type == .handshake && clearHandshake {
                handshakeType = body.first
                handshake += body
                if handshake.first == 1, let whole = Self.wholeMessage(handshake) {
                    hello = ClientHello.parse(whole)
                    handshake = []
                } else if handshake.first != 1 {
                    handshake = []
                }
            } else if type == .changeCipherSpec || type == .applicationData {
                clearHandshake = false
            }
            records.append(TLSRecord(contentType: type, version: version, length: length, handshakeType: handshakeType, clientHello: hello))
        }
        pending.removeFirst(offset)
        return Fed(records: records)
    }

    private static func wholeMessage(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= 4 else { return nil }
        let length = Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        return bytes.count >= 4 + length ? Array(bytes.prefix(4 + length)) : nil
    }
}

/// Big-endian reads that fail (nil, or false) instead of trapping on short input.
struct ByteReader {
    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    var isAtEnd: Bool { bytes.isEmpty }

    mutating func u8() -> UInt8? { bytes.popFirst() }

    mutating func u16() -> Int? {
        guard let data = self.bytes(2) else { return nil }
        return Int(data[data.startIndex]) << 8 | Int(data[data.startIndex + 1])
    }

    mutating func u24() -> Int? {
        guard let data = self.bytes(3) else { return nil }
        return Int(data[data.startIndex]) << 16 | Int(data[data.startIndex + 1]) << 8 | Int(data[data.startIndex + 2])
    }

    mutating func bytes(_ count: Int) -> ArraySlice<UInt8>? {
        guard bytes.count >= count else { return nil }
        defer { bytes = bytes.dropFirst(count) }
        return bytes.prefix(count)
    }

    mutating func skip(_ count: Int) -> Bool { bytes(count) != nil }

    /// Skips a vector with a length prefix of `lengthBytes` bytes.
    mutating func skipVector(lengthBytes: Int) -> Bool {
        let length = lengthBytes == 1 ? u8().map(Int.init) : u16()
        guard let length else { return false }
        return skip(length)
    }
}
