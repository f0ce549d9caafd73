import HTTPTypes
import HummingbirdWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket
import WireProtocol

/// One endpoint of the guide: a name to switch it by, its WebSocket routes, its HTTP twins, and
/// what it teaches.
///
/// Each endpoint lives in its own file under `Endpoints/` and reads like the guide's handler.
/// Endpoints are made per lab (`Endpoint.makeAll(_:)`), so that each lab has its own state.
public struct Endpoint: Sendable {
    /// The switch name: `wirelab serve --only echo`, `enable echo`, `disable echo`.
    public let name: String
    /// One line for `endpoints` and the 404 page.
    public let summary: String
    /// The section of the guide it comes from.
    public let guideSection: String
    /// A REPL command worth trying first on it, e.g. `send {"text":"hi"}`.
    public let firstMessage: String
    public let webSocketRoutes: [WebSocketRoute]
    /// The same work over plain HTTP: request/response, short and long polling.
    public let httpRoutes: [HTTPRoute]

    public init(
        name: String, summary: String, guideSection: String, firstMessage: String = "send hello",
        webSocketRoutes: [WebSocketRoute], httpRoutes: [HTTPRoute] = []
    ) {
        self.name = name
        self.summary = summary
        self.guideSection = guideSection
        self.firstMessage = firstMessage
        self.webSocketRoutes = webSocketRoutes
        self.httpRoutes = httpRoutes
    }

    /// The names of every endpoint, in the guide's order (for `--only` and `enable`).
    public static let names = ["echo", "client", "chat", "room", "livechat", "events", "notifications", "dashboard", "predict", "auth"]

    /// Every endpoint the lab knows, made for one lab.
    public static func makeAll(_ lab: LabContext) -> [Endpoint] {
        [
            .echo(lab), .client(lab), .chat(lab), .room(lab), .liveChat(lab),
            .events(lab), .notifications(lab), .dashboard(lab), .predict(lab), .auth(lab),
        ]
    }
}

/// A WebSocket path and the session that runs on each upgraded connection.
public struct WebSocketRoute: Sendable {
    public let pattern: PathPattern
    /// Endpoint-specific checks before the 101 (a name already in use, a missing parameter, a token).
    /// Its arguments: the path parameters, the query, and the client's IP address.
    public let admit: @Sendable (_ parameters: [String: String], _ query: [String: String], _ peer: String?) async -> UpgradeVerdict
    public let session: @Sendable (WebSocketSession) async throws -> Void
    /// Set for a route that answers each message at once with at most one message and keeps no
    /// state (echo): such a route runs on the event loop that read the message, with no task per
    /// connection (``ReplyingSession``), unless the connection negotiated permessage-deflate.
    public let reply: (@Sendable (WebSocketMessage) throws -> WebSocketMessage?)?

    public init(
        _ pattern: String,
        admit: @escaping @Sendable ([String: String], [String: String], String?) async -> UpgradeVerdict = { _, _, _ in .accept },
        session: @escaping @Sendable (WebSocketSession) async throws -> Void
    ) {
        self.pattern = PathPattern(pattern)
        self.admit = admit
        self.session = session
        self.reply = nil
    }

    /// A route whose handler is one function from a message to its answer, like the guide's
    /// `data = await websocket.receive_text(); await websocket.send_text(f"Echo: {data}")`.
    public init(_ pattern: String, replying reply: @escaping @Sendable (WebSocketMessage) throws -> WebSocketMessage?) {
        self.pattern = PathPattern(pattern)
        self.admit = { _, _, _ in .accept }
        self.reply = reply
        // The same handler as a session, for connections that compress (the WebSocket library
        // inflates and deflates for the session).
        self.session = { session in
            for try await message in session.messages() {
                switch try reply(message) {
                case .text(let text): try await session.outbound.write(.text(text))
                case .binary(let bytes): try await session.outbound.write(.binary(bytes))
                case nil: break
                }
            }
        }
    }
}

/// What a session handler gets: the connection's two directions, its path parameters and query,
/// and the lab. Errors it throws close the connection (1011, or the code the library chose, such
/// as 1009 for an oversize message or 1007 for invalid UTF-8).
public struct WebSocketSession: Sendable {
    public let parameters: [String: String]
    public let query: [String: String]
    public let inbound: WebSocketInboundStream
    public let outbound: WebSocketOutboundWriter
    /// The connection itself: for cutting off a receiver too slow to take even a close frame.
    public let channel: any Channel
    /// The client's IP address (for the auth throttle).
    public var peer: String? { channel.remoteAddress?.ipAddress }
    public let lab: LabContext
    public let logger: Logger
    /// What must happen before the lab closes this connection itself (shutdown, switching off):
    /// a ``Subscriber`` registers the draining of its queue here.
    let beforeClose: BeforeClose
    /// Work in hand that a close waits for, and whether the lab's close is out.
    public let lifecycle: ConnectionLifecycle
    /// True once when a failure was armed for this endpoint (``EndpointRegistry/armFault(_:)``).
    let takeFault: @Sendable () -> Bool
    /// The connection negotiated permessage-deflate: what it is sent must go through the WebSocket
    /// library (``outbound``), which compresses it.
    let compresses: Bool
    /// The close code and reason the connection ends with once the session returns (after its
    /// queued replies have gone out); nil for a normal close.
    let closing = NIOLockedValueBox<(code: WebSocketErrorCode, reason: String)?>(nil)

    /// Asks for the connection to end with `code` when the session returns, rather than 1000:
    /// unlike ``WebSocketOutboundWriter/close(_:reason:)``, replies already queued go out first.
    public func endSession(with code: WebSocketErrorCode, reason: String) {
        closing.withLockedValue { $0 = (code, reason) }
    }

    /// Whole messages, fragments joined, no larger than the lab's message limit.
    public func messages() -> SessionMessages {
        SessionMessages(base: inbound.messages(maxSize: lab.limits.maxMessageSize), lifecycle: lifecycle, takeFault: takeFault)
    }

    /// Incoming messages parsed as JSON. A message that is not JSON (or is binary) gets a
    /// `{"type":"error"}` reply and is skipped; the connection stays open.
    public func jsonMessages(reply: @escaping @Sendable (JSON) async throws -> Void) -> AsyncThrowingCompactMapSequence<SessionMessages, JSON> {
        messages().compactMap { message in
            switch message {
            case .binary:
                try await reply(.error("expected a JSON text message, got a binary one"))
                return nil
            case .text(let text):
                do {
                    let json = try JSON(parsing: text)
                    lab.metrics.record(error: false)
                    return json
                } catch {
                    lab.metrics.record(error: true)
                    try await reply(.error("not valid JSON: \(error)"))
                    return nil
                }
            }
        }
    }

    /// ``jsonMessages(reply:)`` held to the lab's ``LabContext/messageRate``, for chat-like
    /// endpoints: a message over the rate is not delivered and gets an error reply; one too many
    /// of those and the sequence ends, and the connection closes with 1008 once the session returns.
    public func chatMessages(reply: @escaping @Sendable (JSON) async throws -> Void) -> ChatMessages {
        ChatMessages(base: jsonMessages(reply: reply), rate: lab.messageRate, session: self, reply: reply)
    }

    public func send(_ message: JSON) async throws {
        try await outbound.write(.text(message.text))
    }
}

extension JSON {
    /// The lab's error reply: `{"type":"error","error":"…"}`.
    public static func error(_ message: String) -> JSON {
        .object([("type", "error"), ("error", .string(message))])
    }
}

/// A session's incoming messages, each counted as handled once the session asks for the next one
/// (or stops asking): until then it is work in hand, which a close from the client waits for
/// (``ConnectionLifecycle``).
public struct SessionMessages: AsyncSequence, Sendable {
    public typealias Element = WebSocketMessage

    let base: WebSocketInboundMessageStream
    let lifecycle: ConnectionLifecycle
    let takeFault: @Sendable () -> Bool

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: WebSocketInboundMessageStream.AsyncIterator
        let lifecycle: ConnectionLifecycle
        let takeFault: @Sendable () -> Bool
        var holding = false

        public mutating func next() async throws -> WebSocketMessage? {
            if holding {
                holding = false
                lifecycle.handled()
            }
            let message = try await base.next()
            if message != nil, takeFault() {
                lifecycle.handled()
                throw HandlerFault()
            }
            holding = message != nil
            return message
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), lifecycle: lifecycle, takeFault: takeFault)
    }
}

/// The failure `fault NAME` arms: an error no handler expects, as a bug would throw. The
/// WebSocket library answers a handler that throws with 1011 "internal error".
public struct HandlerFault: Error, CustomStringConvertible {
    public var description: String { "a failure armed with `fault` (a handler bug on demand)" }
}

/// Work to finish before the lab closes a connection of its own accord, so that a close frame
/// never overtakes messages already accepted for that client.
public final class BeforeClose: Sendable {
    private let steps = NIOLockedValueBox<[@Sendable () async -> Void]>([])

    public init() {}

    func add(_ step: @escaping @Sendable () async -> Void) {
        steps.withLockedValue { $0.append(step) }
    }

    func run() async {
        for step in steps.withLockedValue({ $0 }) { await step() }
    }
}

/// What ``WebSocketSession/chatMessages(reply:)`` returns: messages held to the rate, and none
/// taken once the lab is stopping.
public struct ChatMessages: AsyncSequence, Sendable {
    public typealias Element = JSON
    public typealias Base = AsyncThrowingCompactMapSequence<SessionMessages, JSON>

    let base: Base
    let rate: MessageRate?
    let session: WebSocketSession
    let reply: @Sendable (JSON) async throws -> Void

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        var limiter: MessageRateLimiter?
        let session: WebSocketSession
        let reply: @Sendable (JSON) async throws -> Void
        let start = ContinuousClock.now
        /// The message returned last is being handled until the handler asks for the next one.
        var handling = false

        public mutating func next() async throws -> JSON? {
            if handling {
                handling = false
                session.lab.leave()
            }
            while let message = try await base.next() {
                guard session.lab.enter() else {
                    // Taken now, it could reach some receivers and not others before their 1001.
                    try await reply(.error("the server is shutting down: this message was not delivered"))
                    continue
                }
                guard var limiter else {
                    handling = true
                    return message
                }
                let verdict = limiter.admit(at: ContinuousClock.now - start)
                self.limiter = limiter
                switch verdict {
                case .deliver:
                    handling = true
                    return message
                case .refuse(let left):
                    session.lab.leave()
                    let warning = left == 0 ? "one more and the lab closes the connection (1008)" : "\(left) more and the lab closes the connection (1008)"
                    try await reply(.error("over the rate limit (\(limiter.rate.description)): not delivered; \(warning)"))
                case .close:
                    session.lab.leave()
                    session.lab.announce("closing a connection with 1008: it kept sending faster than \(limiter.rate.description)")
                    session.endSession(with: .policyViolation, reason: "message rate limit exceeded")
                    return nil
                }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), limiter: rate.map(MessageRateLimiter.init), session: session, reply: reply)
    }
}

/// One HTTP twin: a method, a path, and a handler (JSON in, JSON out, unless it says otherwise).
public struct HTTPRoute: Sendable {
    public let method: HTTPRequest.Method
    public let pattern: PathPattern
    /// True for a route whose body is plain text (the echo twin), not JSON.
    public let takesText: Bool
    public let handle: @Sendable (HTTPExchange) async throws -> HTTPReply

    public init(_ method: HTTPRequest.Method, _ pattern: String, takesText: Bool = false, handle: @escaping @Sendable (HTTPExchange) async throws -> HTTPReply) {
        self.method = method
        self.pattern = PathPattern(pattern)
        self.takesText = takesText
        self.handle = handle
    }
}

/// An HTTP request as a twin sees it.
public struct HTTPExchange: Sendable {
    public let parameters: [String: String]
    public let query: [String: String]
    /// The body parsed as JSON; nil when there was no body (or, for text routes, not JSON).
    public let body: JSON?
    /// The body as text.
    public let text: String
    /// Request header fields by lower-cased name (the first value of each).
    public let headers: [String: String]
    /// The client's IP address.
    public let peer: String?

    public init(parameters: [String: String], query: [String: String], body: JSON?, text: String, headers: [String: String] = [:], peer: String? = nil) {
        self.parameters = parameters
        self.query = query
        self.body = body
        self.text = text
        self.headers = headers
        self.peer = peer
    }

    /// The token from `?token=…` or `Authorization: Bearer …`.
    public var bearerToken: String? {
        if let token = query["token"] { return token }
        guard let authorization = headers["authorization"], authorization.lowercased().hasPrefix("bearer ") else { return nil }
        return String(authorization.dropFirst("bearer ".count))
    }

    /// The `since` and `wait` of a poll: `?since=ID` (default 0) and `&wait=SECONDS`.
    /// `since=latest` stands for the newest id: the answer is `last_id` with no messages, which
    /// is how a client learns where a log is without downloading it.
    public func pollParameters() throws -> (since: Int, wait: Duration?) {
        let since = try query["since"].map { value -> Int in
            if value == "latest" { return Int.max }
            guard let id = Int(value), id >= 0 else { throw HTTPReply.badRequest("since must be a message id (0 or more) or latest, not \"\(value)\"") }
            return id
        } ?? 0
        let wait = try query["wait"].map { value -> Duration in
            guard let seconds = Double(value), seconds >= 0, seconds <= 60 else {
                throw HTTPReply.badRequest("wait must be a number of seconds from 0 to 60, not \"\(value)\"")
            }
            return .milliseconds(Int64(seconds * 1000))
        }
        return (since, wait)
    }

    /// The `Last-Event-ID` a reconnecting event stream sends: nil when absent, 400 when not an id.
    public func lastEventID() throws -> Int? {
        try headers["last-event-id"].map { value -> Int in
            guard let id = Int(value.trimmingCharacters(in: " ")), id >= 0 else {
                throw HTTPReply.badRequest("Last-Event-ID must be an event id from this stream, not \"\(value)\"")
            }
            return id
        }
    }

    /// The body, which must be a JSON object, or a 400 reply saying why not.
    public func objectBody() throws -> JSON {
        guard let body else { throw HTTPReply.badRequest("the request needs a JSON body") }
        guard body.isObject else { throw HTTPReply.badRequest("the JSON body must be an object") }
        return body
    }
}

/// A twin's answer: a status and a JSON (or text) body. Thrown, it is an error answer.
public struct HTTPReply: Error, Sendable {
    public enum Body: Sendable {
        case json(JSON)
        case text(String)
        /// A `text/event-stream` response: each element is written as it comes (use
        /// ``SSEEvent/wireText``). When the client goes away the continuation is finished, so the
        /// producer learns of it through `onTermination`.
        case eventStream(AsyncStream<String>, AsyncStream<String>.Continuation)
    }

    public let status: HTTPResponse.Status
    public let body: Body
    /// Header fields besides the content type (`Retry-After`).
    public var headers: [(String, String)] = []

    public init(_ body: JSON, status: HTTPResponse.Status = .ok) {
        self.status = status
        self.body = .json(body)
    }

    public init(eventStream: AsyncStream<String>, continuation: AsyncStream<String>.Continuation) {
        self.status = .ok
        self.body = .eventStream(eventStream, continuation)
    }

    public init(text: String, status: HTTPResponse.Status = .ok) {
        self.status = status
        self.body = .text(text)
    }

    public static func badRequest(_ message: String) -> HTTPReply {
        HTTPReply(.error(message), status: .badRequest)
    }
}

/// Reads `?a=1&b=two` into a dictionary (the last value wins), percent-decoded.
func parseQuery(_ query: Substring?) -> [String: String] {
    var result: [String: String] = [:]
    func decode(_ part: Substring) -> String {
        let spaced = String(part.map { $0 == "+" ? " " : $0 })
        return spaced.percentDecoded ?? spaced
    }
    for pair in (query ?? "").split(separator: "&") {
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        result[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
    }
    return result
}
