/// Something that happened in a REPL session, as a lesson's check sees it. Checks look at what
/// the wire did, not at what was typed: `ws.open` holds after any 101, however it was reached.
public enum Fact: String, Sendable, CaseIterable, Hashable {
    case webSocketOpened = "ws.open"
    case upgradeRefused = "ws.refused"
    case textSent = "ws.sent.text"
    case textReceived = "ws.received.text"
    case binarySent = "ws.sent.binary"
    case longFrameSent = "ws.sent.long"
    case pingSent = "ws.sent.ping"
    case pongReceived = "ws.received.pong"
    case closeCompleted = "ws.close.complete"
    case httpResponse = "http.response"
    case sseOpen = "sse.open"
    case sseEvent = "sse.event"
    case sseResumed = "sse.resumed"
    case messageFromAnother = "message.fromAnother"
    case reconnected = "client.reconnected"
    case queueFlushed = "client.queue.flushed"
    case heartbeatDropped = "client.heartbeat.dropped"
    case watchShown = "watch.shown"
    case messageCompared = "compare.message"
    case comparisonRun = "compare.run"
    case errorReceived = "message.error"
    case historyReceived = "message.history"
    case typingReceived = "message.typing"
    case leaveHeard = "message.left"
    case notificationReceived = "message.notification"
    case metricsReceived = "message.metrics"
    case predictionReceived = "message.prediction"
    case jobProgress = "job.progress"
    case closedForPolicy = "ws.closed.policy"
    case proxyHeld = "proxy.held"

    /// What the learner must make happen, in words, for `check`.
    public var explanation: String {
        switch self {
        case .webSocketOpened: "a client completes a WebSocket handshake (the server answers 101)"
        case .upgradeRefused: "the server refuses an upgrade (a status other than 101)"
        case .textSent: "a client sends a text frame"
        case .textReceived: "a client receives a text frame"
        case .binarySent: "a client sends a binary frame"
        case .longFrameSent: "a client sends a frame of 126 bytes or more (the 16- or 64-bit length form)"
        case .pingSent: "a client sends a ping frame"
        case .pongReceived: "a client receives a pong frame"
        case .closeCompleted: "a closing handshake completes (close frames both ways)"
        case .httpResponse: "an HTTP request gets its response (the http command)"
        case .sseOpen: "an event stream is answered 200 with text/event-stream"
        case .sseEvent: "an event stream delivers an event"
        case .sseResumed: "an event stream reconnects with Last-Event-ID"
        case .messageFromAnother: "a client receives a chat message sent by another client"
        case .reconnected: "a client reconnects after its connection ended"
        case .queueFlushed: "a client sends messages it queued while disconnected"
        case .heartbeatDropped: "a heartbeat goes unanswered and the client drops the connection as dead"
        case .watchShown: "a watch hands messages on to the UI"
        case .messageCompared: "a message is compared over WebSocket and HTTP (send --compare)"
        case .comparisonRun: "a compare run finishes"
        case .errorReceived: "a client receives an error message ({\"type\":\"error\"}) and stays connected"
        case .historyReceived: "a client joining the live chat receives the history"
        case .typingReceived: "a client receives a typing indicator"
        case .leaveHeard: "a client hears that someone left (user_left, left, or a system message)"
        case .notificationReceived: "a notification made by an HTTP call reaches its user (pushed on a connection, or found by a poll)"
        case .metricsReceived: "the dashboard pushes a metrics message"
        case .predictionReceived: "a prediction comes back, carrying its request_id"
        case .jobProgress: "a training job reports its progress"
        case .closedForPolicy: "the server closes a connection with 1008 policy violation"
        case .proxyHeld: "a buffering proxy holds back part of a response (open sse … --buffering-proxy)"
        }
    }
}

extension Fact {
    /// What a JSON message the server pushed proves, by its `type` (and, for the live chat's
    /// system messages, its text): the lab's messages keep the guide's shapes, so the type says it.
    public static func received(type: String?, text: String? = nil, isPrediction: Bool = false) -> Fact? {
        switch type {
        case "error": .errorReceived
        case "history": .historyReceived
        case "typing": .typingReceived
        case "user_left", "left": .leaveHeard
        case "system" where text?.hasSuffix(" left") == true: .leaveHeard
        case "notification": .notificationReceived
        case "metrics": .metricsReceived
        case "progress": .jobProgress
        case nil where isPrediction: .predictionReceived
        default: nil
        }
    }
}

/// The session's facts in the order they happened, so a step can ask for what happened since it
/// began.
public struct FactLog: Sendable {
    public private(set) var facts: [Fact] = []

    public init() {}

    public mutating func record(_ fact: Fact) {
        facts.append(fact)
    }

    /// A mark to pass to ``missing(_:since:)``.
    public var mark: Int { facts.count }

    /// Which of `required` has not happened since `mark`.
    public func missing(_ required: [Fact], since mark: Int) -> [Fact] {
        let seen = Set(facts.dropFirst(mark))
        return required.filter { !seen.contains($0) }
    }
}
