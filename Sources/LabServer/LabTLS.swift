import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import WireProtocol
import X509

/// The certificate and key the lab's TLS port presents: one generated at start (self-signed, for
/// the loopback names) or a real one read from files (`--cert FILE --key FILE`).
public struct LabTLSIdentity: Sendable {
    /// The leaf first, as the server sends it.
    public let certificateChain: [NIOSSLCertificate]
    public let privateKey: NIOSSLPrivateKey
    /// The leaf certificate in PEM, for `curl --cacert`, Python's `ssl` and the REPL's own client.
    public let certificatePEM: String
    /// SHA-256 of the leaf's DER bytes: what `openssl x509 -fingerprint -sha256` and a browser's
    /// certificate viewer show, so a learner can check that the certificate is the lab's.
    public let fingerprint: [UInt8]
    /// True when the lab made it at start (nobody else trusts it); false when read from files.
    public let generated: Bool
    public let subject: String
    public let notValidBefore: Date
    public let notValidAfter: Date

    /// The names a generated certificate is valid for: every way the REPL and a browser reach the lab.
    public static let loopbackNames = ["localhost", "127.0.0.1", "::1"]

    /// What it is, in one line.
    public var summary: String {
        generated ? "self-signed certificate made at start for \(Self.loopbackNames.joined(separator: ", "))" : "certificate \(subject) from --cert"
    }

    /// `AB:CD:…`, as OpenSSL prints it.
    public var fingerprintText: String {
        fingerprint.map { HexDump.hex($0).uppercased() }.joined(separator: ":")
    }

    /// A self-signed P-256 certificate for `names` (DNS names and IP addresses). The key's 32
    /// bytes and the validity's start are injected so tests can pin them; ECDSA signatures take
    /// fresh randomness, so the certificate's bytes (and fingerprint) still differ per run.
    public static func selfSigned(
        names: [String] = loopbackNames, keyBytes: [UInt8]? = nil, notBefore: Date, validFor: TimeInterval = 30 * 24 * 3600
    ) throws -> LabTLSIdentity {
        let key = try keyBytes.map { try P256.Signing.PrivateKey(rawRepresentation: $0) } ?? P256.Signing.PrivateKey()
        let certificateKey = Certificate.PrivateKey(key)
        let name = try DistinguishedName {
            CommonName("wirelab lab (self-signed)")
            OrganizationName("wirelab")
        }
        let subjectKeyID = SubjectKeyIdentifier(hash: certificateKey.publicKey)
        let alternativeNames = SubjectAlternativeNames(names.map { name -> GeneralName in
            if let address = Self.ipAddressBytes(name) { return .ipAddress(ASN1OctetString(contentBytes: address[...])) }
            return .dnsName(name)
        })
        // The serial number comes from the key, so a pinned key gives a pinned serial.
        let serial = Certificate.SerialNumber(bytes: Array(SHA256.hash(data: key.publicKey.rawRepresentation).prefix(16)).map { $0 & 0x7F })
        let certificate = try Certificate(
            version: .v3,
            serialNumber: serial,
            publicKey: certificateKey.publicKey,
            notValidBefore: notBefore,
            notValidAfter: notBefore.addingTimeInterval(validFor),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                // Its own root, as `openssl req -x509` makes them, so it can be the one trusted anchor.
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
                try ExtendedKeyUsage([.serverAuth])
                subjectKeyID
                AuthorityKeyIdentifier(keyIdentifier: subjectKeyID.keyIdentifier)
                alternativeNames
            },
            issuerPrivateKey: certificateKey
        )
        let pem = try certificate.serializeAsPEM()
        return LabTLSIdentity(
            certificateChain: [try NIOSSLCertificate(bytes: pem.derBytes, format: .der)],
            privateKey: try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem),
            certificatePEM: pem.pemString + "\n",
            fingerprint: Array(SHA256.hash(data: pem.derBytes)),
            generated: true,
            subject: "\(certificate.subject)",
            notValidBefore: certificate.notValidBefore,
            notValidAfter: certificate.notValidAfter
        )
    }

    public struct LoadFailed: Error, CustomStringConvertible {
        public let description: String
    }

    /// A certificate chain (PEM, leaf first) and its private key (PEM) from files.
    public static func load(certificateFile: String, keyFile: String) throws -> LabTLSIdentity {
        for (what, path) in [("certificate", certificateFile), ("private key", keyFile)] where !FileManager.default.fileExists(atPath: path) {
            throw LoadFailed(description: "no \(what) file at \(path)")
        }
        let chain: [NIOSSLCertificate]
        let pemText: String
        do {
            pemText = try String(contentsOfFile: certificateFile, encoding: .utf8)
            chain = try NIOSSLCertificate.fromPEMBytes(Array(pemText.utf8))
        } catch {
            throw LoadFailed(description: "cannot read a PEM certificate from \(certificateFile): \(error)")
        }
        guard let leaf = chain.first else { throw LoadFailed(description: "\(certificateFile) holds no certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw LoadFailed(description: "cannot read a PEM private key from \(keyFile): \(error)")
        }
        let der = try leaf.toDERBytes()
        let parsed = try? Certificate(derEncoded: der)
        return LabTLSIdentity(
            certificateChain: chain, privateKey: key, certificatePEM: pemText, fingerprint: Array(SHA256.hash(data: der)), generated: false,
            subject: parsed.map { "\($0.subject)" } ?? "?",
            notValidBefore: parsed?.notValidBefore ?? .distantPast, notValidAfter: parsed?.notValidAfter ?? .distantFuture
        )
    }

    /// The server side of TLS: this identity, and ALPN answering `http/1.1` (the only protocol
    /// the lab speaks; a WebSocket upgrade is an HTTP/1.1 request).
    func makeServerContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: certificateChain.map { .certificate($0) }, privateKey: .privateKey(privateKey)
        )
        configuration.applicationProtocols = ["http/1.1"]
        return try NIOSSLContext(configuration: configuration)
    }

    /// The 4 or 16 bytes of an IPv4 or IPv6 address written as text, or nil for a host name.
    static func ipAddressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

/// How the lab listens with TLS, next to its plain port.
public struct LabTLSConfiguration: Sendable {
    /// Where the certificate comes from.
    public enum Source: Sendable {
        /// Made at start for ``LabTLSIdentity/loopbackNames``. `keyBytes` (32) pins the key;
        /// `notBefore` the start of its validity (nil: an hour ago, by the real clock, which is the
        /// one TLS clients check against).
        case generated(keyBytes: [UInt8]? = nil, notBefore: Date? = nil)
        /// PEM files: the chain (leaf first) and its private key.
        case files(certificate: String, key: String)
        case identity(LabTLSIdentity)
    }

    /// 0 asks the system for a free port.
    public var port: Int
    public var source: Source

    public init(port: Int, source: Source = .generated()) {
        self.port = port
        self.source = source
    }

    func makeIdentity() throws -> LabTLSIdentity {
        switch source {
        case .generated(let keyBytes, let notBefore):
            try LabTLSIdentity.selfSigned(keyBytes: keyBytes, notBefore: notBefore ?? Date().addingTimeInterval(-3600))
        case .files(let certificate, let key):
            try LabTLSIdentity.load(certificateFile: certificate, keyFile: key)
        case .identity(let identity):
            identity
        }
    }
}
