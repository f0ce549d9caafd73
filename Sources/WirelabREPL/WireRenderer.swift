import WireProtocol

/// How much of the wire the REPL shows.
public enum ViewLevel: String, Sendable, CaseIterable {
    /// One line per frame or HTTP message.
    case quiet
    /// Every frame taken apart bit by bit, with a short hex dump (the default).
    case frames
    /// As `frames`, with complete hex dumps of every byte, handshakes included.
    case bytes
}

/// Turns what the tap saw into text a learner can read. Pure: events in, lines out.
struct WireRenderer {
    let client: String
    let view: ViewLevel
    let style: Styler
    /// How wide a one-line summary may get: the terminal's width, or a fixed width for scripts.
    var columns = 120

    /// Indentation of detail lines under a headline.
    private let pad = "   "
    /// Width of the byte column in a frame dissection.
    private let byteColumn = 24

    func arrow(_ direction: Direction) -> String {
        direction == .up ? style.cyan("→ \(client)") : style.magenta("← \(client)")
    }

    // MARK: HTTP

    /// A request or response head, verbatim, with the WebSocket-specific lines explained.
    /// - Parameter extensionsRefused: a 101 whose extensions the client refuses (they break the
    ///   negotiation rules): they are not said to be agreed.
    func render(head: HTTPHead, direction: Direction, extensionsRefused: Bool = false) -> [String] {
        let kind: String
        switch head.startLine {
        case .request: kind = "HTTP request"
        case .response(_, let status, let reason): kind = "HTTP response \(status) \(Self.visible(reason))"
        case .unrecognised: kind = "HTTP head"
        }
        let headline = "\(arrow(direction)) \(kind) · \(head.byteCount) bytes"
        guard view != .quiet else {
            // The one header that changes every frame after it: an agreed permessage-deflate.
            guard head.status == 101, let agreed = head.field("Sec-WebSocket-Extensions") else { return [headline] }
            let meaning = extensionsRefused ? " · breaks the negotiation rules (below)" : " · data frames may be compressed (RSV1=1)"
            return [headline, pad + "Sec-WebSocket-Extensions: " + Self.visible(agreed) + style.dim(meaning)]
        }
        var lines = [headline]
        let upgrade = head.field("Upgrade") != nil || head.status == 101
        for line in head.lines {
            lines.append(pad + Self.visible(line))
            var note = Self.note(forHeadLine: line, upgrade: upgrade)
            if upgrade, line.lowercased().hasPrefix("sec-websocket-extensions:") {
                let value = String(line.drop { $0 != ":" }.dropFirst())
                note = extensionsRefused
                    ? "not what this client offered: it fails the connection (below)"
                    : DeflateParameters.explain(headerValue: value, isAnswer: head.status != nil)
            }
            if !note.isEmpty { lines.append(pad + style.dim("  ↳ " + note)) }
        }
        lines.append(pad + style.dim("(empty line: end of the head; every line above ended in CR LF)"))
        if view == .bytes { lines += HexDump.lines(head.raw).map { pad + style.dim($0) } }
        return lines
    }

    /// - Parameter upgrade: the head asks for or agrees to an upgrade (WebSocket's notes), or not
    /// (plain HTTP, where `Origin` is about CORS).
    static func note(forHeadLine line: String, upgrade: Bool = true) -> String {
        let lower = line.lowercased()
        if !upgrade {
            if lower.hasPrefix("origin:") { return "the page that sent it; CORS decides whether that page may read the answer" }
            if lower.hasPrefix("access-control-request-method:") { return "a preflight: may a page from Origin send this method?" }
            if lower.hasPrefix("access-control-request-headers:") { return "… with these headers?" }
            if lower.hasPrefix("access-control-allow-origin:") { return "this page may read the answer (CORS); without it the browser hides it" }
            if lower.hasPrefix("access-control-allow-methods:") || lower.hasPrefix("access-control-allow-headers:") { return "what pages may send here" }
            if lower.hasPrefix("access-control-max-age:") { return "seconds the browser may reuse this preflight's answer" }
            if lower.hasPrefix("vary:") && lower.contains("origin") { return "the answer depends on Origin: a cache must not give it to another page" }
            return ""
        }
        if lower.hasPrefix("get ") && lower.hasSuffix("http/1.1") { return "an ordinary GET, asking to switch protocols" }
        if lower.contains(" 101 ") || lower.hasSuffix(" 101") { return "the server agrees: this TCP connection now speaks WebSocket" }
        if lower.hasPrefix("upgrade:") { return "the protocol to switch to" }
        if lower.hasPrefix("connection:") && lower.contains("upgrade") { return "this hop must act on the Upgrade header" }
        if lower.hasPrefix("sec-websocket-key:") { return "16 random bytes, base64; the server must prove it read them" }
        if lower.hasPrefix("sec-websocket-version:") { return "13 is RFC 6455, the only version in use" }
        if lower.hasPrefix("sec-websocket-accept:") { return "base64(SHA-1(key + GUID)), checked below" }
        if lower.hasPrefix("origin:") { return "the page that opens the socket; browsers always send it, and the server must check it" }
        return ""
    }

    func render(body: [UInt8], direction: Direction) -> [String] {
        let headline = "\(arrow(direction)) HTTP body · \(body.count) bytes"
        guard view != .quiet else {
            guard let text = String(validatingUTF8Bytes: body) else { return [headline] }
            let line = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            return [headline + " · " + fitted(Self.visible(line), after: "← \(client) HTTP body · \(body.count) bytes · ")]
        }
        var lines = [headline]
        if let text = String(validatingUTF8Bytes: body) {
            var bodyLines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if bodyLines.last == "" { bodyLines.removeLast() }
            lines += bodyLines.prefix(40).map { pad + Self.visible($0) }
            if bodyLines.count > 40 { lines.append(pad + style.dim("… \(bodyLines.count - 40) more lines")) }
        } else {
            lines += HexDump.lines(body, limit: view == .bytes ? nil : 64).map { pad + $0 }
        }
        return lines
    }

    /// Chunked-transfer framing: overhead, shown only when every byte is asked for.
    func render(chunkFraming bytes: [UInt8], direction: Direction) -> [String] {
        guard view == .bytes else { return [] }
        return ["\(arrow(direction)) " + style.dim("chunk framing \(Self.quote(String(decoding: bytes, as: UTF8.self), limit: 40)) · \(bytes.count) bytes")]
    }

    /// One thing an SSE parser made of the stream: a raw line and its meaning, or an event.
    func render(sseItem item: SSEParser.Item) -> [String] {
        switch item {
        case .byteOrderMark:
            return view == .quiet ? [] : [pad + style.dim("(a byte order mark, skipped)")]
        case .line(let raw, let ending, let meaning):
            guard view != .quiet else {
                if case .comment(let text) = meaning { return ["\(arrow(.down)) comment \(Self.quote(text, limit: 60))"] }
                return []
            }
            let endings: String
            switch ending {
            case .crlf: endings = "CR LF"
            case .lf: endings = "LF"
            case .cr: endings = "CR"
            }
            return ["\(arrow(.down)) │ " + Self.quote(raw, limit: 60).padding(30) + style.dim("\(endings) · " + Self.describe(meaning))]
        case .event(let event):
            let type = Self.visible(event.type)
            let id = event.lastEventID.isEmpty ? "" : " · id \(Self.visible(event.lastEventID))"
            return ["\(arrow(.down)) SSE event \(type)\(id) · " + fitted(Self.visible(event.data), after: "← \(client) SSE event \(type)\(id) · ")]
        case .retry(let milliseconds):
            return view == .quiet ? [] : ["\(arrow(.down)) │ " + style.dim("(after a drop, the client will wait \(milliseconds) ms before reconnecting)")]
        case .discarded(let discarded):
            return discarded.dataBuffer.isEmpty && discarded.unterminatedLine == nil
                ? [] : [pad + style.yellow("(the stream ended inside an event: the unfinished event is discarded, as the spec says)")]
        }
    }

    static func describe(_ meaning: SSEParser.LineMeaning) -> String {
        switch meaning {
        case .dispatch: return "empty line: dispatch the event"
        case .dispatchNothing: return "empty line, no data: nothing to dispatch"
        case .comment: return "comment: ignored (keeps the connection busy)"
        case .field(let field): return "field \(field.name) = \(quote(field.value, limit: 40))"
        case .ignoredField(let name, _): return "unknown field \(visible(name)): ignored"
        case .invalidRetry(let value): return "retry \(quote(value, limit: 20)) is not all digits: ignored"
        case .idWithNull: return "id containing NUL: ignored"
        }
    }

    /// The Sec-WebSocket-Accept computation, step by step.
    func render(acceptCheck check: AcceptCheck) -> [String] {
        guard view != .quiet else {
            return [pad + "Sec-WebSocket-Accept " + (check.matches ? style.green("✓ matches the key") : style.red("✗ does not match the key"))]
        }
        var lines = [
            pad + "Sec-WebSocket-Accept check (RFC 6455 §4.2.2):",
            pad + "  key          " + Self.visible(check.key),
            pad + "  + GUID       " + Handshake.guid + style.dim("   (fixed by the RFC)"),
            pad + "  SHA-1        " + HexDump.compact(check.digest),
            pad + "  base64       " + check.expected,
        ]
        switch check.received {
        case .some(let received) where check.matches:
            lines.append(pad + "  server sent  " + Self.visible(received) + "  " + style.green("✓ match: the server really read this handshake"))
        case .some(let received):
            lines.append(pad + "  server sent  " + Self.visible(received) + "  " + style.red("✗ mismatch: a correct client must refuse this upgrade"))
        case .none:
            lines.append(pad + "  server sent  (no Sec-WebSocket-Accept header)")
        }
        return lines
    }

    // MARK: Frames

    func render(frame: Frame, direction: Direction, violations: [ProtocolViolation]) -> [String] {
        let headline = "\(arrow(direction)) \(frame.opcode.name) frame" + (frame.fin ? "" : " (fragment)")
        if view == .quiet {
            return [compactLine(frame, direction: direction)] + violations.map(warning)
        }
        var lines = [
            headline + " · \(frame.wireSize) bytes on the wire: \(frame.header.count) header + \(frame.wirePayload.count) payload"
        ]
        let header = frame.header
        lines.append(row([header[0]], bits: true, explain: byte0(frame)))
        lines.append(row([header[1]], bits: true, explain: byte1(frame)))
        var offset = 2
        if frame.lengthForm != .sevenBit {
            let count = frame.lengthForm.extendedLengthByteCount
            lines.append(row(Array(header[offset..<offset + count]), explain: "extended length: \(frame.payloadLength) (\(frame.lengthForm.name) form)"))
            offset += count
        }
        if let key = frame.maskingKey {
            lines.append(row(key, explain: "masking key"))
            if !frame.wirePayload.isEmpty {
                lines.append(row(Array(frame.wirePayload.prefix(8)), more: frame.wirePayload.count > 8, explain: "payload as sent (masked)"))
            }
        }
        lines += payloadLines(frame)
        if frame.isMasked && !frame.wirePayload.isEmpty && frame.compression == nil {
            lines[lines.count - 1] += style.dim("  ← unmasked: byte i XOR key[i mod 4]")
        }
        lines += violations.map(warning)
        lines += wireDump(frame.wireBytes)
        return lines
    }

    func render(reassembled opcode: Opcode, payload: [UInt8], fragments: Int, direction: Direction) -> [String] {
        let text = opcode == .text ? String(validatingUTF8Bytes: payload).map { Self.quote($0, limit: 64) } : nil
        return ["\(arrow(direction)) \(opcode.name) message reassembled from \(fragments) frames · \(payload.count) bytes: " + (text ?? HexDump.compact(payload.prefix(16)))]
    }

    func render(undecodable reason: String, bytes: [UInt8], direction: Direction) -> [String] {
        ["\(arrow(direction)) " + style.red("\(bytes.count) bytes that are not a valid message: \(Self.visible(reason))")]
            + HexDump.lines(bytes, limit: 64).map { pad + $0 }
    }

    private func byte0(_ frame: Frame) -> String {
        let fin = frame.fin ? "FIN=1 final frame" : "FIN=0 more fragments follow"
        var rsv = "RSV1-3=\(frame.rsv1 ? 1 : 0)\(frame.rsv2 ? 1 : 0)\(frame.rsv3 ? 1 : 0)"
        if frame.rsv1, frame.compression != nil, frame.opcode != .continuation { rsv += " per-message compressed" }
        return "\(fin) · \(rsv) · opcode \(frame.opcode.hex) \(frame.opcode.name)"
    }

    private func byte1(_ frame: Frame) -> String {
        let mask = frame.isMasked ? "MASK=1 (clients mask)" : "MASK=0 (servers never mask)"
        let length: String
        switch frame.lengthForm {
        case .sevenBit: length = "length \(frame.payloadLength) (7-bit form)"
        case .sixteenBit: length = "length 126: a 16-bit length follows"
        case .sixtyFourBit: length = "length 127: a 64-bit length follows"
        }
        return "\(mask) · \(length)"
    }

    private func payloadLines(_ frame: Frame) -> [String] {
        let payload = frame.payload
        if let close = frame.closeBody {
            var lines = [
                row(Array(payload.prefix(2)), explain: "close code \(close.code.code) \(close.code.name)"),
                pad + style.dim("  ↳ " + close.code.meaning),
            ]
            let reason = String(validatingUTF8Bytes: close.reason).map { $0.isEmpty ? "(none)" : Self.quote($0, limit: 64) } ?? HexDump.compact(close.reason)
            lines.append(pad + "reason".padding(byteColumn) + reason)
            return lines
        }
        if frame.opcode == .close {
            return [pad + "(empty close payload: no status code, the receiver reports 1005)"]
        }
        if let compression = frame.compression { return compressedLines(frame, compression) }
        if payload.isEmpty { return [pad + "(no payload)"] }
        return [pad + "payload".padding(byteColumn) + describe(payload, as: frame.opcode)]
    }

    /// A frame of a permessage-deflate message: the compressed bytes, and on the message's last
    /// frame what they inflate to and what compression saved (or cost).
    private func compressedLines(_ frame: Frame, _ compression: Frame.Compression) -> [String] {
        let payload = frame.payload
        var lines = [
            pad + "compressed".padding(byteColumn) + HexDump.compact(payload.prefix(16))
                + (payload.count > 16 ? style.dim(" … (\(payload.count) bytes)") : "") + (payload.isEmpty ? "(no bytes)" : "")
                + (frame.isMasked && !payload.isEmpty ? style.dim("  ← unmasked: byte i XOR key[i mod 4]") : "")
        ]
        guard frame.fin else {
            lines.append(pad + style.dim("  ↳ DEFLATE data, inflated once the message's last frame is in"))
            return lines
        }
        guard let inflated = compression.inflated else {
            lines.append(pad + style.dim("  ↳ DEFLATE data (not inflated here)"))
            return lines
        }
        lines.append(pad + "inflated".padding(byteColumn) + (inflated.isEmpty ? "(empty)" : describe(inflated, as: frame.opcode == .continuation ? .text : frame.opcode)))
        lines.append(pad + style.dim("  ↳ " + Self.ratio(compressed: compression.compressedBytes, inflated: inflated.count, contextTakenOver: compression.contextTakenOver)))
        return lines
    }

    /// "41 bytes carry 120 (34 %): 79 saved" — measured from this message's bytes.
    static func ratio(compressed: Int, inflated: Int, contextTakenOver: Bool) -> String {
        let percent = inflated == 0 ? 100 : Int((Double(compressed) * 100 / Double(inflated)).rounded())
        let verdict = compressed <= inflated ? "\(inflated - compressed) bytes saved" : "\(compressed - inflated) bytes more than sending it plain"
        let window = contextTakenOver ? "window kept from earlier messages" : "fresh window"
        return "\(compressed) compressed bytes carry \(inflated) (\(percent) %): \(verdict) · \(window)"
    }

    private func describe(_ payload: [UInt8], as opcode: Opcode) -> String {
        if opcode != .binary, let text = String(validatingUTF8Bytes: payload), text.allSatisfy({ !$0.isControlish }) {
            return Self.quote(text, limit: 72) + (text.count > 72 ? style.dim(" (\(payload.count) bytes)") : "")
        }
        return HexDump.compact(payload.prefix(24)) + (payload.count > 24 ? style.dim(" … (\(payload.count) bytes)") : "")
    }

    /// One line per frame: direction, client, kind (a JSON message's "type" when it has one),
    /// size on the wire, and the payload.
    func compactLine(_ frame: Frame, direction: Direction) -> String {
        var kind = frame.opcode.name + (frame.fin ? "" : " fragment")
        var summary = quietSummary(frame)
        if frame.opcode == .text, let text = String(validatingUTF8Bytes: frame.messageData), let json = try? JSON(parsing: text), json.isObject {
            if let type = json["type"]?.stringValue { kind = Self.visible(type) }
            summary = Self.visible(text)
        }
        var size = "\(frame.wireSize) B"
        if let compression = frame.compression, let inflated = compression.inflated {
            size += " (message: \(compression.compressedBytes) B deflated from \(inflated.count))"
        }
        return "\(arrow(direction)) \(kind) · \(size) · " + fitted(summary, after: "→ \(client) \(kind) · \(size) · ")
    }

    /// `text`, cut with "…" so that it fits on the line after `head` (one line per message).
    func fitted(_ text: String, after head: String) -> String {
        text.fitted(toCells: max(24, columns - head.cells - 1))
    }

    private func quietSummary(_ frame: Frame) -> String {
        if let close = frame.closeBody {
            let reason = String(validatingUTF8Bytes: close.reason) ?? ""
            return "\(close.code.code) \(close.code.name)" + (reason.isEmpty ? "" : " \(Self.quote(reason, limit: 40))")
        }
        if frame.compression != nil, frame.compression?.inflated == nil { return "(compressed fragment)" }
        return frame.messageData.isEmpty ? "(empty)" : describe(frame.messageData, as: frame.opcode)
    }

    private func wireDump(_ bytes: [UInt8]) -> [String] {
        if view == .frames && bytes.count <= 24 {
            return [pad + "bytes".padding(byteColumn) + style.dim(HexDump.compact(bytes))]
        }
        return [pad + "bytes:"] + HexDump.lines(bytes, limit: view == .bytes ? nil : 32).map { pad + "  " + style.dim($0) }
    }

    private func row(_ bytes: [UInt8], bits: Bool = false, more: Bool = false, explain: String) -> String {
        var left = HexDump.compact(bytes) + (more ? " …" : "")
        if bits, let byte = bytes.first { left = left.padding(4) + HexDump.bits(byte) }
        return pad + left.padding(byteColumn) + explain
    }

    private func warning(_ violation: ProtocolViolation) -> String {
        pad + style.red("⚠ protocol violation: \(violation.description) (a strict peer closes with \(violation.closeCode.code))")
    }

    /// A string in double quotes with control characters escaped, cut to `limit` characters.
    static func quote(_ text: String, limit: Int) -> String {
        let cut = text.count > limit ? String(text.prefix(limit)) + "…" : text
        return "\"" + visible(cut) + "\""
    }

    /// Control characters written as escapes, so they can neither hide nor move the cursor.
    static func visible(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value):
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension Character {
    var isControlish: Bool { unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" } }
}
