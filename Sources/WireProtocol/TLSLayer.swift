/// What a TLS connection's raw tap (before decryption) saw: its records taken apart and counted.
/// A ``ByteLedger`` counts the decrypted layer (HTTP and frames); this counts the wire. The REPL's
/// clients and `compare --tls` both count with it.
public struct TLSLayer: Sendable {
    /// One direction's bytes on the wire, and the records they made.
    public struct Tally: Sendable, Equatable {
        public var bytes = 0
        public var records = 0
        /// Bytes of the records' 5-byte headers.
        public var headers: Int { records * TLSRecord.headerLength }

        public init(bytes: Int = 0, records: Int = 0) {
            self.bytes = bytes
            self.records = records
        }

        public static func + (lhs: Tally, rhs: Tally) -> Tally {
            Tally(bytes: lhs.bytes + rhs.bytes, records: lhs.records + rhs.records)
        }
    }

    private var upStream = TLSRecordStream()
    private var downStream = TLSRecordStream()
    public private(set) var up = Tally()
    public private(set) var down = Tally()
    /// The ClientHello, once seen.
    public private(set) var clientHello: ClientHello?

    public init() {}

    public var total: Int { up.bytes + down.bytes }

    public subscript(direction: Direction) -> Tally { direction == .up ? up : down }

    /// What TLS added to `decrypted`, the same connection's bytes as the plain tap counted them:
    /// the key exchange and certificate, record headers, authentication tags. Measured, both sides.
    public func added(to decrypted: ByteLedger) -> Int {
        total - decrypted.up.total - decrypted.down.total
    }

    /// - Returns: the whole records these bytes completed, or why they are not TLS.
    public mutating func feed(_ direction: Direction, _ bytes: [UInt8]) -> TLSRecordStream.Fed {
        if direction == .up { up.bytes += bytes.count } else { down.bytes += bytes.count }
        let fed = direction == .up ? upStream.feed(bytes) : downStream.feed(bytes)
        if direction == .up { up.records += fed.records.count } else { down.records += fed.records.count }
        if let hello = fed.records.lazy.compactMap(\.clientHello).first { clientHello = hello }
        return fed
    }
}
