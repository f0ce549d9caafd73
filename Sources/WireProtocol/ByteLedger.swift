/// A running count of the bytes a connection moved, split by what they were for.
public struct ByteLedger: Sendable, Equatable {
    public struct Tally: Sendable, Equatable {
        /// HTTP start lines and header fields (for a WebSocket: the opening handshake).
        public var httpHeads = 0
        public var httpBodies = 0
        /// Chunked-transfer framing: size lines and CR LFs around the body's pieces.
        public var chunkFraming = 0
        /// WebSocket frame headers: 2-14 bytes per frame, masking key included.
        public var frameHeaders = 0
        public var framePayloads = 0
        /// Bytes that could not be classified.
        public var other = 0
        public var frames = 0

        public var total: Int { httpHeads + httpBodies + chunkFraming + frameHeaders + framePayloads + other }
        /// What carried the application's data.
        public var payload: Int { httpBodies + framePayloads }

        /// What moved between two readings of a ledger.
        public static func - (after: Tally, before: Tally) -> Tally {
            var delta = Tally()
            delta.httpHeads = after.httpHeads - before.httpHeads
            delta.httpBodies = after.httpBodies - before.httpBodies
            delta.chunkFraming = after.chunkFraming - before.chunkFraming
            delta.frameHeaders = after.frameHeaders - before.frameHeaders
            delta.framePayloads = after.framePayloads - before.framePayloads
            delta.other = after.other - before.other
            delta.frames = after.frames - before.frames
            return delta
        }
        public var overhead: Int { httpHeads + chunkFraming + frameHeaders }
    }

    public var up = Tally()
    public var down = Tally()

    public init() {}

    public var total: Int { up.total + down.total }

    public mutating func record(_ event: WireEvent) {
        switch event {
        case .httpHead(let direction, let head): self[direction].httpHeads += head.byteCount
        case .httpBody(let direction, let bytes): self[direction].httpBodies += bytes.count
        case .chunkFraming(let direction, let bytes): self[direction].chunkFraming += bytes.count
        case .frame(let direction, let frame, _):
            self[direction].frameHeaders += frame.header.count
            self[direction].framePayloads += frame.wirePayload.count
            self[direction].frames += 1
        case .reassembled: break  // its bytes were counted frame by frame
        case .undecodable(let direction, _, let bytes): self[direction].other += bytes.count
        }
    }

    public subscript(direction: Direction) -> Tally {
        get { direction == .up ? up : down }
        set { if direction == .up { up = newValue } else { down = newValue } }
    }
}
