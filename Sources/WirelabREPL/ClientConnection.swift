import NIOConcurrencyHelpers
import NIOCore
import WireClient
import WireProtocol

/// Settings every client reads while rendering, changed by commands such as `view`.
final class SharedSettings: Sendable {
    private let viewLevel = NIOLockedValueBox(ViewLevel.frames)
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
}

/// One named client in the REPL: what its tap saw, taken apart, counted and printed as it happens.
final class ClientConnection: Sendable {
    let name: String
    let target: WebSocketTarget
    let requestKey: String

    private struct State {
        var dissector = WireDissector()
        var ledger = ByteLedger()
        /// The HTTP part of the connection (request, response, body), kept for `handshake`.
        var handshake: [WireEvent] = []
        var framesDown = 0
        var eventsSeen = 0
        var lastFrameDown: (Frame, [ProtocolViolation])?
        var closeFrameUp: Frame?
        var closeFrameDown: Frame?
        var tcpClosed = false
        var client: WebSocketClient?
        /// The response that refused the upgrade, if one did.
        var refusal: HTTPHead?
    }

    private let state = NIOLockedValueBox(State())
    /// Where this client's lines go: straight to the terminal, or held by an ``OutputCollator``.
    private let emit: @Sendable ([String]) -> Void
    private let style: Styler
    private let settings: SharedSettings
    /// A first message worth sending on this endpoint, for the "open" line.
    private let hint: String

    init(
        name: String, target: WebSocketTarget, requestKey: String, hint: String, style: Styler, settings: SharedSettings,
        emit: @escaping @Sendable ([String]) -> Void
    ) {
        self.name = name
        self.target = target
        self.requestKey = requestKey
        self.hint = hint
        self.emit = emit
        self.style = style
        self.settings = settings
    }

    var client: WebSocketClient? {
        get { state.withLockedValue { $0.client } }
        set { state.withLockedValue { $0.client = newValue } }
    }

    var ledger: ByteLedger { state.withLockedValue { $0.ledger } }
    var handshake: [WireEvent] { state.withLockedValue { $0.handshake } }
    var framesDown: Int { state.withLockedValue { $0.framesDown } }
    var eventsSeen: Int { state.withLockedValue { $0.eventsSeen } }
    var isClosed: Bool { state.withLockedValue { $0.tcpClosed } }

    var stateDescription: String {
        state.withLockedValue { state in
            if state.tcpClosed { return "closed" }
            if state.closeFrameUp != nil || state.closeFrameDown != nil { return "closing" }
            return state.client == nil ? "connecting" : "open"
        }
    }

    /// The tap sink: runs on the connection's event loop, in wire order.
    func observe(_ event: TapEvent) {
        let renderer = WireRenderer(client: name, view: settings.view, style: style)
        let lines: [String] = state.withLockedValue { state in
            state.eventsSeen += 1
            switch event {
            case .bytes(let direction, let bytes):
                return state.dissector.feed(direction, bytes).flatMap { event in
                    state.ledger.record(event)
                    return render(event, into: &state, renderer: renderer)
                }
            case .closed:
                state.tcpClosed = true
                return closingSummary(state)
            }
        }
        if !settings.muted && !lines.isEmpty { emit(lines) }
    }

    private func render(_ event: WireEvent, into state: inout State, renderer: WireRenderer) -> [String] {
        switch event {
        case .httpHead(let direction, let head):
            state.handshake.append(event)
            var lines = renderer.render(head: head, direction: direction)
            if head.status == 101 {
                lines += renderer.render(acceptCheck: AcceptCheck(key: requestKey, received: head.field("Sec-WebSocket-Accept")))
                lines.append(style.green("\(name) open") + " · from here on this TCP connection carries WebSocket frames; try: \(hint)")
            } else if direction == .down {
                state.refusal = head
            }
            return lines
        case .httpBody(let direction, let body):
            state.handshake.append(event)
            return renderer.render(body: body, direction: direction)
        case .frame(let direction, let frame, let violations):
            if direction == .down {
                state.framesDown += 1
                state.lastFrameDown = (frame, violations)
            }
            if frame.opcode == .close {
                if direction == .up { state.closeFrameUp = frame } else { state.closeFrameDown = frame }
            }
            return renderer.render(frame: frame, direction: direction, violations: violations)
        case .reassembled(let direction, let opcode, let payload, let fragments):
            return renderer.render(reassembled: opcode, payload: payload, fragments: fragments, direction: direction)
        case .undecodable(let direction, let reason, let bytes):
            return renderer.render(undecodable: reason, bytes: bytes, direction: direction)
        }
    }

    private func closingSummary(_ state: State) -> [String] {
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
        let renderer = WireRenderer(client: name, view: settings.view, style: style)
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
