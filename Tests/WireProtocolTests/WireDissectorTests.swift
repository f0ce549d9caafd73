import Testing
import WireProtocol

/// A short description of each event, enough to check order and kind.
private func kinds(_ events: [WireEvent]) -> [String] {
    events.map { event in
        switch event {
        case .httpHead(let direction, _): "head \(direction)"
        case .httpBody(let direction, let bytes): "body \(direction) \(bytes.count)"
        case .chunkFraming(let direction, let bytes): "chunk framing \(direction) \(bytes.count)"
        case .frame(let direction, let frame, _): "frame \(direction) \(frame.opcode.name)"
        case .reassembled(let direction, let opcode, _, let fragments): "reassembled \(direction) \(opcode.name) \(fragments)"
        case .undecodable(let direction, _, let bytes): "undecodable \(direction) \(bytes.count)"
        }
    }
}

/// A masked client frame with key 37 fa 21 3d.
private func clientFrame(_ firstByte: UInt8, _ payload: [UInt8]) -> [UInt8] {
    precondition(payload.count <= 125)
    return [firstByte, 0x80 | UInt8(payload.count)] + Examples.maskKey + Frame.applyMask(Examples.maskKey, to: payload)
}

/// Feeds chunks in order and keeps every event and the byte count per direction.
private struct Recorder {
    var dissector = WireDissector()
    var ledger = ByteLedger()
    var events: [WireEvent] = []
    var fedUp = 0
    var fedDown = 0

    @discardableResult
    mutating func feed(_ direction: Direction, _ bytes: [UInt8]) -> [WireEvent] {
        let new = dissector.feed(direction, bytes)
        if direction == .up { fedUp += bytes.count } else { fedDown += bytes.count }
        for event in new { ledger.record(event) }
        events += new
        return new
    }
}

@Suite("WireDissector")
struct WireDissectorTests {
    @Test("a whole WebSocket connection: heads, then frames both ways")
    func fullConnection() throws {
        var dissector = WireDissector()
        let request = ascii(HTTPExamples.request)
        let response = ascii(HTTPExamples.switching)

        let up1 = dissector.feed(.up, request)
        #expect(kinds(up1) == ["head up"])
        guard case .httpHead(.up, let requestHead) = up1.first else { return }
        #expect(requestHead.raw == request)
        #expect(requestHead.field("Sec-WebSocket-Key") == Handshake.sampleKey)

        // The 101 and the first server frame arrive in the same chunk.
        let down1 = dissector.feed(.down, response + Examples.unmaskedHello)
        #expect(kinds(down1) == ["head down", "frame down text"])
        guard case .httpHead(.down, let responseHead) = down1.first,
              case .frame(.down, let serverFrame, let serverViolations) = down1.last
        else { return }
        #expect(responseHead.status == 101)
        #expect(responseHead.byteCount == 129)
        #expect(AcceptCheck(key: Handshake.sampleKey, received: responseHead.field("Sec-WebSocket-Accept")).matches)
        #expect(serverFrame.payload == ascii("Hello"))
        #expect(serverViolations.isEmpty)

        // Masked frames up: the up direction now expects client frames.
        let up2 = dissector.feed(.up, Examples.maskedHello + Examples.maskedPong)
        #expect(kinds(up2) == ["frame up text", "frame up pong"])
        for case .frame(_, let frame, let violations) in up2 {
            #expect(frame.payload == ascii("Hello"))
            #expect(violations.isEmpty)
        }

        // Fragmented message down, reassembled.
        let down2 = dissector.feed(.down, Examples.fragmentHel + Examples.fragmentLo)
        #expect(kinds(down2) == ["frame down text", "frame down continuation", "reassembled down text 2"])
        #expect(down2.last == .reassembled(.down, opcode: .text, payload: ascii("Hello"), fragments: 2))
    }

    @Test("after a 101, up frames are judged as client frames and down frames as server frames")
    func rolesAfterUpgrade() {
        var dissector = WireDissector()
        _ = dissector.feed(.up, ascii(HTTPExamples.request))
        _ = dissector.feed(.down, ascii(HTTPExamples.switching))
        let up = dissector.feed(.up, Examples.unmaskedHello)  // a client must mask
        guard case .frame(.up, _, let upViolations) = up.first else {
            Issue.record("expected a frame, got \(up)")
            return
        }
        #expect(upViolations.count == 1)
        let down = dissector.feed(.down, Examples.maskedHello)  // a server must not
        guard case .frame(.down, _, let downViolations) = down.first else {
            Issue.record("expected a frame, got \(down)")
            return
        }
        #expect(downViolations.count == 1)
    }

    @Test("a head split across many chunks comes out once")
    func headInPieces() {
        var dissector = WireDissector()
        let request = ascii(HTTPExamples.request)
        var events: [WireEvent] = []
        var offset = 0
        while offset < request.count {
            let end = min(offset + 10, request.count)
            events += dissector.feed(.up, Array(request[offset..<end]))
            offset = end
        }
        #expect(kinds(events) == ["head up"])
        if case .httpHead(_, let head) = events.first { #expect(head.byteCount == 166) }
    }

    @Test("the 101 split byte by byte, with frames in the same bytes")
    func upgradeByteByByte() {
        var dissector = WireDissector()
        var events: [WireEvent] = []
        for byte in ascii(HTTPExamples.switching) + Examples.unmaskedHello + Examples.unmaskedPing {
            events += dissector.feed(.down, [byte])
        }
        #expect(kinds(events) == ["head down", "frame down text", "frame down ping"])
    }

    @Test("a 404 with a Content-Length body split across two chunks")
    func notFoundWithBody() {
        var dissector = WireDissector()
        let head = ascii("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n")
        let body = ascii("no such path\n")
        #expect(body.count == 13)

        let first = dissector.feed(.down, head + body.prefix(5))
        #expect(kinds(first) == ["head down", "body down 5"])
        let second = dissector.feed(.down, Array(body.dropFirst(5)))
        #expect(kinds(second) == ["body down 8"])

        var collected: [UInt8] = []
        for case .httpBody(.down, let piece) in first + second { collected += piece }
        #expect(collected == body)
        if case .httpHead(.down, let parsed) = first.first {
            #expect(parsed.status == 404)
            #expect(parsed.contentLength == 13)
            #expect(parsed.byteCount == head.count)
        }

        // The body is over: the next bytes are a new head, not more body and not frames.
        let next = dissector.feed(.down, ascii("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        #expect(kinds(next) == ["head down", "body down 2"])
    }

    @Test("a body and the next head in one chunk")
    func bodyThenHead() {
        var dissector = WireDissector()
        let bytes = ascii("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 204 No Content\r\n\r\n")
        let events = dissector.feed(.down, bytes)
        #expect(kinds(events) == ["head down", "body down 3", "head down"])
        #expect(events[1] == .httpBody(.down, ascii("abc")))
    }

    @Test("a response without Content-Length: body until the connection closes")
    func bodyUntilClose() {
        var dissector = WireDissector()
        let events = dissector.feed(.down, ascii("HTTP/1.1 200 OK\r\n\r\nfirst"))
        #expect(kinds(events) == ["head down", "body down 5"])
        // Even bytes that look like a head are body now.
        let more = dissector.feed(.down, ascii("HTTP/1.1 200 OK\r\n\r\n"))
        #expect(kinds(more) == ["body down 19"])
    }

    @Test("204 and 304 responses have no body even without Content-Length")
    func noBodyStatuses() {
        var dissector = WireDissector()
        let bytes = ascii("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
        #expect(kinds(dissector.feed(.down, bytes)) == ["head down", "head down", "head down", "body down 1"])
    }

    @Test("a refused upgrade stays HTTP")
    func refusedUpgrade() {
        var dissector = WireDissector()
        _ = dissector.feed(.up, ascii(HTTPExamples.request))
        let down = dissector.feed(.down, ascii("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
        #expect(kinds(down) == ["head down"])
        // Frame bytes from the client are not frames: they do not make an HTTP head yet.
        let up = dissector.feed(.up, Examples.maskedHello)
        #expect(up.isEmpty)
    }

    @Test("a malformed head makes the direction undecodable")
    func malformedHead() {
        var dissector = WireDissector()
        let bad = ascii("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n")
        let events = dissector.feed(.down, bad)
        #expect(kinds(events) == ["undecodable down \(bad.count)"])
        let after = dissector.feed(.down, [1, 2, 3])
        #expect(after == [.undecodable(.down, reason: "after an unreadable stream", bytes: [1, 2, 3])])
        // The other direction is unaffected.
        #expect(kinds(dissector.feed(.up, ascii(HTTPExamples.request))) == ["head up"])
    }

    @Test("an unreadable frame length breaks the direction for good")
    func unreadableFrames() {
        var dissector = WireDissector()
        _ = dissector.feed(.down, ascii(HTTPExamples.switching))
        let bad = hex("82 7F 80 00 00 00 00 00 00 01 AA")
        let events = dissector.feed(.down, Examples.unmaskedHello + bad)
        #expect(kinds(events) == ["frame down text", "undecodable down \(bad.count)"])
        #expect(kinds(dissector.feed(.down, Examples.unmaskedHello)) == ["undecodable down 7"])
    }
}

@Suite("ByteLedger")
struct ByteLedgerTests {
    @Test("every byte of a connection is counted once, in the right column")
    func wholeConnection() {
        var recorder = Recorder()
        let closeUp = clientFrame(0x88, hex("03 E8"))
        recorder.feed(.up, ascii(HTTPExamples.request))  // 166
        recorder.feed(.down, ascii(HTTPExamples.switching) + Examples.unmaskedHello)  // 129 + 2 + 5
        recorder.feed(.up, Examples.maskedHello + Examples.maskedPong)  // 6 + 5, 6 + 5
        recorder.feed(.down, Examples.fragmentHel + Examples.fragmentLo)  // 2 + 3, 2 + 2
        recorder.feed(.down, Examples.binary256)  // 4 + 256
        recorder.feed(.up, closeUp)  // 6 + 2
        recorder.feed(.down, hex("88 02 03 E8"))  // 2 + 2

        let ledger = recorder.ledger
        #expect(ledger.up.total + ledger.down.total == recorder.fedUp + recorder.fedDown)
        #expect(ledger.up.total == recorder.fedUp)
        #expect(ledger.down.total == recorder.fedDown)
        #expect(ledger.total == 166 + 22 + 8 + 136 + 9 + 260 + 4)

        #expect(ledger.up.httpHeads == 166)
        #expect(ledger.up.httpBodies == 0)
        #expect(ledger.up.frameHeaders == 18)
        #expect(ledger.up.framePayloads == 12)
        #expect(ledger.up.other == 0)
        #expect(ledger.up.frames == 3)
        #expect(ledger.down.httpHeads == 129)
        #expect(ledger.down.httpBodies == 0)
        #expect(ledger.down.frameHeaders == 12)
        #expect(ledger.down.framePayloads == 268)
        #expect(ledger.down.other == 0)
        #expect(ledger.down.frames == 5)
        #expect(ledger.up.overhead == 184)
        #expect(ledger.down.overhead == 141)
        #expect(ledger[.up] == ledger.up)
    }

    @Test("byte-by-byte feeding gives the same ledger")
    func byteByByte() {
        // In the order a real client sees them: request up, 101 (and frames) down, frames up.
        let request = ascii(HTTPExamples.request)
        let down = ascii(HTTPExamples.switching) + Examples.unmaskedHello + Examples.fragmentHel + Examples.fragmentLo
        let upFrames = Examples.maskedHello + Examples.maskedPong
        var whole = Recorder()
        whole.feed(.up, request)
        whole.feed(.down, down)
        whole.feed(.up, upFrames)
        var pieces = Recorder()
        for byte in request { pieces.feed(.up, [byte]) }
        for byte in down { pieces.feed(.down, [byte]) }
        for byte in upFrames { pieces.feed(.up, [byte]) }
        #expect(pieces.ledger == whole.ledger)
        #expect(whole.ledger.total == request.count + down.count + upFrames.count)
        #expect(pieces.ledger.total == request.count + down.count + upFrames.count)
        #expect(kinds(pieces.events) == kinds(whole.events))
        #expect(kinds(whole.events) == [
            "head up", "head down", "frame down text", "frame down text", "frame down continuation",
            "reassembled down text 2", "frame up text", "frame up pong",
        ])
    }

    /// RFC 6455 §4.1 says a client must wait for the 101 before sending frames, but the tap is
    /// there to show misbehaving peers too. Bytes the client sent right after its request, before
    /// the 101 arrived on the other direction, sit in the up direction's head buffer; when the 101
    /// switches the up direction to frames they must not vanish.
    @Test("client bytes sent before the 101 arrives are still accounted for")
    func earlyClientFrame() {
        var recorder = Recorder()
        recorder.feed(.up, ascii(HTTPExamples.request) + Examples.maskedHello)  // frame sent too early
        recorder.feed(.down, ascii(HTTPExamples.switching))
        recorder.feed(.up, Examples.maskedPong)
        // Every byte fed is in the ledger (as frame bytes or, at least, as "other").
        #expect(recorder.ledger.up.total == recorder.fedUp)
        #expect(recorder.ledger.total == recorder.fedUp + recorder.fedDown)
        // And the early frame shows up as something, before the pong.
        #expect(kinds(recorder.events).filter { $0.hasSuffix("up") || $0.contains(" up ") }.count >= 3)
    }

    @Test("HTTP bodies and undecodable bytes are counted")
    func bodiesAndOther() {
        var recorder = Recorder()
        let head = ascii("HTTP/1.1 404 Not Found\r\nContent-Length: 13\r\n\r\n")
        let body = ascii("no such path\n")
        recorder.feed(.down, head + body.prefix(4))
        recorder.feed(.down, Array(body.dropFirst(4)))
        recorder.feed(.up, ascii("GARBAGE\r\nno colon\r\n\r\n") + [9, 9])
        recorder.feed(.up, [1, 2, 3])
        let ledger = recorder.ledger
        #expect(ledger.down.httpHeads == head.count)
        #expect(ledger.down.httpBodies == 13)
        #expect(ledger.up.other == 26)
        #expect(ledger.total == recorder.fedUp + recorder.fedDown)
    }

    @Test("reassembled messages add nothing")
    func reassembledNotCounted() {
        var ledger = ByteLedger()
        ledger.record(.reassembled(.down, opcode: .text, payload: ascii("Hello"), fragments: 2))
        #expect(ledger == ByteLedger())
        #expect(ledger.total == 0)
    }
}
