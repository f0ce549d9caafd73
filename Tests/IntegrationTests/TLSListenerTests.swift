import Foundation
import LabServer
import NIOConcurrencyHelpers
import Testing
import WireClient
import WireProtocol

/// The lab's TLS listener: the same endpoints as the plain port, behind TLS, seen by our tapped
/// clients (both layers), by the lab's own tap (decrypted) and by independent clients (Python
/// `websockets` with an SSL context, curl --cacert).
@Suite struct TLSListenerTests {
    /// A lab with its TLS port, and both ports.
    static func startTLSLab(only: [String]? = nil) async throws -> (lab: Lab, plain: Int, tls: Int) {
        let (lab, plain) = try await startLab(only: only) { $0.tls = LabTLSConfiguration(port: 0) }
        let tls = try #require(lab.tlsPort)
        return (lab, plain, tls)
    }

    /// What one client's two taps saw.
    final class Taps: Sendable {
        let records = NIOLockedValueBox<[TapEvent]>([])
        let decrypted = NIOLockedValueBox<[TapEvent]>([])

        func tls(_ lab: Lab, insecure: Bool = false) -> ClientTLS {
            ClientTLS(trust: insecure ? .insecure : .verify(alsoTrusting: lab.tlsIdentity?.certificateChain ?? [])) { [records] event in
                records.withLockedValue { $0.append(event) }
            }
        }

        var decryptedSink: TapSink { { [decrypted] event in decrypted.withLockedValue { $0.append(event) } } }

        /// The records a network observer saw, each way.
        func tlsRecords() throws -> [(Direction, TLSRecord)] {
            var up = TLSRecordStream(), down = TLSRecordStream()
            var out: [(Direction, TLSRecord)] = []
            for case .bytes(let direction, let bytes) in records.withLockedValue({ $0 }) {
                let fed = direction == .up ? up.feed(bytes) : down.feed(bytes)
                try #require(fed.failure == nil, "not TLS: \(String(describing: fed.failure))")
                out += fed.records.map { (direction, $0) }
            }
            return out
        }

        func decryptedEvents() -> [WireEvent] {
            var dissector = WireDissector()
            var events: [WireEvent] = []
            for case .bytes(let direction, let bytes) in decrypted.withLockedValue({ $0 }) { events += dissector.feed(direction, bytes) }
            return events
        }

        var rawBytes: [UInt8] {
            records.withLockedValue { $0 }.flatMap { event -> [UInt8] in if case .bytes(_, let bytes) = event { bytes } else { [] } }
        }
    }

    @Test func wssEchoesAsWsDoesAndTheWireHoldsOnlyRecords() async throws {
        let (lab, _, tlsPort) = try await Self.startTLSLab(only: ["echo"])
        defer { Task { await lab.stop() } }
        let taps = Taps()
        let target = try WebSocketTarget(parsing: "wss://localhost:\(tlsPort)/ws/echo?token=never-on-the-wire", lab: nil)
        #expect(target.secure)
        let outcome = try await WebSocketClient.connect(
            to: target, requestKey: Handshake.sampleKey, randomness: Randomness(.seeded(5)), tls: taps.tls(lab), tap: taps.decryptedSink
        )
        guard case .open(let client) = outcome else {
            Issue.record("the TLS port refused the upgrade")
            return
        }
        var frames = client.frames.makeAsyncIterator()
        try await client.send(.text, payload: Array("over TLS".utf8))
        #expect(await frames.next().map { String(buffer: $0.unmaskedData) } == "Echo: over TLS")
        try await client.close(code: 1000)
        await client.waitUntilClosed()

        // Decrypted: the same handshake and frames as over ws://.
        let events = taps.decryptedEvents()
        let heads = events.compactMap { if case .httpHead(_, let head) = $0 { head } else { nil } }
        #expect(heads.first?.startLine == .request(method: "GET", target: "/ws/echo?token=never-on-the-wire", version: "HTTP/1.1"))
        #expect(heads.last?.status == 101)
        #expect(heads.last?.field("Sec-WebSocket-Accept") == Handshake.sampleAccept)
        let frameTexts = events.compactMap { if case .frame(.down, let frame, _) = $0, frame.opcode == .text { String(decoding: frame.payload, as: UTF8.self) } else { nil } }
        #expect(frameTexts == ["Echo: over TLS"])

        // On the wire: records only; the ClientHello names the host and offers http/1.1; the
        // path and the token are nowhere in the bytes.
        let records = try taps.tlsRecords()
        #expect(records.first?.0 == .up)
        #expect(records.first?.1.clientHello == ClientHello(serverName: "localhost", alpn: ["http/1.1"]))
        #expect(records.contains { $0.0 == .down && $0.1.handshakeName == "ServerHello" })
        #expect(records.filter { $0.1.contentType == .applicationData }.count >= 4)
        let raw = taps.rawBytes
        let recordBytes = records.reduce(0) { $0 + TLSRecord.headerLength + $1.1.length }
        #expect(recordBytes == raw.count, "every byte on the wire belongs to a record")
        for secret in ["never-on-the-wire", "/ws/echo", "Echo: over TLS", "Upgrade"] {
            #expect(!String(decoding: raw, as: UTF8.self).contains(secret), "\(secret) is on the wire in the clear")
        }
    }

    @Test func httpsAnswersAsThePlainPortDoes() async throws {
        let (lab, plainPort, tlsPort) = try await Self.startTLSLab()
        defer { Task { await lab.stop() } }
        // Polling: post on the plain port, read back over TLS — one lab, one log.
        let posted = try await httpRequest("POST", "/http/chat/ann", port: plainPort, body: #"{"text":"hello"}"#)
        #expect(posted.head.status == 200)
        let plain = try await httpRequest("GET", "/http/chat?since=0", port: plainPort)

        let taps = Taps()
        let connection = try await HTTPConnection.connect(host: "127.0.0.1", port: tlsPort, tls: taps.tls(lab), tap: taps.decryptedSink)
        let overTLS = try await connection.request(method: "GET", path: "/http/chat?since=0")
        #expect(overTLS.status == 200)
        #expect(String(decoding: overTLS.body, as: UTF8.self) == plain.body)

        // An event stream over TLS: the same retry line and events.
        let token = try await JSONLogin.token(port: plainPort, user: "alice")
        let streamed = NIOLockedValueBox<[UInt8]>([])
        let stream = try await HTTPConnection.connect(host: "127.0.0.1", port: tlsPort, tls: taps.tls(lab), tap: { _ in })
        let streaming = Task {
            try await stream.request(method: "GET", path: "/events", headers: [("Authorization", "Bearer \(token)")]) { piece in
                streamed.withLockedValue { $0 += piece }
            }
        }
        #expect(await eventually { streamed.withLockedValue { String(decoding: $0, as: UTF8.self) }.contains("retry:") })
        await stream.close()
        _ = await streaming.result
        await connection.close()

        // To an address, a client sends no SNI, and the certificate is checked against the address.
        let records = try taps.tlsRecords()
        #expect(records.first?.1.clientHello == ClientHello(serverName: nil, alpn: ["http/1.1"]))
    }

    @Test func theLabsTapShowsTheDecryptedRequest() async throws {
        let (lab, _, tlsPort) = try await Self.startTLSLab(only: ["echo"])
        defer { Task { await lab.stop() } }
        let taps = Taps()
        let connection = try await HTTPConnection.connect(host: "localhost", port: tlsPort, tls: taps.tls(lab), tap: taps.decryptedSink)
        _ = try await connection.request(method: "POST", path: "/http/echo", body: Array("tapped".utf8))
        let summary = try #require(lab.context.taps.live.last)
        #expect(summary.request == "POST /http/echo")
        #expect(summary.endpoint == "echo")
        await connection.close()
    }

    @Test func anUntrustedCertificateIsRefusedWithAReasonAndInsecureSkipsTheCheck() async throws {
        let (lab, _, tlsPort) = try await Self.startTLSLab(only: ["echo"])
        defer { Task { await lab.stop() } }
        let untrusting = ClientTLS(trust: .verify(alsoTrusting: [])) { _ in }
        await #expect {
            _ = try await HTTPConnection.connect(host: "localhost", port: tlsPort, tls: untrusting, tap: { _ in })
        } throws: { error in
            "\(error)".contains("not one this client trusts") && "\(error)".contains("--insecure")
        }
        let target = try WebSocketTarget(parsing: "wss://localhost:\(tlsPort)/ws/echo", lab: nil)
        await #expect {
            _ = try await WebSocketClient.connect(to: target, requestKey: Handshake.sampleKey, randomness: Randomness(.seeded(1)), tls: untrusting, tap: { _ in })
        } throws: { error in
            "\(error)".contains("not one this client trusts")
        }
        let taps = Taps()
        let insecure = try await HTTPConnection.connect(host: "localhost", port: tlsPort, tls: taps.tls(lab, insecure: true), tap: taps.decryptedSink)
        #expect(try await insecure.request(method: "POST", path: "/http/echo", body: Array("x".utf8)).status == 200)
        await insecure.close()
    }

    @Test func switchesAndCORSAreTheLabsOnBothPorts() async throws {
        let (lab, _, tlsPort) = try await Self.startTLSLab()
        defer { Task { await lab.stop() } }
        let connection = try await HTTPConnection.connect(host: "localhost", port: tlsPort, tls: Taps().tls(lab), tap: { _ in })
        let page = "https://localhost:4200"
        let allowed = try await connection.request(method: "GET", path: "/http/dashboard", headers: [("Origin", page)])
        #expect(allowed.status == 200)
        #expect(allowed.header("Access-Control-Allow-Origin") == page)
        let foreign = try await connection.request(method: "GET", path: "/http/dashboard", headers: [("Origin", "https://evil.example")])
        #expect(foreign.header("Access-Control-Allow-Origin") == nil)
        _ = try await lab.registry.disable("dashboard")
        #expect(try await connection.request(method: "GET", path: "/http/dashboard").status == 503)
        await connection.close()
        let target = try WebSocketTarget(parsing: "wss://localhost:\(tlsPort)/ws/echo", lab: nil)
        _ = try await lab.registry.disable("echo")
        let refused = try await WebSocketClient.connect(
            to: target, requestKey: Handshake.sampleKey, randomness: Randomness(.seeded(2)), tls: Taps().tls(lab), tap: { _ in }
        )
        guard case .refused(let status, _) = refused else {
            Issue.record("a switched-off endpoint upgraded over TLS")
            return
        }
        #expect(status == 503)
    }

    @Test func tlsToThePlainPortSaysItIsNotTLS() async throws {
        let (lab, plainPort, _) = try await Self.startTLSLab(only: ["echo"])
        defer { Task { await lab.stop() } }
        let taps = Taps()
        await #expect {
            _ = try await HTTPConnection.connect(host: "127.0.0.1", port: plainPort, tls: taps.tls(lab), tap: taps.decryptedSink)
        } throws: { error in
            "\(error)".contains("did not answer in TLS")
        }
        // The record view stops at the server's plain HTTP answer.
        var down = TLSRecordStream()
        let answer = taps.records.withLockedValue { $0 }.flatMap { event -> [UInt8] in if case .bytes(.down, let bytes) = event { bytes } else { [] } }
        #expect(down.feed(answer) == TLSRecordStream.Fed(failure: .notTLS(firstBytes: Array("HTTP/".utf8))))
    }

    @Test func aGeneratedCertificateIsPinnedByItsInjectedKeyAndDates() throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let key = [UInt8](repeating: 7, count: 32)
        let first = try LabTLSIdentity.selfSigned(keyBytes: key, notBefore: start, validFor: 3600)
        let second = try LabTLSIdentity.selfSigned(keyBytes: key, notBefore: start, validFor: 3600)
        #expect(first.notValidBefore == start)
        #expect(first.notValidAfter == start.addingTimeInterval(3600))
        #expect(first.subject.contains("wirelab"))
        #expect(first.fingerprint.count == 32)
        #expect(first.fingerprintText.split(separator: ":").count == 32)
        #expect(first.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----"))
        // Same key, same public half: the certificates differ only in their ECDSA signatures.
        #expect(try first.privateKey.derBytes == second.privateKey.derBytes)
    }

    @Test func aCertificateAndKeyFromFilesAreServed() async throws {
        let made = try LabTLSIdentity.selfSigned(notBefore: Date().addingTimeInterval(-60))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wirelab-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        try made.certificatePEM.write(toFile: certificate, atomically: true, encoding: .utf8)
        try Self.pem(made, to: key)
        let (lab, _) = try await startLab(only: ["echo"]) { $0.tls = LabTLSConfiguration(port: 0, source: .files(certificate: certificate, key: key)) }
        defer { Task { await lab.stop() } }
        let identity = try #require(lab.tlsIdentity)
        #expect(!identity.generated)
        #expect(identity.fingerprint == made.fingerprint)
        let connection = try await HTTPConnection.connect(
            host: "localhost", port: try #require(lab.tlsPort), tls: ClientTLS(trust: .verify(alsoTrusting: made.certificateChain)) { _ in }, tap: { _ in }
        )
        #expect(try await connection.request(method: "POST", path: "/http/echo", body: Array("x".utf8)).status == 200)
        await connection.close()
        #expect(throws: LabTLSIdentity.LoadFailed.self) {
            _ = try LabTLSIdentity.load(certificateFile: directory.appendingPathComponent("missing.pem").path, keyFile: key)
        }
    }

    /// Writes the private key as PEM (its DER bytes are SEC 1, as BoringSSL writes an EC key).
    static func pem(_ identity: LabTLSIdentity, to path: String) throws {
        let base64 = Data(try identity.privateKey.derBytes).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        try "-----BEGIN EC PRIVATE KEY-----\n\(base64)\n-----END EC PRIVATE KEY-----\n".write(toFile: path, atomically: true, encoding: .utf8)
    }

    // MARK: Independent clients

    @Test func pythonWebsocketsTrustsTheGeneratedCertificate() async throws {
        let python = try Paths.python()
        let (lab, _, tlsPort) = try await Self.startTLSLab(only: ["echo"])
        defer { Task { await lab.stop() } }
        let certificate = try Self.saveCertificate(lab)
        defer { try? FileManager.default.removeItem(atPath: certificate) }
        let client = try ChildProcess(python, ["\(Paths.peers)/echo_client.py", "--cafile", certificate, "wss://localhost:\(tlsPort)/ws/echo", "hello"])
        #expect(await client.waitFor("\"ready\": true"), "client output: \(client.stdout) \(client.stderr)")
        #expect(client.stdout.contains(#"{"reply": "Echo: hello"}"#))
        await lab.stop()
        #expect(await client.waitForExit() == 0)
        #expect(client.stdout.contains(#""close_code": 1001"#), "client output: \(client.stdout) \(client.stderr)")

        // Without the certificate, Python's default context refuses the lab.
        let (other, _, otherPort) = try await Self.startTLSLab(only: ["echo"])
        defer { Task { await other.stop() } }
        let refused = try ChildProcess(python, ["\(Paths.peers)/echo_client.py", "wss://localhost:\(otherPort)/ws/echo", "hello"])
        #expect(await refused.waitForExit() != 0)
        #expect(refused.stderr.contains("CERTIFICATE_VERIFY_FAILED"), "stderr: \(refused.stderr)")
    }

    @Test func curlWithCacertReadsTheEventStream() async throws {
        let (lab, plainPort, tlsPort) = try await Self.startTLSLab()
        defer { Task { await lab.stop() } }
        let certificate = try Self.saveCertificate(lab)
        defer { try? FileManager.default.removeItem(atPath: certificate) }
        let token = try await JSONLogin.token(port: plainPort, user: "alice")
        let curl = try ChildProcess(
            "/usr/bin/curl", ["-sS", "-N", "--max-time", "3", "--cacert", certificate, "-H", "Authorization: Bearer \(token)", "https://localhost:\(tlsPort)/events"]
        )
        #expect(await curl.waitFor("retry:"), "curl: \(curl.stdout) \(curl.stderr)")
        _ = await curl.waitForExit()
        // And without --cacert curl refuses the self-signed certificate.
        let refused = try ChildProcess("/usr/bin/curl", ["-sS", "--max-time", "3", "https://localhost:\(tlsPort)/http/chat"])
        #expect(await refused.waitForExit() == 60, "curl's exit code for a certificate it cannot verify: \(refused.stderr)")
    }

    static func saveCertificate(_ lab: Lab) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("wirelab-lab-\(UUID().uuidString).pem").path
        try #require(lab.tlsIdentity).certificatePEM.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// A token from the lab's login endpoint.
enum JSONLogin {
    static func token(port: Int, user: String) async throws -> String {
        let password = try #require(LabUser.demo.first { $0.name == user }?.password)
        let answer = try await httpRequest("POST", "/auth/token", port: port, body: #"{"username":"\#(user)","password":"\#(password)"}"#)
        return try #require(try JSON(parsing: answer.body)["access_token"]?.stringValue)
    }
}
