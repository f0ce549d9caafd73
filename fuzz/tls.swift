/// Fuzz target `tls`: `TLSRecordStream` and `ClientHello.parse`, the record view of wss:// and https://.
///
/// Input: bytes 0-1 (the sizes of the pieces the stream arrives in, cycled), then one direction's bytes.
/// Invariants: the same records, or the same failure, whether the stream comes in one piece, in
/// pieces or a byte at a time; whole records never hold more bytes than were fed; a failure names
/// the first bytes of a record header it could not read; `ClientHello.parse` never traps, and on a
/// stream's own bytes as one handshake message it agrees with the record view.
import WireProtocol

private func feed(_ pieces: [ArraySlice<UInt8>]) -> (records: [TLSRecord], failure: TLSRecordStream.Failure?) {
    var stream = TLSRecordStream()
    var records: [TLSRecord] = []
    for piece in pieces {
        let fed = stream.feed(Array(piece))
        records += fed.records
        if let failure = fed.failure { return (records, failure) }
    }
    return (records, nil)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = input(data, size)
    guard bytes.count >= 2 else { return 0 }
    let stream = bytes[2...]

    let whole = feed([stream])
    let split = feed(pieces(stream, sizes: [bytes[0], bytes[1]]))
    let byByte = feed(pieces(stream, sizes: [1]))
    expect(whole.records == split.records && whole.failure == split.failure, "records differ with how the stream was cut")
    expect(whole.records == byByte.records && whole.failure == byByte.failure, "records differ when the stream comes a byte at a time")
    let used = whole.records.reduce(0) { $0 + TLSRecord.headerLength + $1.length }
    expect(used <= stream.count, "\(used) bytes of records from \(stream.count) bytes")
    if case .notTLS(let first)? = whole.failure {
        expect(first.count == TLSRecord.headerLength, "a failure shows \(first.count) bytes")
        expect(Array(stream.dropFirst(used).prefix(first.count)) == first, "the failure's bytes are not where the records stopped")
    }
    for record in whole.records {
        expect(record.length <= TLSRecordStream.maxLength, "a record of \(record.length) bytes")
        if record.clientHello != nil { expect(record.contentType == .handshake, "a ClientHello outside a handshake record") }
    }
    // The stream as one handshake message: parsing never traps, and a hello it reads has names
    // made of the bytes it was given.
    if let hello = ClientHello.parse(Array(stream)) {
        for name in [hello.serverName].compactMap({ $0 }) + hello.alpn {
            expect(name.utf8.count <= stream.count, "a name longer than the input")
        }
    }
    return 0
}
