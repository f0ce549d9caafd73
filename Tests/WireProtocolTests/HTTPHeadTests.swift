import Testing
import WireProtocol

enum HTTPExamples {
    static let request =
        "GET /chat HTTP/1.1\r\n"
        + "Host: server.example.com:8080\r\n"
        + "Upgrade: websocket\r\n"
        + "Connection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        + "Sec-WebSocket-Version: 13\r\n"
        + "\r\n"

    static let switching =
        "HTTP/1.1 101 Switching Protocols\r\n"
        + "Upgrade: websocket\r\n"
        + "Connection: Upgrade\r\n"
        + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        + "\r\n"
}

/// The head a parse produced, or a recorded failure.
private func parseHead(
    _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation
) throws -> (head: HTTPHead, consumed: Int) {
    let result = HTTPHead.parse(bytes)
    guard case .head(let head, let consumed) = result else {
        Issue.record("expected a head, got \(result)", sourceLocation: sourceLocation)
        throw DissectionFailed()
    }
    return (head, consumed)
}

@Suite("HTTPHead.parse")
struct HTTPHeadTests {
    @Test("an opening-handshake request")
    func request() throws {
        let bytes = ascii(HTTPExamples.request)
        #expect(bytes.count == 166)
        let (head, consumed) = try parseHead(bytes + Examples.maskedHello)
        #expect(consumed == 166)
        #expect(head.byteCount == 166)
        #expect(head.raw == bytes)
        #expect(head.startLine == .request(method: "GET", target: "/chat", version: "HTTP/1.1"))
        #expect(head.status == nil)
        #expect(head.fields.count == 5)
        #expect(head.fields.first?.name == "Host")
        #expect(head.field("Host") == "server.example.com:8080")  // only the first colon splits
        #expect(head.field("host") == "server.example.com:8080")
        #expect(head.field("SEC-WEBSOCKET-KEY") == "dGhlIHNhbXBsZSBub25jZQ==")
        #expect(head.field("sec-websocket-version") == "13")
        #expect(head.field("Origin") == nil)
        #expect(head.contentLength == nil)
        #expect(!head.isChunked)
    }

    @Test("a 101 Switching Protocols response")
    func switching() throws {
        let bytes = ascii(HTTPExamples.switching)
        #expect(bytes.count == 129)
        let (head, consumed) = try parseHead(bytes + Examples.unmaskedHello)
        #expect(consumed == 129)
        #expect(head.byteCount == 129)
        #expect(head.startLine == .response(version: "HTTP/1.1", status: 101, reason: "Switching Protocols"))
        #expect(head.status == 101)
        #expect(head.fields.map(\.name) == ["Upgrade", "Connection", "Sec-WebSocket-Accept"])
        #expect(head.fields.map(\.value) == ["websocket", "Upgrade", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="])
        #expect(head.field("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(head.field("UPGRADE") == "websocket")
    }

    @Test("field() returns the first of repeated fields; values are trimmed")
    func repeatedAndTrimmed() throws {
        let text = "HTTP/1.1 200 OK\r\nX-A: one\r\nx-a: two\r\nX-B: \t padded \t\r\nX-Empty:\r\n\r\n"
        let (head, _) = try parseHead(ascii(text))
        #expect(head.field("x-a") == "one")
        #expect(head.fields.count == 4)
        #expect(head.fields[1].value == "two")
        #expect(head.field("X-B") == "padded")
        #expect(head.field("x-empty") == "")
    }

    @Test("response start lines: reason with spaces, no reason, 404")
    func responseStartLines() throws {
        let (notFound, _) = try parseHead(ascii("HTTP/1.1 404 Not Found\r\n\r\n"))
        #expect(notFound.startLine == .response(version: "HTTP/1.1", status: 404, reason: "Not Found"))
        #expect(notFound.status == 404)
        #expect(notFound.fields.isEmpty)
        let (bare, _) = try parseHead(ascii("HTTP/1.1 204\r\n\r\n"))
        #expect(bare.startLine == .response(version: "HTTP/1.1", status: 204, reason: ""))
    }

    @Test("a first line that is neither request nor response")
    func unrecognised() throws {
        let (head, _) = try parseHead(ascii("HELLO THERE\r\n\r\n"))
        #expect(head.startLine == .unrecognised("HELLO THERE"))
        #expect(head.status == nil)
    }

    @Test("no blank line yet: needMoreBytes")
    func needMoreBytes() {
        let full = ascii(HTTPExamples.request)
        #expect(HTTPHead.parse([UInt8]()) == .needMoreBytes)
        #expect(HTTPHead.parse(ascii("GET / HTTP/1.1\r\nHost: x\r\n")) == .needMoreBytes)
        #expect(HTTPHead.parse(ascii("GET / HTTP/1.1\r\nHost: x\r\n\r")) == .needMoreBytes)
        // Bare LFs do not end a head.
        #expect(HTTPHead.parse(ascii("GET / HTTP/1.1\nHost: x\n\n")) == .needMoreBytes)
        for length in 0..<full.count {
            #expect(HTTPHead.parse(full.prefix(length)) == .needMoreBytes, "prefix \(length)")
        }
    }

    @Test("malformed: a header line without a colon")
    func noColon() {
        let result = HTTPHead.parse(ascii("GET / HTTP/1.1\r\nHost: x\r\nBroken line\r\n\r\n"))
        guard case .malformed(let reason) = result else {
            Issue.record("expected malformed, got \(result)")
            return
        }
        #expect(reason.contains("Broken line"))
    }

    @Test("malformed: an empty start line")
    func emptyStartLine() {
        guard case .malformed = HTTPHead.parse(ascii("\r\n\r\n")) else {
            Issue.record("expected malformed")
            return
        }
    }

    @Test("malformed: more than the size limit without a blank line")
    func tooBig() {
        let bytes = ascii("GET / HTTP/1.1\r\nX: ") + [UInt8](repeating: 0x61, count: HTTPHead.maximumSize)
        guard case .malformed = HTTPHead.parse(bytes) else {
            Issue.record("expected malformed")
            return
        }
    }

    @Test("lines keeps the order, without CRLF and the blank line")
    func lines() throws {
        let (head, _) = try parseHead(ascii(HTTPExamples.switching))
        #expect(head.lines == [
            "HTTP/1.1 101 Switching Protocols",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
        ])
        let (request, _) = try parseHead(ascii(HTTPExamples.request))
        #expect(request.lines.count == 6)
        #expect(request.lines.first == "GET /chat HTTP/1.1")
        #expect(request.lines.last == "Sec-WebSocket-Version: 13")
    }

    @Test("Content-Length and chunked")
    func bodyFraming() throws {
        let (sized, _) = try parseHead(ascii("HTTP/1.1 404 Not Found\r\ncontent-length:  12 \r\n\r\n"))
        #expect(sized.contentLength == 12)
        #expect(!sized.isChunked)
        let (chunked, _) = try parseHead(ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"))
        #expect(chunked.isChunked)
        #expect(chunked.contentLength == nil)
    }

    @Test("the head ends at the first blank line")
    func firstBlankLine() throws {
        let two = ascii("HTTP/1.1 100 Continue\r\n\r\n") + ascii("HTTP/1.1 200 OK\r\n\r\n")
        let (head, consumed) = try parseHead(two)
        #expect(consumed == 25)
        #expect(head.status == 100)
    }
}
