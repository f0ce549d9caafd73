import Testing
import WireProtocol

/// Every WebSocket route of the lab, with what it takes to open one and how it answers.
///
/// Frame-level rules are the same on every route (they are the server's, not the endpoint's),
/// and the suite checks them on every route: an endpoint that reads its messages differently
/// (JSON, a first auth message, a pusher beside the reader) must not change them.
enum Target: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case echo, client, chat, room, liveChat, notifications, dashboard, predict, jobs, tokenInQuery, tokenInFirstMessage

    /// The route's pattern as the lab registers it.
    var route: String {
        switch self {
        case .echo: "/ws/echo"
        case .client: "/ws/{client_id}"
        case .chat: "/ws/chat/{client_id}"
        case .room: "/ws/room/{room_id}/{client_id}"
        case .liveChat: "/ws/chat"
        case .notifications: "/ws/notifications"
        case .dashboard: "/ws/dashboard"
        case .predict: "/ws/predict"
        case .jobs: "/ws/jobs/{id}"
        case .tokenInQuery: "/ws"
        case .tokenInFirstMessage: "/ws/secure"
        }
    }

    var testDescription: String { route }

    /// The path to open for a session called `name`, after any setup it needs over HTTP (done
    /// here, before the session's own connection takes a ``ConnectionSlots`` slot).
    func path(for name: String, on lab: RunningLab) async throws -> String {
        switch self {
        case .echo, .dashboard, .predict: return route
        case .tokenInFirstMessage:
            _ = try await Labs.shared.token(on: lab)  // for `prepare`
            return route
        case .client: return "/ws/\(name)"
        case .chat: return "/ws/chat/\(name)"
        case .room: return "/ws/room/\(name)/\(name)"  // a room of its own: no one else's messages
        case .liveChat: return "/ws/chat?username=\(name)"
        case .notifications: return "/ws/notifications?token=\(try await Labs.shared.token(on: lab))"
        case .tokenInQuery: return "/ws?token=\(try await Labs.shared.token(on: lab))"
        case .jobs: return "/ws/jobs/\(try await Labs.shared.runningJob(on: lab))"
        }
    }

    /// What happens after the 101 and before the cases: `/ws/secure` wants its auth message.
    func prepare(_ session: Session) async throws {
        guard self == .tokenInFirstMessage else { return }
        let token = try await Labs.shared.token(on: session.lab)
        try await session.send(.text(#"{"type":"auth","token":"\#(token)"}"#))
        while true {
            switch try await session.next() {
            case .message(.text, let payload) where reply(payload)?["type"]?.stringValue == "auth_ok": return
            case .message: continue
            case let other: throw ConformanceFailure(description: "\(route): \(other) instead of auth_ok")
            }
        }
    }

    /// Whether the endpoint answers each message it reads (the training job's socket reads and
    /// says nothing; the suite then checks it is still open with a ping).
    var answersMessages: Bool { self != .jobs }

    /// Whether answers are written by the task that reads, so that they go out before anything
    /// the server does about a later frame. Broadcasts, notifications and predictions go through
    /// a queue or a task of their own, and a close may overtake them, as the RFC allows.
    var answersInTurn: Bool {
        switch self {
        case .echo, .client, .dashboard, .tokenInQuery, .tokenInFirstMessage: true
        case .chat, .room, .liveChat, .notifications, .predict, .jobs: false
        }
    }

    /// The JSON a request of this endpoint is wrapped in, around a string value; nil for
    /// endpoints that take plain text.
    private var jsonShape: (prefix: [UInt8], suffix: [UInt8])? {
        let shape: (String, String)? =
            switch self {
            case .client, .tokenInQuery, .tokenInFirstMessage: (#"{"pad":""#, #""}"#)
            case .chat, .room: (#"{"text":""#, #""}"#)
            case .liveChat: (#"{"type":"message","text":""#, #""}"#)
            case .predict: (#"{"features":[5.1,3.5,1.4,0.2],"request_id":7,"pad":""#, #""}"#)
            case .echo, .notifications, .dashboard, .jobs: nil
            }
        return shape.map { (Array($0.0.utf8), Array($0.1.utf8)) }
    }

    /// A text message of exactly `length` bytes that the endpoint takes as a real request when
    /// it is long enough (JSON of its shape, padded), and plain letters otherwise.
    func textMessage(length: Int) -> [UInt8] {
        guard let (prefix, suffix) = jsonShape, prefix.count + suffix.count <= length else { return letters(length) }
        return prefix + letters(length - prefix.count - suffix.count) + suffix
    }

    /// A text message that carries `bytes` as they are: inside the endpoint's JSON string, or
    /// alone. With invalid UTF-8 in `bytes`, the message is invalid wherever it is carried.
    func textMessage(carrying bytes: [UInt8]) -> [UInt8] {
        guard let (prefix, suffix) = jsonShape else { return bytes }
        return prefix + bytes + suffix
    }

    /// The bytes of `textMessage(carrying:)` that come before the carried ones.
    var carriedOffset: Int { jsonShape?.prefix.count ?? 0 }

    /// Whether `payload` is this endpoint's answer to `sent`.
    func isAnswer(_ opcode: Opcode, _ payload: [UInt8], to sent: SentMessage, in session: Session) -> Bool {
        if self == .echo {
            return sent.opcode == .binary ? (opcode == .binary && payload == sent.payload) : (opcode == .text && payload == Array("Echo: ".utf8) + sent.payload)
        }
        guard answersMessages, opcode == .text else { return false }
        if self == .notifications && sent.opcode == .text && sent.payload == Array("ping".utf8) { return payload == Array("pong".utf8) }
        guard let answer = reply(payload) else { return false }
        // A binary message, or text that is not JSON, gets the endpoint's error reply.
        guard sent.opcode == .text, let request = reply(sent.payload), request.isObject else {
            return answer["type"]?.stringValue == "error"
        }
        let me: String = [.tokenInQuery, .tokenInFirstMessage].contains(self) ? "alice" : session.name
        switch self {
        case .client, .tokenInQuery, .tokenInFirstMessage:
            return answer["from"]?.stringValue == me && answer["data"] == request
        case .chat, .room:
            guard let text = request["text"]?.stringValue else { return answer["type"]?.stringValue == "error" }
            return answer["type"]?.stringValue == "message" && answer["from"]?.stringValue == me && answer["text"]?.stringValue == text
        case .liveChat:
            guard let text = request["text"]?.stringValue else { return answer["type"]?.stringValue == "error" }
            let kept = String(String.UnicodeScalarView(text.unicodeScalars.prefix(500)))  // the guide's text[:500]
            return answer["type"]?.stringValue == "message" && answer["from"]?.stringValue == me && answer["text"]?.stringValue == kept
        case .predict:
            return answer["request_id"] == request["request_id"] && answer["prediction"] != nil
        case .notifications, .dashboard:
            return answer["type"]?.stringValue == "error"
        case .echo, .jobs:
            return false
        }
    }

    private func reply(_ payload: [UInt8]) -> JSON? {
        guard let text = String(validatingUTF8Bytes: payload) else { return nil }
        return try? JSON(parsing: text)
    }
}

/// `abc…xyzabc…`: plain ASCII, safe inside a JSON string, and not the same byte over and over,
/// so that a payload cut or shifted anywhere does not match.
func letters(_ count: Int) -> [UInt8] {
    var bytes = Array("abcdefghijklmnopqrstuvwxyz".utf8)
    while bytes.count < count { bytes += bytes }  // whole copies: quick even for 16 MiB
    return Array(bytes.prefix(count))
}

extension Session {
    /// Sends a message of `length` bytes and checks the target's answer (for a target that does
    /// not answer, that the connection is still open).
    func expectAccepted(_ message: SentMessage, as frames: [ClientFrame]) async throws {
        try await send(frames)
        if target.answersMessages { try await expectAnswer(to: message) }
        try await expectOpen()
    }

    func expectAccepted(text: [UInt8]) async throws {
        try await expectAccepted(.text(text), as: [.text(text)])
    }

    func expectAccepted(binary: [UInt8]) async throws {
        try await expectAccepted(.binary(binary), as: [.binary(binary)])
    }
}
