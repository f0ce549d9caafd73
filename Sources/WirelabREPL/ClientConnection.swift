import Lessons
import NIOConcurrencyHelpers
import NIOCore
import WireClient
import WireProtocol

/// Settings every client reads while rendering, changed by commands such as `view`.
final class SharedSettings: Sendable {
    private let viewLevel = NIOLockedValueBox(ViewLevel.frames)
    private let width = NIOLockedValueBox(120)

    /// Columns a one-line summary may take (the terminal's width when there is one).
    var columns: Int {
        get { width.withLockedValue { $0 } }
        set { width.withLockedValue { $0 = newValue } }
    }
    private let mutedFlag = NIOLockedValueBox(false)

    /// Set while the session ends, so closing clients does not print a page of frames.
    var muted: Bool {
        get { mutedFlag.withLockedValue { $0 } }
        set { mutedFlag.withLockedValue { $0 = newValue } }
    }

    var view: ViewLevel {
        get { viewLevel.withLockedValue { $0 } }
        set { viewLevel.withLockedValue { $0 = newValue } }
    }

    private let pingsShownFlag = NIOLockedValueBox(false)

    /// `set pings shown`: the server's pings and the pongs that answer them in full. By default
    /// (`quiet`) each takes one line: every 30 s on every socket, ten lines each hid the lesson.
    /// Pings the learner sends (`ping`, a heartbeat) are always shown in full.
    var pingsShown: Bool {
        get { pingsShownFlag.withLockedValue { $0 } }
        set { pingsShownFlag.withLockedValue { $0 = newValue } }
    }

    /// What happened on the wire, for lesson checks.
    private let observationLog = NIOLockedValueBox(ObservationLog())

    func record(_ observation: Observation) {
        observationLog.withLockedValue { $0.record(observation) }
    }

    var observations: ObservationLog { observationLog.withLockedValue { $0 } }
}

/// One named client in the REPL: what its tap saw, taken apart, counted and printed as it happens.
final class ClientConnection: Sendable {
    /// What the client speaks.
    enum Kind: Sendable, Equatable {
        case webSocket
        /// Plain request/response on a kept-alive connection (`http`, `login`).
        case http
        /// An SSE stream: one long GET whose body is `text/event-stream`.
        case eventStream
        /// Long polls, one after another, each held by the server until there is news.
        case longPolling
    }

    let name: String
    let kind: Kind
    let target: WebSocketTarget
    /// The Sec-WebSocket-Key of the latest handshake (each reconnection sends a fresh one).
    var requestKey: String { state.withLockedValue { $0.requestKey } }
    /// What its handshake agreed for permessage-deflate (nil: none).
    var agreedDeflate: DeflateParameters? { state.withLockedValue { $0.dissector.deflate } }

    private struct State {
        var dissector = WireDissector(inflaters: ZlibMessageInflater.maker)
        var ledger = ByteLedger()
        /// The HTTP part of the connection (request, response, body), kept for `handshake`.
        var handshake: [WireEvent] = []
        var framesDown = 0
        var eventsSeen = 0
        var lastFrameDown: (Frame, [ProtocolViolation])?
        var closeFrameUp: Frame?
        var closeFrameDown: Frame?
        /// Who sent the first close frame on this connection.
        var firstCloseFrom: Direction?
        /// The latest request's method and path (an http or polling client), for its response.
        var lastRequest: (method: String, path: String)?
        var tcpClosed = false
        var client: WebSocketClient?
        var http: HTTPConnection?
        /// The response that refused the upgrade, if one did.
        var refusal: HTTPHead?
        /// The rule a 101's Sec-WebSocket-Extensions broke, for which the client failed the connection.
        var failedAnswer: ExtensionAnswer.Problem?
        /// Parses the body of an event-stream response, one per TCP connection.
        var sse: SSEParser?
        /// Carried across reconnections: what to send as `Last-Event-ID`.
        var lastEventID = ""
        var reconnectionTime: Int?
        var sseEvents = 0
        /// The server answered an event stream's GET with 200 and `text/event-stream`.
        var streamAccepted = false
        /// Data of events parsed from the latest bytes, for listeners.
        var eventData: [String] = []
        var responsesDown = 0
        /// The last response said `Connection: close`: the server ends the connection after it.
        var lastResponseCloses = false
        /// Set when the user closes it: an SSE client then stops reconnecting.
        var closedByUser = false
        var requestKey = ""
        /// Where `send` posts, for a client that cannot send on its own connection (SSE, long polling).
        var postPath: String?
        /// The `Origin` its upgrades claim (`open --origin`), as a browser page's would.
        var origin: String?
        /// The permessage-deflate its upgrades offer (`open --deflate`); nil offers none.
        var deflate: DeflateOffer?
        /// A long-poll answer's body as it arrives, until its Content-Length is in.
        var pollBody: [UInt8] = []
        var pollLength: Int?
        // Resilience (WebSocket clients): see Session+Resilience.swift.
        /// Nil: the client does not reconnect.
        var backoff: Backoff?
        var queue = OutboundQueue()
        var heartbeat: Heartbeat?
        var lastPongAt: ContinuousClock.Instant?
        var reconnecting: String?
        var lastUpAt: ContinuousClock.Instant?
        var lastDownAt: ContinuousClock.Instant?
    }

    private let state = NIOLockedValueBox(State())
    /// Set for a client over TLS (``useTLS()``): the records its raw tap saw, before NIOSSL.
    private let tls = NIOLockedValueBox<TLSLayer?>(nil)
    /// Where this client's lines go: straight to the terminal, or held by an ``OutputCollator``.
    private let emit: @Sendable ([String]) -> Void
    /// Held while an event is counted and its lines emitted, so that a script waiting for a
    /// frame (``framesDown``) never runs ahead of the frame's lines: in a transcript they are
    /// held before the script's next line of output releases them.
    private let publishing = NIOLock()
    private let style: Styler
    private let settings: SharedSettings
    /// A first message worth sending on this endpoint, for the "open" line.
    private let hint: String

    init(
        name: String, kind: Kind = .webSocket, target: WebSocketTarget, requestKey: String = "", hint: String = "", style: Styler,
        settings: SharedSettings, emit: @escaping @Sendable ([String]) -> Void
    ) {
        self.name = name
        self.kind = kind
        self.target = target
        state.withLockedValue { $0.requestKey = requestKey }
        self.hint = hint
        self.emit = emit
        self.style = style
        self.settings = settings
    }

    var client: WebSocketClient? {
        get { state.withLockedValue { $0.client } }
        set { state.withLockedValue { $0.client = newValue } }
    }

    var http: HTTPConnection? {
        get { state.withLockedValue { $0.http } }
        set { state.withLockedValue { $0.http = newValue } }
    }

    var lastEventID: String { state.withLockedValue { $0.lastEventID } }

    /// From the last byte sent to the last byte received, as the tap saw them.
    var lastRoundTrip: Duration? {
        state.withLockedValue { state in
            guard let up = state.lastUpAt, let down = state.lastDownAt, down > up else { return nil }
            return down - up
        }
    }
    var reconnectionTime: Int? { state.withLockedValue { $0.reconnectionTime } }
    var sseEvents: Int { state.withLockedValue { $0.sseEvents } }
    var responsesDown: Int { state.withLockedValue { $0.responsesDown } }

    var closedByUser: Bool {
        get { state.withLockedValue { $0.closedByUser } }
        set { state.withLockedValue { $0.closedByUser = newValue } }
    }

    private let tlsSettings = NIOLockedValueBox<ClientTLS?>(nil)

    /// How this client speaks TLS (kept for its reconnections); nil for plain ws:// and http://.
    var clientTLS: ClientTLS? { tlsSettings.withLockedValue { $0 } }

    /// This client speaks TLS: its records are taken apart too (``observeRecords(_:)``).
    func useTLS(_ settings: ClientTLS) {
        tlsSettings.withLockedValue { $0 = settings }
        tls.withLockedValue { $0 = TLSLayer() }
    }

    /// What the raw tap saw, for a TLS client; nil for a plain one.
    var tlsLayer: TLSLayer? { tls.withLockedValue { $0 } }

    /// The raw tap's sink (a TLS client): the records a network observer sees, shown before what
    /// they carry. The end of the connection is reported by the decrypting tap.
    func observeRecords(_ event: TapEvent) {
        guard case .bytes(let direction, let bytes) = event else { return }
        let renderer = WireRenderer(client: name, view: settings.view, style: style, columns: settings.columns)
        publishing.withLock {
            let fed = tls.withLockedValue { $0?.feed(direction, bytes) } ?? TLSRecordStream.Fed()
            for hello in fed.records.compactMap(\.clientHello) {
                record(.tls, ["sni": hello.serverName ?? "none", "alpn": hello.alpn.joined(separator: ",")])
            }
            let lines = fed.records.flatMap { renderer.render(tlsRecord: $0, direction: direction) }
                + (fed.failure.map { renderer.render(notTLS: $0, direction: direction) } ?? [])
            if !settings.muted && !lines.isEmpty { emit(lines) }
        }
    }

    /// A new TCP connection for the same client (a reconnection): start dissecting afresh.
    func beginConnection(requestKey: String? = nil) {
        tls.withLockedValue { if $0 != nil { $0 = TLSLayer() } }
        state.withLockedValue { state in
            if let requestKey { state.requestKey = requestKey }
            state.dissector = WireDissector(inflaters: ZlibMessageInflater.maker)
            state.sse = nil
            state.tcpClosed = false
            state.closeFrameUp = nil
            state.closeFrameDown = nil
            state.firstCloseFrom = nil
            state.refusal = nil
            state.failedAnswer = nil
            state.handshake = []
            state.client = nil
        }
    }

    var streamAccepted: Bool { state.withLockedValue { $0.streamAccepted } }

    /// Something a lesson's check may look for, about this client.
    func record(_ kind: Observation.Kind, _ fields: [String: String?] = [:]) {
        var fields = fields
        fields["client"] = name
        settings.record(Observation(kind, fields))
    }

    /// A message that reached this client inside an event or a poll's answer: `received`, with
    /// the message's own fields.
    private func recordReceived(message text: String) {
        let fields = Observation.messageFields(text)
        record(.received, fields.merging(["text": fields["text"] ?? text, "length": String(text.utf8.count)]) { $1 })
    }

    /// A frame, with what a check may ask about it (and what an exercise needs: its size on the
    /// wire, the masking key, the first masked bytes).
    private func record(frame: Frame, direction: Direction) {
        var fields: [String: String?] = [
            "opcode": Self.opcodeName(frame.opcode), "fin": frame.fin ? "1" : "0", "length": String(frame.payloadLength),
            "form": String(frame.lengthForm.extendedLengthByteCount == 0 ? 7 : frame.lengthForm.extendedLengthByteCount * 8),
            "wire": String(frame.header.count + frame.wirePayload.count),
            "mask": frame.maskingKey.map { $0.map { HexDump.hex($0) }.joined() },
            "masked": frame.maskingKey == nil ? nil : frame.wirePayload.prefix(4).map { HexDump.hex($0) }.joined(),
        ]
        if frame.opcode == .close { fields["code"] = frame.closeBody.map { String($0.code.code) } ?? "1005" }
        if frame.opcode == .ping || frame.opcode == .pong { fields["text"] = String(decoding: frame.payload, as: UTF8.self) }
        if frame.opcode.isData {
            // permessage-deflate: RSV1 on the message's first frame; its payload on the wire compressed.
            fields["compressed"] = frame.compression == nil ? "0" : "1"
        }
        if frame.opcode == .text && frame.fin {
            let text = String(decoding: frame.messageData, as: UTF8.self)
            for (name, value) in Observation.messageFields(text) { fields[name] = value }
            if fields["text"] == nil { fields["text"] = text }
        }
        record(direction == .up ? .sent : .received, fields)
    }

    private static func opcodeName(_ opcode: Opcode) -> String {
        switch opcode {
        case .text: "text"
        case .binary: "binary"
        case .continuation: "continuation"
        case .close: "close"
        case .ping: "ping"
        case .pong: "pong"
        default: "reserved"
        }
    }

    /// How a WebSocket connection ended, once TCP has closed: the first close frame's code and who
    /// sent it, or 1006 when none came.
    private func recordClosed(_ state: State) {
        guard kind == .webSocket, state.refusal == nil, state.failedAnswer == nil, !state.handshake.isEmpty else { return }
        let first = state.firstCloseFrom == .up ? state.closeFrameUp : state.firstCloseFrom == .down ? state.closeFrameDown : nil
        let code = first.map { $0.closeBody.map { String($0.code.code) } ?? "1005" } ?? "1006"
        let by = state.firstCloseFrom.map { $0 == .up ? "client" : "server" } ?? "none"
        let clean = state.closeFrameUp != nil && state.closeFrameDown != nil
        record(.closed, ["code": code, "by": by, "clean": clean ? "yes" : "no"])
    }

    var postPath: String? {
        get { state.withLockedValue { $0.postPath } }
        set { state.withLockedValue { $0.postPath = newValue } }
    }

    var origin: String? {
        get { state.withLockedValue { $0.origin } }
        set { state.withLockedValue { $0.origin = newValue } }
    }

    var deflate: DeflateOffer? {
        get { state.withLockedValue { $0.deflate } }
        set { state.withLockedValue { $0.deflate = newValue } }
    }

    var backoff: Backoff? {
        get { state.withLockedValue { $0.backoff } }
        set { state.withLockedValue { $0.backoff = newValue } }
    }

    var heartbeat: Heartbeat? {
        get { state.withLockedValue { $0.heartbeat } }
        set { state.withLockedValue { $0.heartbeat = newValue } }
    }

    var lastPongAt: ContinuousClock.Instant? { state.withLockedValue { $0.lastPongAt } }

    /// "attempt 3/10", "gave up": what the reconnection loop is doing, for `clients`.
    var reconnecting: String? {
        get { state.withLockedValue { $0.reconnecting } }
        set { state.withLockedValue { $0.reconnecting = newValue } }
    }

    /// Queues a message for the next connection. - Returns: how many wait, or nil if the queue is full.
    func enqueue(_ message: String) -> Int? {
        state.withLockedValue { state in state.queue.enqueue(message) ? state.queue.count : nil }
    }

    func dequeue() -> String? { state.withLockedValue { $0.queue.next() } }
    func putBack(_ message: String) { state.withLockedValue { $0.queue.putBack(message) } }
    var queued: [String] { state.withLockedValue { $0.queue.waiting } }

    /// Why the last connection ended, in the terms of the reconnection rule.
    var connectionEnd: ConnectionEnd {
        state.withLockedValue { state in
            if state.closedByUser { return .closedByUser }
            if let refusal = state.refusal, let status = refusal.status { return .refused(status: UInt(status)) }
            if let close = state.closeFrameDown { return .closedByServer(close.closeBody?.code.code ?? 1005) }
            return .dropped
        }
    }

    var ledger: ByteLedger { state.withLockedValue { $0.ledger } }

    /// The client's address, with the scheme of what it speaks.
    var address: String {
        switch kind {
        case .webSocket: target.description
        case .http: "\(target.secure ? "https" : "http")://\(target.hostHeader)"
        case .longPolling: "\(target.secure ? "https" : "http")://\(target.hostHeader)\(target.path) (long polling)"
        case .eventStream: "\(target.secure ? "https" : "http")://\(target.hostHeader)\(target.path)"
        }
    }
    var handshake: [WireEvent] { state.withLockedValue { $0.handshake } }
    // What a script waits on is read under `publishing`: a frame counts once its lines are out.
    var framesDown: Int { publishing.withLock { state.withLockedValue { $0.framesDown } } }
    var eventsSeen: Int { publishing.withLock { state.withLockedValue { $0.eventsSeen } } }
    var isClosed: Bool { publishing.withLock { state.withLockedValue { $0.tcpClosed } } }

    var stateDescription: String {
        state.withLockedValue { state in
            if state.tcpClosed { return state.reconnecting ?? "closed" }
            switch kind {
            case .http: return state.http == nil ? "connecting" : "open"
            case .longPolling: return state.http == nil ? "connecting" : "polling"
            case .eventStream: return state.responsesDown == 0 ? "connecting" : "streaming"
            case .webSocket: break
            }
            if let reconnecting = state.reconnecting { return reconnecting }
            if state.closeFrameUp != nil || state.closeFrameDown != nil { return "closing" }
            return state.client == nil ? "connecting" : "open"
        }
    }

    /// Who else wants this client's incoming messages (`watch`, `plot`): they share its one
    /// connection, as RxJS's `share()` makes many subscribers share one socket.
    private let listeners = NIOLockedValueBox<[Int: @Sendable (JSON) -> Void]>([:])
    private let nextListener = NIOLockedValueBox(0)

    /// - Returns: an id for ``removeListener(_:)``.
    func addListener(_ listener: @escaping @Sendable (JSON) -> Void) -> Int {
        let id = nextListener.withLockedValue { value in defer { value += 1 }; return value }
        listeners.withLockedValue { $0[id] = listener }
        return id
    }

    func removeListener(_ id: Int) {
        listeners.withLockedValue { _ = $0.removeValue(forKey: id) }
    }

    var listenerCount: Int { listeners.withLockedValue { $0.count } }

    /// The tap sink: runs on the connection's event loop, in wire order.
    func observe(_ event: TapEvent) {
        let messages = publishing.withLock { dissect(event) }
        let listeners = listeners.withLockedValue { Array($0.values) }
        guard !listeners.isEmpty else { return }
        for message in messages.compactMap({ try? JSON(parsing: String(decoding: $0, as: UTF8.self)) }) {
            for listener in listeners { listener(message) }
        }
    }

    /// Takes an event apart, counts it and prints it. - Returns: the messages it carried, for listeners.
    private func dissect(_ event: TapEvent) -> [[UInt8]] {
        let renderer = WireRenderer(client: name, view: settings.view, style: style, columns: settings.columns)
        var messages: [[UInt8]] = []
        // A poll's whole answer, once its Content-Length is in: the messages in its `messages`.
        var polled: [[UInt8]] = []
        let lines: [String] = state.withLockedValue { state in
            state.eventsSeen += 1
            switch event {
            case .bytes(let direction, let bytes):
                // When bytes last crossed each way: a round trip is last-down minus last-up.
                if direction == .up { state.lastUpAt = .now } else { state.lastDownAt = .now }
                let lines = state.dissector.feed(direction, bytes).flatMap { event in
                    state.ledger.record(event)
                    messages += Self.incomingMessage(in: event)
                    if kind == .longPolling || kind == .http { polled += Self.polledMessages(in: event, state: &state) }
                    return render(event, into: &state, renderer: renderer)
                }
                messages += state.eventData.map { Array($0.utf8) }
                state.eventData = []
                return lines
            case .closed:
                state.tcpClosed = true
                var lines: [String] = []
                if var parser = state.sse {
                    lines += parser.finish().flatMap { renderer.render(sseItem: $0) }
                    state.sse = nil
                }
                recordClosed(state)
                return lines + closingSummary(state)
            }
        }
        if !settings.muted && !lines.isEmpty { emit(lines) }
        for message in polled { recordReceived(message: String(decoding: message, as: UTF8.self)) }
        if kind == .longPolling { messages += polled }
        return messages
    }

    /// The messages of a whole long-poll answer (`{"messages":[…],…}`), once all of it is in.
    private static func polledMessages(in event: WireEvent, state: inout State) -> [[UInt8]] {
        switch event {
        case .httpHead(.down, let head):
            state.pollBody = []
            state.pollLength = head.contentLength
        case .httpBody(.down, let bytes):
            state.pollBody += bytes
            guard let length = state.pollLength, state.pollBody.count >= length,
                let answer = try? JSON(parsing: String(decoding: state.pollBody, as: UTF8.self))
            else { return [] }
            state.pollBody = []
            // An answer that is not a poll's (a login's token, an order) is a message in itself.
            guard case .array(let polled)? = answer["messages"] else { return answer.isObject ? [Array(answer.text.utf8)] : [] }
            return polled.map { Array($0.text.utf8) }
        default: break
        }
        return []
    }

    /// The text of a whole incoming message: a final text frame that is not a fragment, or a
    /// reassembled one. (An event stream's events come through its parser, below.)
    private static func incomingMessage(in event: WireEvent) -> [[UInt8]] {
        switch event {
        case .frame(.down, let frame, _) where frame.opcode == .text && frame.fin: return [frame.messageData]
        case .reassembled(.down, .text, let payload, _): return [payload]
        default: return []
        }
    }

    /// An HTTP head: shown, and what it tells the lessons, `handshake` and the stream parser.
    /// (A function of its own, with the start line and status read once: in `render`, the
    /// optimiser of Swift 6.3.1 crashed on this code.)
    private func renderHead(_ head: HTTPHead, direction: Direction, event: WireEvent, into state: inout State, renderer: WireRenderer) -> [String] {
        let startLine = head.startLine
        let status = head.status
        // The same rules WebSocketClient applies before it opens: a 101 that breaks them opens
        // nothing (RFC 6455 §4.1).
        let failedAnswer = kind == .webSocket && direction == .down && status == 101
            ? Self.extensionProblem(answer: head, handshake: state.handshake) : nil
        var lines = renderer.render(head: head, direction: direction, extensionsRefused: failedAnswer != nil)
        if direction == .up, case .request(let method, let path, _) = startLine { state.lastRequest = (method, path) }
        guard kind == .webSocket else {
            // An event stream's request and response heads are its handshake, for `handshake`:
            // the latest attempt's (each reconnection sends a new request).
            if kind == .eventStream {
                if direction == .up { state.handshake = [event] } else { state.handshake.append(event) }
            }
            if direction == .down { lines += noteResponse(head, into: &state) }
            return lines
        }
        state.handshake.append(event)
        if status == 101, direction == .down { state.failedAnswer = failedAnswer }
        if direction == .down {
            if status == 101, state.failedAnswer == nil {
                record(.opened, ["path": target.path, "key": state.requestKey])
            } else if status != 101 {
                record(.refused, ["path": target.path, "status": status.map { String($0) }])
            }
        }
        if status == 101 {
            lines += renderer.render(acceptCheck: AcceptCheck(key: state.requestKey, received: head.field("Sec-WebSocket-Accept")))
            if let problem = state.failedAnswer {
                lines += [
                    style.red("\(name) failed the connection") + " · the 101 answered Sec-WebSocket-Extensions: \(problem.element)",
                    "   \(problem.reason)",
                    "   rule: \(problem.rule); a client must close the connection rather than guess what the frames mean",
                ]
            } else {
                lines.append(style.green("\(name) open") + " · from here on this TCP connection carries WebSocket frames; try: \(hint)")
            }
        } else if direction == .down {
            state.refusal = head
        }
        return lines
    }

    /// The rule a 101's extensions break, given the request this connection sent; nil if none.
    private static func extensionProblem(answer: HTTPHead, handshake: [WireEvent]) -> ExtensionAnswer.Problem? {
        let request = handshake.lazy.compactMap { event -> HTTPHead? in
            if case .httpHead(.up, let head) = event { return head }
            return nil
        }.last
        do throws(ExtensionAnswer.Problem) {
            _ = try ExtensionAnswer.agreedDeflate(
                offered: request?.values(of: "Sec-WebSocket-Extensions") ?? [], answered: answer.values(of: "Sec-WebSocket-Extensions"),
                clientWindowBits: DeflateOffer.windowBitsRange
            )
            return nil
        } catch {
            return error
        }
    }

    /// What an HTTP or event-stream client's response head tells the lessons and the stream
    /// parser. (Its own function: in `render`, the optimiser of Swift 6.3.1 crashed on it.)
    private func noteResponse(_ head: HTTPHead, into state: inout State) -> [String] {
        let status = head.status
        let contentType = head.field("Content-Type")
        let statusText = status.map { String($0) }
        if kind == .http { record(.http, ["method": state.lastRequest?.method, "path": state.lastRequest?.path, "status": statusText]) }
        state.responsesDown += 1
        state.lastResponseCloses = head.field("Connection")?.lowercased() == "close"
        if kind == .eventStream {
            let type = contentType.map { String($0.prefix { $0 != ";" }).trimmingCharacters(in: .whitespaces) }
            record(.stream, ["path": state.lastRequest?.path, "status": statusText, "content-type": type])
        }
        guard contentType?.hasPrefix("text/event-stream") == true else { return [] }
        state.streamAccepted = status == 200
        state.sse = SSEParser()
        return ["   " + style.dim("an event stream: the body never ends; each line below is shown raw, then what an SSE parser makes of it")]
    }

    private func render(_ event: WireEvent, into state: inout State, renderer: WireRenderer) -> [String] {
        switch event {
        case .httpHead(let direction, let head):
            return renderHead(head, direction: direction, event: event, into: &state, renderer: renderer)
        case .httpBody(let direction, let body):
            if direction == .down, var parser = state.sse {
                let items = parser.feed(body)
                state.lastEventID = parser.lastEventID
                state.reconnectionTime = parser.reconnectionTime ?? state.reconnectionTime
                state.sseEvents += items.filter { if case .event = $0 { true } else { false } }.count
                state.eventData += items.compactMap { if case .event(let event) = $0 { event.data } else { nil } }
                for case .event(let event) in items {
                    let type = Observation.messageFields(event.data)["type"]
                    let lines = String(event.data.split(separator: "\n", omittingEmptySubsequences: false).count)
                    record(.event, ["id": event.lastEventID.isEmpty ? nil : event.lastEventID, "event": event.type, "type": type, "lines": lines])
                    recordReceived(message: event.data)
                }
                state.sse = parser
                return items.flatMap { renderer.render(sseItem: $0) }
            }
            if kind == .webSocket { state.handshake.append(event) }
            return renderer.render(body: body, direction: direction)
        case .chunkFraming(let direction, let bytes):
            return renderer.render(chunkFraming: bytes, direction: direction)
        case .frame(let direction, let frame, let violations):
            if direction == .down {
                state.framesDown += 1
                state.lastFrameDown = (frame, violations)
                // A heartbeat's answer: a pong frame, or the application's "pong" text.
                if frame.opcode == .pong || (frame.opcode == .text && ["pong", "\"pong\""].contains(String(decoding: frame.payload, as: UTF8.self))) {
                    state.lastPongAt = .now
                }
            }
            if frame.opcode == .close {
                if direction == .up { state.closeFrameUp = frame } else { state.closeFrameDown = frame }
                if state.firstCloseFrom == nil { state.firstCloseFrom = direction }
            }
            record(frame: frame, direction: direction)
            if !settings.pingsShown, violations.isEmpty {
                // The server's ping gets one line; the pong that answers it, none.
                if direction == .down, frame.opcode == .ping {
                    return [renderer.arrow(.down) + " ping from the server · \(frame.payloadLength) bytes of payload · answered with a pong"
                        + style.dim(" (set pings shown: both frames in full)")]
                }
                if direction == .up, frame.opcode == .pong { return [] }
            }
            return renderer.render(frame: frame, direction: direction, violations: violations)
        case .reassembled(let direction, let opcode, let payload, let fragments):
            var fields: [String: String?] = ["opcode": Self.opcodeName(opcode), "fin": "1", "length": String(payload.count), "fragments": String(fragments)]
            if opcode == .text {
                let text = String(decoding: payload, as: UTF8.self)
                for (name, value) in Observation.messageFields(text) { fields[name] = value }
                if fields["text"] == nil { fields["text"] = text }
            }
            record(direction == .up ? .sent : .received, fields)
            return renderer.render(reassembled: opcode, payload: payload, fragments: fragments, direction: direction)
        case .undecodable(let direction, let reason, let bytes):
            return renderer.render(undecodable: reason, bytes: bytes, direction: direction)
        }
    }

    private func closingSummary(_ state: State) -> [String] {
        switch kind {
        case .http:
            // Unannounced, mid-lesson, a bare "closed" looked like a fault: it is the server's idle
            // timeout, and nothing is lost.
            if state.closedByUser { return ["\(name) · TCP connection closed"] }
            return [state.lastResponseCloses
                ? "\(name) · the server closed the TCP connection, as its last response said (Connection: close); the next http command opens a new one"
                : "\(name) · the server closed the idle kept-alive TCP connection (servers do after a while without a request: their idle timeout); the next http command opens a new one"]
        case .longPolling: return ["\(name) · TCP connection closed" + (state.closedByUser ? "" : "; the next poll opens a new one")]
        case .eventStream:
            if state.closedByUser { return ["\(name) closed · the event stream is over, and the client will not reconnect"] }
            return [style.yellow("\(name) · the stream's TCP connection closed") + " · an EventSource reconnects by itself, sending Last-Event-ID: \(state.lastEventID.isEmpty ? "(none yet)" : state.lastEventID)"]
        case .webSocket: break
        }
        let code = { (frame: Frame?) in frame?.closeBody.map { "\($0.code.code) \($0.code.name)" } ?? "no status code" }
        switch (state.closeFrameUp, state.closeFrameDown) {
        case (.some(let up), .some(let down)):
            return ["\(name) closed · closing handshake complete: sent \(code(up)), received \(code(down)); TCP connection closed"]
        case (.none, .some(let down)):
            return ["\(name) closed · the server sent \(code(down)) and closed TCP before our answer"]
        case (.some(let up), .none):
            return ["\(name) closed · we sent \(code(up)); TCP closed with no close frame back (1006 abnormal closure)"]
        case (.none, .none):
            if let refusal = state.refusal, case .response(_, let status, let reason) = refusal.startLine {
                return [style.yellow("\(name) refused") + " · the server answered \(status) \(reason) instead of 101 Switching Protocols; no WebSocket was opened"]
            }
            if state.failedAnswer != nil { return ["\(name) closed · TCP connection closed by the client; no WebSocket was opened"] }
            guard state.client != nil else { return ["\(name) · TCP connection closed"] }
            return [style.yellow("\(name) closed · TCP dropped without any close frame: the application sees 1006 abnormal closure")]
        }
    }

    /// The last frame received, taken apart at `view`.
    func renderLastFrame(view: ViewLevel) -> [String]? {
        guard let (frame, violations) = state.withLockedValue({ $0.lastFrameDown }) else { return nil }
        return WireRenderer(client: name, view: view, style: style).render(frame: frame, direction: .down, violations: violations)
    }

    /// Re-renders the handshake at the current view level.
    func renderHandshake() -> [String] {
        let renderer = WireRenderer(client: name, view: settings.view, style: style, columns: settings.columns)
        return handshake.flatMap { event -> [String] in
            switch event {
            case .httpHead(let direction, let head):
                let lines = renderer.render(head: head, direction: direction)
                return head.status == 101
                    ? lines + renderer.render(acceptCheck: AcceptCheck(key: requestKey, received: head.field("Sec-WebSocket-Accept")))
                    : lines
            case .httpBody(let direction, let body): return renderer.render(body: body, direction: direction)
            default: return []
            }
        }
    }

    /// For scripts: returns once `condition` holds or `timeout` has passed.
    func wait(upTo timeout: Duration, until condition: @escaping @Sendable (ClientConnection) -> Bool) async {
        let deadline = ContinuousClock.now + timeout
        while !condition(self) && ContinuousClock.now < deadline && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}
