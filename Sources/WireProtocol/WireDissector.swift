/// Which way bytes travelled, seen from the client that tapped them.
public enum Direction: Sendable, Equatable {
    /// Client to server ("up"): requests and masked frames.
    case up
    /// Server to client ("down"): responses and unmasked frames.
    case down

    public var sender: Role { self == .up ? .client : .server }
}

/// Something recognisable on the wire.
public enum WireEvent: Sendable, Equatable {
    case httpHead(Direction, HTTPHead)
    /// Body bytes of an HTTP message (as many as arrived; a body may come in several pieces).
    /// For a chunked body, only the data: the framing comes as ``chunkFraming(_:_:)``.
    case httpBody(Direction, [UInt8])
    /// The framing of a chunked body: size lines, the CR LF after each chunk, the last chunk and
    /// trailers. Overhead, counted apart from the body.
    case chunkFraming(Direction, [UInt8])
    case frame(Direction, Frame, violations: [ProtocolViolation])
    case reassembled(Direction, opcode: Opcode, payload: [UInt8], fragments: Int)
    /// Bytes that fit no grammar; the reason says why.
    case undecodable(Direction, reason: String, bytes: [UInt8])
}

/// Turns the two byte streams of one connection into ``WireEvent``s: HTTP heads and bodies until a
/// `101 Switching Protocols`, WebSocket frames after it.
public struct WireDissector: Sendable {
    private enum Phase: Sendable {
        case head([UInt8])
        /// Body bytes still expected; nil means "until the connection closes".
        case body(remaining: Int?)
        /// A chunked body (RFC 9112 §7.1).
        case chunked(ChunkState)
        case frames(FrameStream)
        case broken
    }

    enum ChunkState: Sendable {
        /// Reading a chunk-size line (hex digits, maybe extensions) up to its CR LF.
        case sizeLine([UInt8])
        case data(remaining: Int)
        /// The CR LF that ends a chunk's data.
        case dataEnd([UInt8])
        /// After the last (zero-size) chunk: trailer lines up to an empty line.
        case trailers([UInt8])
    }

    private var up: Phase = .head([])
    private var down: Phase = .head([])
    /// Makes the inflaters for compressed messages; without one, they are shown compressed only.
    private let inflaters: InflaterMaker?
    /// What the 101 agreed for permessage-deflate (nil: not negotiated, or no 101 yet).
    public private(set) var deflate: DeflateParameters?

    public init(inflaters: InflaterMaker? = nil) {
        self.inflaters = inflaters
    }

    public mutating func feed(_ direction: Direction, _ bytes: [UInt8]) -> [WireEvent] {
        var phase = self[direction]
        var events: [WireEvent] = []
        var input = bytes[...]
        while !input.isEmpty {
            switch phase {
            case .broken:
                events.append(.undecodable(direction, reason: "after an unreadable stream", bytes: Array(input)))
                input = []
            case .frames(var stream):
                for item in stream.append(input) {
                    switch item {
                    case .frame(let frame, let violations): events.append(.frame(direction, frame, violations: violations))
                    case .reassembled(let opcode, let payload, let fragments):
                        events.append(.reassembled(direction, opcode: opcode, payload: payload, fragments: fragments))
                    case .unreadable(let violation, let remaining):
                        events.append(.undecodable(direction, reason: violation.description, bytes: remaining))
                        phase = .broken
                    }
                }
                if case .frames = phase { phase = .frames(stream) }
                input = []
            case .chunked(let chunkState):
                let (outcome, rest, found) = Self.readChunked(chunkState, input, direction)
                events += found
                switch outcome {
                case .reading(let state): phase = .chunked(state)
                case .ended: phase = .head([])
                case .broken: phase = .broken
                }
                input = rest
            case .body(let remaining):
                let take = min(remaining ?? input.count, input.count)
                events.append(.httpBody(direction, Array(input.prefix(take))))
                input = input.dropFirst(take)
                if let remaining {
                    phase = remaining - take == 0 ? .head([]) : .body(remaining: remaining - take)
                }
            case .head(let pending):
                let buffered = pending + input
                switch HTTPHead.parse(buffered) {
                case .needMoreBytes:
                    phase = .head(buffered)
                    input = []
                case .malformed(let reason):
                    events.append(.undecodable(direction, reason: reason, bytes: buffered))
                    phase = .broken
                    input = []
                case .head(let head, let consumed):
                    events.append(.httpHead(direction, head))
                    input = buffered[consumed...]
                    if head.status == 101 {
                        // Both directions speak WebSocket from here on. Bytes the other side sent
                        // early (a client that did not wait for the 101) are frames too.
                        deflate = DeflateParameters.accepted(headerValues: head.values(of: "Sec-WebSocket-Extensions"))
                        phase = .frames(frameStream(sentBy: direction.sender))
                        let otherDirection: Direction = direction == .up ? .down : .up
                        if case .head(let early) = self[otherDirection] {
                            self[otherDirection] = .frames(frameStream(sentBy: otherDirection.sender))
                            events += feed(otherDirection, early)
                        }
                    } else {
                        phase = Self.phaseAfter(head)
                    }
                }
            }
        }
        self[direction] = phase
        return events
    }

    /// The frames of one side, inflating its compressed messages when permessage-deflate was agreed.
    private func frameStream(sentBy sender: Role) -> FrameStream {
        guard let deflate else { return FrameStream(sender: sender) }
        return FrameStream(sender: sender, deflate: deflate, inflater: try? inflaters?(deflate.windowBits(of: sender)))
    }

    /// What follows a head other than a 101: a body of known length, a body that runs until the
    /// connection closes (a response with neither length nor chunking), or the next head.
    private static func phaseAfter(_ head: HTTPHead) -> Phase {
        if head.isChunked { return .chunked(.sizeLine([])) }
        if let length = head.contentLength {
            return length > 0 ? .body(remaining: length) : .head([])
        }
        let status = head.status ?? 0
        return status >= 200 && status != 204 && status != 304 ? .body(remaining: nil) : .head([])
    }

    private enum ChunkOutcome {
        case reading(ChunkState)
        case ended
        /// The framing is wrong: nothing after it can be trusted to be a message boundary.
        case broken
    }

    /// Consumes chunked-body bytes until the input ends or the body does.
    private static func readChunked(
        _ start: ChunkState, _ input: ArraySlice<UInt8>, _ direction: Direction
    ) -> (ChunkOutcome, ArraySlice<UInt8>, [WireEvent]) {
        var state = start
        var input = input
        var events: [WireEvent] = []
        func broken(_ reason: String, _ bytes: [UInt8]) -> (ChunkOutcome, ArraySlice<UInt8>, [WireEvent]) {
            events.append(.undecodable(direction, reason: reason, bytes: bytes))
            return (.broken, input, events)  // the broken phase reports the rest
        }
        while !input.isEmpty {
            switch state {
            case .sizeLine(var line):
                line.append(input.removeFirst())
                guard line.suffix(2) == [13, 10] else {
                    if line.count > 1024 { return broken("a chunk-size line longer than 1024 bytes", line) }
                    state = .sizeLine(line)
                    continue
                }
                // The size in hex, then optional whitespace and `;extensions` (RFC 9112 §7.1.1).
                var digits = line.dropLast(2).prefix { $0 != UInt8(ascii: ";") }
                while let last = digits.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { digits = digits.dropLast() }
                guard !digits.isEmpty, digits.allSatisfy({ $0.isHexDigit }),
                    let size = Int(String(decoding: digits, as: UTF8.self), radix: 16)
                else { return broken("not a chunk size", line) }
                events.append(.chunkFraming(direction, line))
                state = size == 0 ? .trailers([]) : .data(remaining: size)
            case .data(let remaining):
                let take = min(remaining, input.count)
                events.append(.httpBody(direction, Array(input.prefix(take))))
                input = input.dropFirst(take)
                state = remaining == take ? .dataEnd([]) : .data(remaining: remaining - take)
            case .dataEnd(var pending):
                pending.append(input.removeFirst())
                guard pending == Array([13, 10].prefix(pending.count)) else {
                    return broken("chunk data longer than its size: CR LF expected after it", pending)
                }
                guard pending.count == 2 else {
                    state = .dataEnd(pending)
                    continue
                }
                events.append(.chunkFraming(direction, pending))
                state = .sizeLine([])
            case .trailers(var pending):
                pending.append(input.removeFirst())
                // No trailers: just CR LF. With trailers: they end with an empty line.
                if pending == [13, 10] || pending.suffix(4) == [13, 10, 13, 10] {
                    events.append(.chunkFraming(direction, pending))
                    return (.ended, input, events)
                }
                if pending.count > HTTPHead.maximumSize { return broken("trailers without an end", pending) }
                state = .trailers(pending)
            }
        }
        return (.reading(state), input, events)
    }

    private subscript(direction: Direction) -> Phase {
        get { direction == .up ? up : down }
        set { if direction == .up { up = newValue } else { down = newValue } }
    }
}

extension UInt8 {
    var isHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
    }
}
