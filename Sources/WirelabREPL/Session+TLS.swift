import Foundation
import LabServer
import WireClient
import WireProtocol

/// wss:// and https:// in the REPL: targets on the lab's TLS port, the client side of TLS, and
/// the `tls` command.
extension Session {
    /// The host name `--tls` paths use: a name (unlike 127.0.0.1) travels in the ClientHello's
    /// SNI, so the record view shows what an observer learns; the lab's certificate lists it.
    static let tlsHostName = "localhost"

    /// Parses where a client goes: with `tls`, a path is on the lab's TLS port.
    func target(_ text: String, tls: Bool, usage: String) throws -> WebSocketTarget {
        guard tls else {
            do {
                return try WebSocketTarget(parsing: text, lab: labAddress)
            } catch let error as WebSocketTarget.BadURL {
                throw UsageError(error.description, usage: usage)
            }
        }
        guard text.hasPrefix("/") else {
            throw UsageError("--tls goes with a path on the lab (e.g. /ws/echo); for a URL, write wss:// or https:// instead", usage: usage)
        }
        guard let port = lab?.tlsPort else { throw UsageError("this lab has no TLS port (it was started with --no-tls)", usage: usage) }
        var target = try WebSocketTarget(parsing: text, lab: (Self.tlsHostName, port))
        target.secure = true
        return target
    }

    /// Whether `target` is this REPL's lab, on its plain or its TLS port.
    func isOnLab(_ target: WebSocketTarget) -> Bool {
        guard let labAddress else { return false }
        let hosts = [labAddress.host, Self.tlsHostName]
        return hosts.contains(target.host) && (target.port == labAddress.port || (target.port == lab?.tlsPort && target.secure))
    }

    /// The TLS settings for a client of `target` (nil for plain ws:// and http://): trusting the
    /// lab's generated certificate besides the system's, or nothing with `insecure`. The raw tap
    /// feeds `connection`'s record view.
    func clientTLS(for target: WebSocketTarget, insecure: Bool, connection: ClientConnection) -> ClientTLS? {
        guard target.secure else { return nil }
        let labCertificates = lab?.tlsIdentity.map(\.certificateChain) ?? []
        let settings = ClientTLS(trust: insecure ? .insecure : .verify(alsoTrusting: labCertificates), recordTap: connection.observeRecords)
        connection.useTLS(settings)
        if insecure { console.line(style.yellow("note: ") + "--insecure: the certificate is not checked, so anyone on the path could pose as the server") }
        return settings
    }

    /// `tls [--save FILE]`: the lab's TLS listener and its certificate.
    func showTLS(_ words: [String]) throws {
        let usage = CommandHelp.named("tls")!.usage
        guard let lab, let identity = lab.tlsIdentity, let port = lab.tlsPort, let labAddress else {
            throw UsageError("this lab has no TLS port (started with --no-tls, or no lab)", usage: usage)
        }
        if let flag = words.first {
            guard flag == "--save", words.count == 2 else { throw UsageError("unexpected '\(flag)'", usage: usage) }
            do {
                try identity.certificatePEM.write(toFile: words[1], atomically: true, encoding: .utf8)
            } catch {
                throw UsageError("cannot write \(words[1]): \(error.localizedDescription)")
            }
            console.line("saved the certificate (PEM) to \(words[1]) · e.g. curl --cacert \(words[1]) https://\(Self.tlsHostName):\(port)/events")
            return
        }
        console.lines([
            "TLS on \(labAddress.host):\(port): wss:// and https:// to the same endpoints, switches and taps as \(labAddress.host):\(labAddress.port)",
            "   \(identity.summary)",
            "   subject: \(identity.subject)",
            "   valid \(Self.isoDate(identity.notValidBefore)) to \(Self.isoDate(identity.notValidAfter))",
            "   SHA-256 fingerprint: \(identity.fingerprintText)",
            style.dim("   check it from outside: openssl s_client -connect \(labAddress.host):\(port) </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"),
            style.dim("   try: open --tls /ws/echo · http --tls GET /http/chat · tls --save lab.pem (for curl --cacert, Python's ssl)"),
        ])
    }

    /// `clients`' line for a TLS client: what the socket carried, beside the decrypted layer.
    func tlsLedgerLines(_ layer: TLSLayer, decrypted: ByteLedger) -> [String] {
        let added = layer.added(to: decrypted)
        return [
            "    wire \(String(layer.total).leftPadded(7)) B in TLS records: up \(layer.up.bytes) B in \(layer.up.records), down \(layer.down.bytes) B in \(layer.down.records)"
                + " · TLS added \(added) B (the key exchange, certificate, 5-byte record headers, 16-byte tags)",
        ]
    }

    /// `send --compare`'s line for a TLS client: the same exchange, as the wire carried it.
    func tlsCompareLine(before: TLSLayer, after: TLSLayer, decrypted: Int) -> String {
        let wire = after.total - before.total
        let records = after.up.records + after.down.records - before.up.records - before.down.records
        return "   over TLS the WebSocket's \(decrypted) B took \(wire) B on the wire in \(records) record\(records == 1 ? "" : "s"): +\(wire - decrypted) B of record headers and authentication tags (the HTTP side here is plain)"
    }

    private static func isoDate(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: date)
    }
}
