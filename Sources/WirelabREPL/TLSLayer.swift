import WireProtocol

// The counting (`TLSLayer`) is WireProtocol's, shared with `compare --tls`; here, how records look.

extension WireRenderer {
    /// One record as a network observer sees it: its header, and for the ClientHello the two
    /// things it tells everyone on the path.
    func render(tlsRecord record: TLSRecord, direction: Direction) -> [String] {
        var headline = "\(arrow(direction)) TLS record · \(record.contentType) · \(record.version) · \(TLSRecord.headerLength + record.length) bytes"
        if let name = record.handshakeName {
            headline += " · \(name)"
        } else if record.contentType == .applicationData {
            headline += " · encrypted"
        }
        guard view != .quiet else { return [headline] }
        let pad = "   "
        var lines = [headline]
        if let hello = record.clientHello {
            lines.append(pad + "SNI (server name, in the clear): " + (hello.serverName ?? "none") + style.dim(hello.serverName == nil ? "  ↳ an address, not a name: RFC 6066 sends none" : "  ↳ anyone on the path reads which host you asked for"))
            lines.append(pad + "ALPN (protocols offered, in the clear): " + (hello.alpn.isEmpty ? "none" : hello.alpn.joined(separator: ", ")))
            lines.append(pad + style.dim("  ↳ the rest is random numbers, ciphers and key shares; the path, the headers and any ?token= come later, encrypted"))
        }
        if record.handshakeType == 2 {
            lines.append(pad + style.dim("↳ the last record in the clear: from here on every record says application_data and TLS 1.2 (TLS 1.3 keeps that label for old middleboxes); only lengths and timing show"))
        }
        return lines
    }

    func render(notTLS failure: TLSRecordStream.Failure, direction: Direction) -> [String] {
        guard case .notTLS(let first) = failure else { return [] }
        return [style.yellow("\(arrow(direction)) not a TLS record: ") + HexDump.lines(first).joined(separator: " ") + style.dim(" (the bytes after this are not taken apart)")]
    }
}
