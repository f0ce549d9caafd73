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
    case httpBody(Direction, [UInt8])
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
        case frames(FrameStream)
        case broken
    }

    private var up: Phase = .head([])
    private var down: Phase = .head([])

    public init() {}

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
                        phase = .frames(FrameStream(sender: direction.sender))
                        let otherDirection: Direction = direction == .up ? .down : .up
                        if case .head(let early) = self[otherDirection] {
                            self[otherDirection] = .frames(FrameStream(sender: otherDirection.sender))
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

    /// What follows a head other than a 101: a body of known length, a body that runs until the
    /// connection closes (a response with neither length nor chunking), or the next head.
    private static func phaseAfter(_ head: HTTPHead) -> Phase {
        if let length = head.contentLength {
            return length > 0 ? .body(remaining: length) : .head([])
        }
        let status = head.status ?? 0
        return status >= 200 && status != 204 && status != 304 ? .body(remaining: nil) : .head([])
    }

    private subscript(direction: Direction) -> Phase {
        get { direction == .up ? up : down }
        set { if direction == .up { up = newValue } else { down = newValue } }
    }
}
