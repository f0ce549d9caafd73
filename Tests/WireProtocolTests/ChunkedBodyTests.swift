import Testing
import WireProtocol

/// What a dissection of the down direction produced, with the ledger kept alongside.
private struct ChunkedRun {
    var dissector = WireDissector()
    var ledger = ByteLedger()
    var events: [WireEvent] = []
    var fed = 0

    mutating func feed(_ bytes: [UInt8]) {
        fed += bytes.count
        let new = dissector.feed(.down, bytes)
        for event in new { ledger.record(event) }
        events += new
    }

    /// Body bytes per response (a head starts a new one).
    var bodies: [[UInt8]] {
        var bodies: [[UInt8]] = []
        for event in events {
            switch event {
            case .httpHead: bodies.append([])
            case .httpBody(_, let bytes): bodies[bodies.count - 1] += bytes
            default: break
            }
        }
        return bodies
    }

    var heads: [HTTPHead] {
        events.compactMap { if case .httpHead(_, let head) = $0 { return head } else { return nil } }
    }

    var framing: [UInt8] {
        events.flatMap { event -> [UInt8] in
            if case .chunkFraming(_, let bytes) = event { return bytes }
            return []
        }
    }

    var undecodable: [(reason: String, bytes: [UInt8])] {
        events.compactMap { if case .undecodable(_, let reason, let bytes) = $0 { return (reason, bytes) } else { return nil } }
    }

    /// Adjacent pieces of the same kind merged, so runs cut differently compare equal.
    var merged: [String] {
        var out: [(String, [UInt8])] = []
        for event in events {
            let (kind, bytes): (String, [UInt8])
            switch event {
            case .httpHead(_, let head): (kind, bytes) = ("head", head.raw)
            case .httpBody(_, let piece): (kind, bytes) = ("body", piece)
            case .chunkFraming(_, let piece): (kind, bytes) = ("framing", piece)
            case .undecodable(_, let reason, let piece): (kind, bytes) = ("undecodable \(reason)", piece)
            case .frame, .reassembled: (kind, bytes) = ("frame", [])
            }
            if kind != "head", let last = out.last, last.0 == kind {
                out[out.count - 1].1 += bytes
            } else {
                out.append((kind, bytes))
            }
        }
        return out.map { "\($0.0): \(String(decoding: $0.1, as: UTF8.self).debugDescription)" }
    }

    static func whole(_ bytes: [UInt8]) -> ChunkedRun {
        var run = ChunkedRun()
        run.feed(bytes)
        return run
    }
}

private let chunkedHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
private let chunkedBody = "5\r\nhello\r\n7\r\n, world\r\nA\r\n, chunked!\r\n0\r\n\r\n"
private let chunkedResponse = ascii(chunkedHead + chunkedBody)

@Suite("WireDissector: chunked bodies")
struct ChunkedBodyTests {
    @Test("a chunked body: data as body, size lines and CR LFs as framing, and the ledger adds up")
    func wholeResponse() {
        let run = ChunkedRun.whole(chunkedResponse)
        #expect(run.heads.count == 1)
        #expect(run.bodies == [ascii("hello, world, chunked!")])
        #expect(run.framing == ascii("5\r\n\r\n7\r\n\r\nA\r\n\r\n0\r\n\r\n"))
        #expect(run.undecodable.isEmpty)
        #expect(run.ledger.down.httpHeads == chunkedHead.utf8.count)
        #expect(run.ledger.down.httpBodies == 22)
        #expect(run.ledger.down.chunkFraming == run.framing.count)
        #expect(run.ledger.down.other == 0)
        #expect(run.ledger.down.total == run.fed)
        #expect(run.ledger.down.overhead == chunkedHead.utf8.count + run.framing.count)
        #expect(run.ledger.up.total == 0)
    }

    @Test("split at every byte boundary, the same body and framing, and totals that match exactly")
    func everySplit() {
        let reference = ChunkedRun.whole(chunkedResponse)
        for cut in 0...chunkedResponse.count {
            var run = ChunkedRun()
            run.feed(Array(chunkedResponse[..<cut]))
            run.feed(Array(chunkedResponse[cut...]))
            #expect(run.bodies == reference.bodies, "cut at \(cut)")
            #expect(run.framing == reference.framing, "cut at \(cut)")
            #expect(run.merged == reference.merged, "cut at \(cut)")
            #expect(run.undecodable.isEmpty, "cut at \(cut): \(run.undecodable)")
            #expect(run.ledger == reference.ledger, "cut at \(cut)")
            #expect(run.ledger.down.total == chunkedResponse.count, "cut at \(cut)")
            #expect(run.framing.count + run.bodies.joined().count + chunkedHead.utf8.count == chunkedResponse.count, "cut at \(cut)")
        }
    }

    @Test("split at every pair of byte boundaries")
    func everyPairOfSplits() {
        let reference = ChunkedRun.whole(chunkedResponse)
        let body = Array(chunkedResponse[chunkedHead.utf8.count...])
        let head = Array(chunkedResponse[..<chunkedHead.utf8.count])
        for first in 0...body.count {
            for second in first...body.count {
                var run = ChunkedRun()
                run.feed(head)
                run.feed(Array(body[..<first]))
                run.feed(Array(body[first..<second]))
                run.feed(Array(body[second...]))
                #expect(run.merged == reference.merged, "cuts at \(first), \(second)")
                #expect(run.ledger == reference.ledger, "cuts at \(first), \(second)")
            }
        }
    }

    @Test("one byte at a time")
    func byteByByte() {
        let reference = ChunkedRun.whole(chunkedResponse)
        var run = ChunkedRun()
        for byte in chunkedResponse { run.feed([byte]) }
        #expect(run.merged == reference.merged)
        #expect(run.ledger == reference.ledger)
        #expect(run.ledger.down.total == chunkedResponse.count)
    }

    @Test("chunk extensions belong to the framing")
    func extensions() {
        let bytes = ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;foo=bar\r\nhello\r\n6 ; name=\"x y\";flag\r\n world\r\n0;last=1\r\n\r\n")
        for cut in 0...bytes.count {
            var run = ChunkedRun()
            run.feed(Array(bytes[..<cut]))
            run.feed(Array(bytes[cut...]))
            #expect(run.bodies == [ascii("hello world")], "cut at \(cut)")
            #expect(run.framing == ascii("5;foo=bar\r\n\r\n6 ; name=\"x y\";flag\r\n\r\n0;last=1\r\n\r\n"), "cut at \(cut)")
            #expect(run.undecodable.isEmpty, "cut at \(cut)")
            #expect(run.ledger.down.total == bytes.count)
        }
    }

    @Test("hex sizes in either case, with leading zeros")
    func hexSizes() {
        let data = (0..<26).map { UInt8(ascii: "a") + UInt8($0 % 26) }
        let bytes = ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n00a\r\n") + data[..<10] + ascii("\r\n10\r\n") + data[10..<26]
            + ascii("\r\n0000\r\n\r\n")
        let run = ChunkedRun.whole(bytes)
        #expect(run.bodies == [data])
        #expect(run.undecodable.isEmpty)
        #expect(run.ledger.down.total == bytes.count)
    }

    @Test("trailers after the last chunk are framing, and the next response is read after them")
    func trailersThenKeepAlive() {
        let first = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n4\r\nwiki\r\n0\r\nX-Checksum: abc123\r\nX-Other: 1\r\n\r\n"
        let second = "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope"
        let bytes = ascii(first + second)
        let reference = ChunkedRun.whole(bytes)
        #expect(reference.heads.map(\.status) == [200, 404])
        #expect(reference.bodies == [ascii("wiki"), ascii("nope")])
        #expect(reference.framing == ascii("4\r\n\r\n0\r\nX-Checksum: abc123\r\nX-Other: 1\r\n\r\n"))
        #expect(reference.undecodable.isEmpty)
        #expect(reference.ledger.down.total == bytes.count)
        for cut in 0...bytes.count {
            var run = ChunkedRun()
            run.feed(Array(bytes[..<cut]))
            run.feed(Array(bytes[cut...]))
            #expect(run.merged == reference.merged, "cut at \(cut)")
            #expect(run.ledger == reference.ledger, "cut at \(cut)")
        }
    }

    @Test("two chunked responses on one connection, then a sized one")
    func keepAlive() {
        let one = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n0\r\n\r\n"
        let two = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"
        let three = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nthree"
        let bytes = ascii(one + two + three)
        let reference = ChunkedRun.whole(bytes)
        #expect(reference.heads.count == 3)
        #expect(reference.bodies == [ascii("one"), ascii("two"), ascii("three")])
        #expect(reference.undecodable.isEmpty)
        #expect(reference.ledger.down.total == bytes.count)
        #expect(reference.ledger.down.httpBodies == 11)
        for cut in 0...bytes.count {
            var run = ChunkedRun()
            run.feed(Array(bytes[..<cut]))
            run.feed(Array(bytes[cut...]))
            #expect(run.merged == reference.merged, "cut at \(cut)")
        }
    }

    @Test("an empty chunked body: only the last chunk")
    func emptyBody() {
        let bytes = ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
        let run = ChunkedRun.whole(bytes)
        #expect(run.heads.map(\.status) == [200, 204])
        #expect(run.bodies == [[], []])
        #expect(run.framing == ascii("0\r\n\r\n"))
        #expect(run.ledger.down.total == bytes.count)
    }

    @Test("a malformed size line is undecodable", arguments: ["zz", "", " ", "0x5", "5g", "-1"])
    func malformedSizeLine(size: String) {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        let bytes = ascii(head + "\(size)\r\nhello\r\n0\r\n\r\n")
        let run = ChunkedRun.whole(bytes)
        #expect(run.heads.count == 1, "\(run.merged)")
        let first = run.undecodable.first
        #expect(first?.reason == "not a chunk size", "\(run.merged)")
        #expect(first?.bytes == ascii("\(size)\r\n"), "\(run.merged)")
        #expect(run.bodies == [[]], "\(run.merged)")
        #expect(run.framing.isEmpty, "\(run.merged)")
        #expect(run.ledger.down.total == bytes.count, "every byte counted once")
        #expect(run.ledger.down.other == bytes.count - head.utf8.count)
    }

    @Test("a malformed size line split anywhere is reported the same")
    func malformedSizeLineSplit() {
        let bytes = ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nxyz\r\n")
        let reference = ChunkedRun.whole(bytes)
        #expect(reference.bodies == [ascii("hello")])
        #expect(reference.undecodable.first?.bytes == ascii("xyz\r\n"))
        for cut in 0...bytes.count {
            var run = ChunkedRun()
            run.feed(Array(bytes[..<cut]))
            run.feed(Array(bytes[cut...]))
            #expect(run.bodies == reference.bodies, "cut at \(cut)")
            #expect(run.undecodable.first?.bytes == ascii("xyz\r\n"), "cut at \(cut): \(run.merged)")
            #expect(run.ledger.down.total == bytes.count, "cut at \(cut)")
        }
    }

    /// An SSE server that forgot the chunk framing: its first line is taken as a size line and
    /// refused. What follows cannot be placed either; it must not turn into an HTTP head.
    @Test("after a malformed size line the rest of the stream is not read as a new response")
    func nothingIsReadAfterAMalformedSizeLine() {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        let bytes = ascii(head + "id: 1\r\ndata: hello\r\n\r\n")
        let run = ChunkedRun.whole(bytes)
        #expect(run.heads.count == 1, "a head was made of body bytes: \(run.merged)")
        #expect(run.undecodable.first?.bytes == ascii("id: 1\r\n"))
        #expect(run.ledger.down.other == bytes.count - head.utf8.count, "\(run.merged)")
        #expect(run.ledger.down.total == bytes.count)
    }

    /// RFC 9112 §7.1: chunk-data is followed by CRLF. A chunk longer than its size line says
    /// leaves other bytes where that CRLF should be.
    @Test("a chunk longer than its size says is undecodable, not framing")
    func chunkLongerThanItsSize() {
        let bytes = ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n")
        let run = ChunkedRun.whole(bytes)
        #expect(run.bodies.first == ascii("hel"))
        #expect(!run.framing.contains(UInt8(ascii: "l")) && !run.framing.contains(UInt8(ascii: "o")), "data bytes counted as framing: \(run.merged)")
        #expect(!run.undecodable.isEmpty, "\(run.merged)")
        #expect(run.heads.count == 1, "a head was made of body bytes: \(run.merged)")
        #expect(run.ledger.down.total == bytes.count)
    }

    @Test("a size line longer than 1024 bytes is undecodable")
    func overlongSizeLine() {
        let bytes = ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;" + String(repeating: "x", count: 1100) + "\r\nhello\r\n0\r\n\r\n")
        let run = ChunkedRun.whole(bytes)
        #expect(run.undecodable.first?.reason == "a chunk-size line longer than 1024 bytes", "\(run.undecodable.map(\.reason))")
        #expect(run.bodies == [[]])
        #expect(run.ledger.down.total == bytes.count)
    }

    @Test("a Content-Length body is not taken for chunks")
    func contentLengthIsNotChunked() {
        let bytes = ascii("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n5\r\nhello\r\n")
        let run = ChunkedRun.whole(bytes)
        #expect(run.bodies == [ascii("5\r\nhello\r\n")])
        #expect(run.framing.isEmpty)
        #expect(run.ledger.down.chunkFraming == 0)
    }
}
