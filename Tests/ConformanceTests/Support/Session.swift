import NIOConcurrencyHelpers
import Testing
import WireClient
import WireProtocol

/// What the server sent, as the suite judges it.
enum ServerEvent: Equatable, CustomStringConvertible {
    /// A whole text or binary message, its fragments joined.
    case message(Opcode, [UInt8])
    case ping([UInt8])
    case pong([UInt8])
    /// A close frame: its code (nil when it had none) and reason.
    case close(UInt16?, String)
    /// The server ended the TCP connection.
    case end

    var description: String {
        switch self {
        case .message(let opcode, let payload): "\(opcode.name) message of \(payload.count) bytes \(preview(payload))"
        case .ping(let payload): "ping \(preview(payload))"
        case .pong(let payload): "pong \(preview(payload))"
        case .close(let code, let reason): "close \(code.map(String.init) ?? "(no code)") \"\(reason)\""
        case .end: "end of the TCP connection"
        }
    }
}

private func preview(_ payload: [UInt8]) -> String {
    let text = String(decoding: payload.prefix(60), as: UTF8.self)
    return "\"" + text + (payload.count > 60 ? "…" : "") + "\""
}

/// A message the suite sent, to recognise its answer by.
struct SentMessage: Sendable {
    let opcode: Opcode
    let payload: [UInt8]

    static func text(_ bytes: [UInt8]) -> SentMessage { SentMessage(opcode: .text, payload: bytes) }
    static func text(_ text: String) -> SentMessage { SentMessage(opcode: .text, payload: Array(text.utf8)) }
    static func binary(_ bytes: [UInt8]) -> SentMessage { SentMessage(opcode: .binary, payload: bytes) }
}

/// Something the server did not do, with what it did instead.
struct ConformanceFailure: Error, CustomStringConvertible {
    let description: String
}

/// One WebSocket connection to a target, opened with a real handshake over a ``RawSocket``. The
/// suite writes hand-built frames and reads the server's bytes through WireProtocol's
/// `FrameStream`, which also checks every server frame against the RFC.
final class Session {
    let target: Target
    let lab: RunningLab
    /// Unique in this test run: names clients, rooms and users.
    let name: String
    private let socket: RawSocket
    private var frames = FrameStream(sender: .server)
    private var events: [ServerEvent] = []
    private var ended = false
    /// How the connection failed, when it did not end with a plain FIN.
    private(set) var endedBecause: String?
    private var maskingKeys: SeededGenerator
    /// What the 101 agreed for permessage-deflate (nil: nothing).
    private(set) var deflate: DeflateParameters?
    /// The server's frames that carried RSV1 (compressed messages).
    private(set) var compressedFramesReceived = 0
    /// The 101's head.
    private(set) var upgradeResponse: HTTPHead?

    private init(target: Target, lab: RunningLab, name: String, socket: RawSocket, seed: UInt64) {
        self.target = target
        self.lab = lab
        self.name = name
        self.socket = socket
        self.maskingKeys = SeededGenerator(seed: seed)
    }

    /// Connects, upgrades (checking the 101 and its `Sec-WebSocket-Accept`), and does what the
    /// target needs before it takes messages. `withRequest` goes out in the same TCP write as
    /// the upgrade request, before any answer (and then the target's preparation is skipped).
    static func open(_ target: Target, on lab: RunningLab, withRequest early: [UInt8]? = nil, extensions: String? = nil) async throws -> Session {
        let number = SessionNumbers.next()
        let path = try await target.path(for: "conf\(number)", on: lab)
        let socket = try await RawSocket.connect(port: lab.port, slots: lab.kind == .large ? ConnectionSlots.capacity : 1)
        do {
            return try await upgrade(socket, target: target, on: lab, path: path, number: number, early: early, extensions: extensions)
        } catch {
            socket.close()  // gives back its slot
            throw error
        }
    }

    private static func upgrade(
        _ socket: RawSocket, target: Target, on lab: RunningLab, path: String, number: Int, early: [UInt8]?, extensions: String?
    ) async throws -> Session {
        var generator = SeededGenerator(seed: UInt64(number))
        let key = Handshake.makeKey(using: &generator)
        try await socket.write(Array(RawHTTP.upgradeRequest(path: path, key: key, port: lab.port, extensions: extensions).utf8) + (early ?? []))
        let (head, rest) = try await RawHTTP.readHead(from: socket)
        guard head.status == 101 else {
            throw ConformanceFailure(description: "\(path): the upgrade was answered \(head.lines.first ?? "?"), not 101")
        }
        guard AcceptCheck(key: key, received: head.field("Sec-WebSocket-Accept")).matches else {
            throw ConformanceFailure(description: "\(path): wrong Sec-WebSocket-Accept \(head.field("Sec-WebSocket-Accept") ?? "(none)")")
        }
        let session = Session(target: target, lab: lab, name: "conf\(number)", socket: socket, seed: UInt64(number) << 32)
        session.upgradeResponse = head
        if let agreed = DeflateParameters.accepted(headerValues: head.values(of: "Sec-WebSocket-Extensions")) {
            session.deflate = agreed
            session.frames = FrameStream(
                sender: .server, deflate: agreed, inflater: try ZlibMessageInflater(windowBits: agreed.windowBits(of: .server))
            )
        }
        session.take(rest)
        if early == nil { try await target.prepare(session) }
        return session
    }

    func close() {
        socket.close()
    }

    // MARK: Sending

    /// Writes the frames in one TCP write, each masked with a fresh key.
    func send(_ frames: ClientFrame...) async throws {
        try await send(frames)
    }

    func send(_ frames: [ClientFrame]) async throws {
        try await socket.write(frames.map(masked).bytes)
    }

    /// Writes bytes exactly as given.
    func send(raw bytes: [UInt8]) async throws {
        try await socket.write(bytes)
    }

    /// Ends the suite's side of the TCP connection (FIN); the server's frames can still be read.
    func stopSending() async throws {
        try await socket.shutdownOutput()
    }

    private func masked(_ frame: ClientFrame) -> ClientFrame {
        guard frame.maskingKey != nil else { return frame }
        var frame = frame
        let key = maskingKeys.next()
        frame.maskingKey = (0..<4).map { UInt8(truncatingIfNeeded: key >> ($0 * 8)) }
        return frame
    }

    // MARK: Reading

    /// The next thing the server did; throws when it did nothing within `timeout`.
    func next(within timeout: Duration = .seconds(10)) async throws -> ServerEvent {
        let deadline = ContinuousClock.now + timeout
        while events.isEmpty {
            if ended { return .end }
            switch await socket.read(before: deadline) {
            case .bytes(let bytes): take(bytes)
            case .end(let why):
                ended = true
                endedBecause = why
            case .timedOut: throw ConformanceFailure(description: "\(target): nothing from the server within \(timeout)")
            }
        }
        return events.removeFirst()
    }

    private func take(_ bytes: [UInt8]) {
        for item in frames.append(bytes) {
            switch item {
            case .frame(let frame, let violations):
                for violation in violations {
                    Issue.record("\(target): the server's \(frame.opcode.name) frame breaks a rule: \(violation)")
                }
                if frame.rsv1 { compressedFramesReceived += 1 }
                switch frame.opcode {
                case .text where frame.fin, .binary where frame.fin: events.append(.message(frame.opcode, frame.messageData))
                case .ping: events.append(.ping(frame.payload))
                case .pong: events.append(.pong(frame.payload))
                case .close:
                    let body = frame.closeBody
                    events.append(.close(body?.code.code, body.map { String(decoding: $0.reason, as: UTF8.self) } ?? ""))
                default: break  // fragments: their message comes as `.reassembled`
                }
            case .reassembled(let opcode, let payload, _):
                events.append(.message(opcode, payload))
            case .unreadable(let violation, _):
                Issue.record("\(target): the server's bytes cannot be read as frames: \(violation)")
                ended = true
            }
        }
    }

    // MARK: Expectations

    /// The target's answer to `message`, skipping whatever else the endpoint pushes meanwhile
    /// (dashboards, other clients' chat). Fails on a close or the end of the connection.
    func expectAnswer(to message: SentMessage, within timeout: Duration = .seconds(10)) async throws {
        var skipped: [ServerEvent] = []
        while true {
            let event = try await next(within: timeout)
            switch event {
            case .message(let opcode, let payload) where target.isAnswer(opcode, payload, to: message, in: self):
                return
            case .close, .end:
                throw ConformanceFailure(description: "\(target): \(event) instead of an answer to a \(message.payload.count)-byte \(message.opcode.name) message")
            default:
                skipped.append(event)
                if skipped.count > 10_000 { throw ConformanceFailure(description: "\(target): no answer among \(skipped.count) messages") }
            }
        }
    }

    /// The pong for `payload`, skipping messages (and pongs to earlier pings).
    func expectPong(_ payload: [UInt8], within timeout: Duration = .seconds(10)) async throws {
        while true {
            let event = try await next(within: timeout)
            switch event {
            case .pong(payload): return
            case .close, .end: throw ConformanceFailure(description: "\(target): \(event) instead of a pong \(preview(payload))")
            default: continue
            }
        }
    }

    /// The connection is still open and read: a ping with a payload of its own gets its pong.
    func expectOpen() async throws {
        let payload = Array("still there? \(SessionNumbers.next())".utf8)
        try await send(.ping(payload))
        try await expectPong(payload)
    }

    /// What came with a close: its reason, and what the server sent before it.
    struct Closing {
        let reason: String
        let before: [ServerEvent]

        var pongs: [[UInt8]] { before.compactMap { if case .pong(let payload) = $0 { payload } else { nil } } }
    }

    /// The server closes with `code`, strictly: a close frame with that code (after any answers
    /// and pongs still due), nothing after it, and then the end of the TCP connection from the
    /// server's side. `answering`: the suite sends its own close in reply (not when it closed
    /// first, or has stopped sending).
    @discardableResult
    func expectClose(_ code: UInt16, answering: Bool = true, within timeout: Duration = .seconds(10)) async throws -> Closing {
        var before: [ServerEvent] = []
        var reason = ""
        closing: while true {
            let event = try await next(within: timeout)
            switch event {
            case .close(let received, let text):
                guard received == code else {
                    throw ConformanceFailure(description: "\(target): closed with \(received.map(String.init) ?? "no code") \"\(text)\", expected \(code)")
                }
                reason = text
                break closing
            case .end:
                throw ConformanceFailure(description: "\(target): the connection ended without a close frame (expected \(code))\(endedBecause.map { ": " + $0 } ?? "")")
            case .message, .ping, .pong:
                before.append(event)  // answers and pongs for what came before the cause
            }
        }
        if answering {
            // The client's half of the closing handshake; the server may already have stopped reading.
            try? await send(.close(code: code))
        }
        let after = try await next(within: .seconds(5))
        guard after == .end else { throw ConformanceFailure(description: "\(target): \(after) after the close frame") }
        if let endedBecause { throw ConformanceFailure(description: "\(target): after the close frame the connection failed: \(endedBecause)") }
        return Closing(reason: reason, before: before)
    }

    /// Sends a close and checks the answer: a close frame with `code`, then the end of TCP.
    func closeAndExpect(_ frame: ClientFrame, answer code: UInt16) async throws {
        try await send(frame)
        try await expectClose(code, answering: false)
    }
}

/// Numbers for sessions and pings, unique in the test process.
enum SessionNumbers {
    private static let counter = NIOLockedValueBox(0)

    static func next() -> Int {
        counter.withLockedValue { value in
            value += 1
            return value
        }
    }
}

/// Opens `target` on the lab of `kind`, runs `body` with the session, then closes the socket.
func withSession(_ target: Target, on kind: LabKind = .standard, _ body: (Session) async throws -> Void) async throws {
    let lab = try await Labs.shared.lab(kind)
    let session = try await Session.open(target, on: lab)
    defer { session.close() }
    try await body(session)
}
