import Testing
import WireProtocol

/// The TLS record view on bytes built by hand after RFC 8446 §4.1.2, RFC 6066 §3 and RFC 7301 §3.1.
struct TLSRecordTests {
    static func u16(_ value: Int) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    /// A ClientHello message (handshake header included) with the given extensions.
    static func clientHello(serverName: String?, alpn: [String], extraExtension: Bool = true) -> [UInt8] {
        var extensions: [UInt8] = []
        if extraExtension {  // supported_versions: TLS 1.3, 1.2 (something to skip over)
            extensions += u16(0x002B) + u16(5) + [4, 0x03, 0x04, 0x03, 0x03]
        }
        if let serverName {
            let name = Array(serverName.utf8)
            let entry = [0] + u16(name.count) + name
            extensions += u16(0x0000) + u16(entry.count + 2) + u16(entry.count) + entry
        }
        if !alpn.isEmpty {
            let list = alpn.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }
            extensions += u16(0x0010) + u16(list.count + 2) + u16(list.count) + list
        }
        var body: [UInt8] = [0x03, 0x03] + [UInt8](repeating: 0xAB, count: 32)  // legacy_version, random
        body += [32] + [UInt8](repeating: 0xCD, count: 32)  // legacy_session_id
        body += u16(4) + [0x13, 0x01, 0x13, 0x02]  // cipher_suites
        body += [1, 0]  // legacy_compression_methods: null
        body += u16(extensions.count) + extensions
        return [1, 0, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    static func record(_ type: UInt8, version: UInt16 = 0x0303, _ body: [UInt8]) -> [UInt8] {
        [type] + u16(Int(version)) + u16(body.count) + body
    }

    @Test func aClientHelloTellsTheServerNameAndTheProtocolsAndNothingElse() throws {
        let hello = Self.clientHello(serverName: "localhost", alpn: ["h2", "http/1.1"])
        var stream = TLSRecordStream()
        let records = stream.feed(Self.record(22, version: 0x0301, hello)).records
        #expect(records.count == 1)
        let record = try #require(records.first)
        #expect(record.contentType == .handshake)
        #expect(record.version.description == "TLS 1.0")
        #expect(record.length == hello.count)
        #expect(record.handshakeName == "ClientHello")
        #expect(record.clientHello == ClientHello(serverName: "localhost", alpn: ["h2", "http/1.1"]))
    }

    @Test func aClientHelloToAnAddressCarriesNoName() {
        #expect(ClientHello.parse(Self.clientHello(serverName: nil, alpn: ["http/1.1"], extraExtension: false)) == ClientHello(serverName: nil, alpn: ["http/1.1"]))
    }

    @Test func recordsComeOutWholeWhateverPiecesTheBytesArriveIn() throws {
        let hello = Self.clientHello(serverName: "example.com", alpn: ["http/1.1"])
        let bytes = Self.record(22, hello) + Self.record(20, [1]) + Self.record(23, [UInt8](repeating: 0x55, count: 300))
        var stream = TLSRecordStream()
        var records: [TLSRecord] = []
        for byte in bytes { records += stream.feed([byte]).records }
        #expect(records.map(\.contentType) == [.handshake, .changeCipherSpec, .applicationData])
        #expect(records.map(\.length) == [hello.count, 1, 300])
        #expect(records[0].clientHello?.serverName == "example.com")
        #expect(records[2].handshakeType == nil)
    }

    @Test func aClientHelloSplitOverTwoRecordsIsReadWhenWhole() throws {
        let hello = Self.clientHello(serverName: "split.example", alpn: [])
        var stream = TLSRecordStream()
        let first = stream.feed(Self.record(22, Array(hello.prefix(40)))).records
        #expect(first.first?.clientHello == nil)
        let second = stream.feed(Self.record(22, Array(hello.dropFirst(40)))).records
        #expect(second.first?.clientHello?.serverName == "split.example")
    }

    @Test func afterChangeCipherSpecAHandshakeRecordIsEncrypted() throws {
        var stream = TLSRecordStream()
        // TLS 1.2's Finished: type 22, but encrypted; its first byte means nothing.
        let records = stream.feed(Self.record(20, [1]) + Self.record(22, [1, 0, 0, 4, 9, 9, 9, 9])).records
        #expect(records[1].contentType == .handshake)
        #expect(records[1].handshakeType == nil)
        #expect(records[1].clientHello == nil)
    }

    @Test func plainHTTPToATLSPortIsNotTLS() {
        var stream = TLSRecordStream()
        let result = stream.feed(Array("GET / HTTP/1.1\r\n".utf8))
        #expect(result == TLSRecordStream.Fed(failure: .notTLS(firstBytes: Array("GET /".utf8))))
        // The same five bytes whatever pieces they come in.
        var bytewise = TLSRecordStream()
        var failure: TLSRecordStream.Failure?
        for byte in "GET / HTTP/1.1\r\n".utf8 where failure == nil {
            failure = bytewise.feed([byte]).failure
        }
        #expect(failure == .notTLS(firstBytes: Array("GET /".utf8)))
        // Once broken, the rest is not taken apart.
        #expect(stream.feed([22, 3, 3, 0, 0]) == TLSRecordStream.Fed())
    }

    @Test func recordsBeforeBytesThatAreNotTLSStillComeOut() {
        let bytes = Self.record(23, [1, 2, 3]) + Array("HTTP/1.1 400".utf8)
        var whole = TLSRecordStream()
        let fed = whole.feed(bytes)
        #expect(fed.records.map(\.length) == [3])
        #expect(fed.failure == .notTLS(firstBytes: Array("HTTP/".utf8)))
    }

    @Test func aTruncatedClientHelloIsNotReadAsOne() {
        let hello = Self.clientHello(serverName: "localhost", alpn: ["http/1.1"])
        #expect(ClientHello.parse(Array(hello.prefix(hello.count - 3))) == nil)
        #expect(ClientHello.parse([2, 0, 0, 0]) == nil)
    }

    @Test func versionsAndTypesHaveTheirNames() {
        #expect(TLSVersion(rawValue: 0x0303).description == "TLS 1.2")
        #expect(TLSVersion(rawValue: 0x7F1C).description == "0x7f1c")
        #expect(TLSContentType.applicationData.description == "application_data (23)")
        #expect(TLSContentType(rawValue: 99).name == "unknown")
    }
}
