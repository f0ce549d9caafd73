import WireProtocol

/// Something that happened in a REPL session, as a lesson's check sees it: what kind of thing
/// (an upgrade refused, a frame received, a connection closed, …) and its specifics (which
/// client, which status, which close code and who sent it, which message type and sender).
/// Checks look at what the wire did, not at what was typed.
public struct Observation: Sendable, Equatable, CustomStringConvertible {
    public var kind: Kind
    /// Named values: `client`, `status`, `code`, `type`, … (``Kind/parameters`` lists the ones a
    /// check may ask about). A received JSON message also carries its top-level fields.
    public var fields: [String: String]

    public init(_ kind: Kind, _ fields: [String: String?] = [:]) {
        self.kind = kind
        self.fields = fields.compactMapValues { $0 }
    }

    public subscript(_ name: String) -> String? { fields[name] }

    /// In the check language: `refused client=c2 path=/ws/nowhere status=404`, the fields a check
    /// may name, in the kind's order.
    public var description: String {
        let parts = kind.parameterNames.compactMap { name in fields[name].map { "\(name)=\(Check.quoted($0))" } }
        return ([kind.rawValue] + parts).joined(separator: " ")
    }

    public enum Kind: String, Sendable, CaseIterable, Hashable {
        case opened
        case refused
        case sent
        case received
        case closed
        case http
        case stream
        case event
        case resumed
        case reconnecting
        case reconnected
        case flushed
        case heartbeatDropped = "heartbeat-dropped"
        case watchShown = "watch-shown"
        case compared
        case compareRun = "compare-run"
        case proxyHeld = "proxy-held"
        case answered
        case tls

        /// What happened, in words, for `check` and for the lessons' README.
        public var explanation: String {
            switch self {
            case .opened: "a WebSocket handshake completes: the server answers 101"
            case .refused: "the server refuses a WebSocket upgrade: an HTTP status other than 101"
            case .sent: "a client sends a frame"
            case .received: "a client receives a frame (or a message in an event or a poll's answer)"
            case .closed: "a WebSocket connection ends"
            case .http: "an HTTP request made with http (or login) gets its response"
            case .stream: "an event stream's GET is answered"
            case .event: "an event stream delivers an event"
            case .resumed: "an event stream reconnects, sending Last-Event-ID"
            case .reconnecting: "a reconnecting client schedules its next attempt"
            case .reconnected: "a client reconnects after its connection ended"
            case .flushed: "a client sends the messages it queued while disconnected"
            case .heartbeatDropped: "a heartbeat goes unanswered and the client drops the connection as dead"
            case .watchShown: "a watch hands messages on to the UI"
            case .compared: "a message is compared over WebSocket and HTTP (send --compare)"
            case .compareRun: "a compare run finishes"
            case .proxyHeld: "a buffering proxy holds back part of a response (open sse … --buffering-proxy)"
            case .answered: "the step's exercise is answered correctly (answer …)"
            case .tls: "a client's TLS ClientHello goes out: what a network observer can read of a wss:// or https:// connection"
            }
        }

        /// The parameters a check of this kind may name, each with what it means. `count` (at
        /// least N such observations) goes with every kind.
        public var parameters: KeyValuePairs<String, String> {
            switch self {
            case .opened: ["client": "the client's name", "path": "the request path, query included", "key": "the Sec-WebSocket-Key sent"]
            case .refused: ["client": "the client's name", "path": "the request path", "status": "the HTTP status, e.g. 404"]
            case .sent, .received: [
                "client": "the client's name",
                "opcode": "text, binary, continuation, close, ping or pong",
                "fin": "1 for a final frame, 0 for a fragment that more follow",
                "length": "the payload's length in bytes (of the frame, or of a reassembled message)",
                "form": "how the length was written: 7, 16 or 64 (bits)",
                "type": "a JSON message's \"type\"",
                "from": "a chat message's \"from\"",
                "user": "a typing message's \"user\"",
                "text": "a JSON message's \"text\", else the text itself",
                "chars": "how many characters the \"text\" has",
                "online": "how many names the \"online\" list holds",
                "online_count": "the guide's chat count on user_joined",
                "client_id": "who joined or left, in the guide's chat",
                "request_id": "a prediction's request_id",
                "timestamp": "a message's \"timestamp\"",
                "code": "a close frame's status code",
                "fragments": "for a message sent in pieces: how many frames it took",
                "compressed": "1 for a data frame of a permessage-deflate message (RSV1 on its first frame), else 0",
            ]
            case .closed: [
                "client": "the client's name",
                "code": "the first close frame's code; 1005 if it had none, 1006 if no close frame came",
                "by": "who sent the first close frame: client or server (none if TCP ended without one)",
                "clean": "yes when close frames went both ways (the closing handshake), else no",
            ]
            case .http: ["client": "the client's name", "method": "the request method", "path": "the request path", "status": "the response status"]
            case .stream: ["client": "the client's name", "path": "the request path", "status": "the response status", "content-type": "the response's Content-Type, without parameters"]
            case .event: ["client": "the client's name", "id": "the event's id", "event": "the event's name (message when none)", "type": "the data's JSON \"type\"", "lines": "how many data: lines it had"]
            case .resumed: ["client": "the client's name", "last-event-id": "the Last-Event-ID sent"]
            case .reconnecting: ["client": "the client's name", "attempt": "the attempt's number", "delay": "seconds until the attempt"]
            case .reconnected, .heartbeatDropped, .proxyHeld, .compared: ["client": "the client's name"]
            case .flushed: ["client": "the client's name", "messages": "how many were queued"]
            case .watchShown: ["client": "the watched client's name", "watch": "the watch's name (w1, …)"]
            case .compareRun: ["scenario": "echo, predict, chat, notifications, dashboard or job"]
            case .answered: ["exercise": "the exercise's name"]
            case .tls: ["client": "the client's name", "sni": "the server name sent in the clear (none when the host is an address)", "alpn": "the protocols offered, comma separated"]
            }
        }

        public var parameterNames: [String] { parameters.map(\.key) }
    }
}

/// The session's observations in the order they happened, so a step can ask for what happened
/// since it began.
public struct ObservationLog: Sendable {
    public private(set) var observations: [Observation] = []

    public init() {}

    public mutating func record(_ observation: Observation) {
        observations.append(observation)
    }

    /// A mark to pass to ``unmet(_:since:)``.
    public var mark: Int { observations.count }

    /// What happened since `mark`.
    public func since(_ mark: Int) -> ArraySlice<Observation> { observations.dropFirst(mark) }

    /// Which of `checks` do not hold for what happened since `mark`.
    public func unmet(_ checks: [Check], since mark: Int) -> [Check] {
        let seen = since(mark)
        return checks.filter { !$0.holds(for: seen) }
    }
}

extension Observation {
    /// The fields a JSON message brings to a `received` (or `sent`) observation: its top-level
    /// strings, numbers and booleans, `chars` for its `text`, `online` for the size of its
    /// `online` list. Nothing for text that is not a JSON object.
    public static func messageFields(_ text: String) -> [String: String] {
        guard let message = try? JSON(parsing: text), case .object(let members) = message else { return [:] }
        var fields: [String: String] = [:]
        for (name, value) in members {
            switch value {
            case .string(let string): fields[name] = string
            case .number, .bool: fields[name] = value.text
            case .array(let items): if name == "online" { fields["online"] = String(items.count) }
            case .null, .object: break
            }
        }
        if let text = fields["text"] { fields["chars"] = String(text.count) }
        return fields
    }
}
