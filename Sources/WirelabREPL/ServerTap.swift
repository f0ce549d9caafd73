import LabServer
import NIOConcurrencyHelpers
import WireClient
import WireProtocol

/// The lab's side of connections the REPL did not open (`tap`, `wirelab serve --tap`): each
/// tapped connection's raw bytes, from the server's socket, taken apart by the same
/// ``WireDissector`` and printed by the same ``WireRenderer`` as a REPL client's.
public final class ServerTap: Sendable {
    /// Which connections are followed.
    public enum Selection: Sendable, Equatable, CustomStringConvertible {
        case connection(Int)
        /// Every connection, those open now and those to come.
        case all
        /// Connections whose first request went to this endpoint.
        case endpoint(String)

        public var description: String {
            switch self {
            case .connection(let id): "connection \(id)"
            case .all: "every connection"
            case .endpoint(let name): "connections to \(name)"
            }
        }

        func matches(_ summary: ConnectionTaps.Summary) -> Bool {
            switch self {
            case .connection(let id): summary.id == id
            case .all: true
            case .endpoint(let name): summary.endpoint == name
            }
        }
    }

    private struct State {
        var selections: [Selection] = []
        var views: [Int: TappedConnection] = [:]
        var observer: Int?
    }

    private let taps: ConnectionTaps
    private let style: Styler
    private let settings: SharedSettings
    /// Where one tapped connection's lines go, by its name (`tap3`).
    private let emitter: @Sendable (String) -> @Sendable ([String]) -> Void
    private let state = NIOLockedValueBox(State())
    init(taps: ConnectionTaps, style: Styler, settings: SharedSettings, emitter: @escaping @Sendable (String) -> @Sendable ([String]) -> Void) {
        self.taps = taps
        self.style = style
        self.settings = settings
        self.emitter = emitter
    }

    /// For `wirelab serve --tap`: every connection, printed by `print`.
    public static func printingEverything(of lab: Lab, style: Styler, print: @escaping @Sendable (String) -> Void) -> ServerTap {
        let tap = ServerTap(taps: lab.context.taps, style: style, settings: SharedSettings()) { _ in { $0.forEach(print) } }
        tap.follow(.all)
        return tap
    }

    var selections: [Selection] { state.withLockedValue { $0.selections } }

    /// Starts following `selection`: the connections it names that are open now are shown from
    /// their start (as far as the lab kept it), then live. - Returns: how many are open now.
    @discardableResult
    func follow(_ selection: Selection) -> Int {
        let needsObserver = state.withLockedValue { state -> Bool in
            if !state.selections.contains(selection) { state.selections.append(selection) }
            return state.observer == nil
        }
        if needsObserver {
            let id = taps.observe { [weak self] news in self?.take(news) }
            state.withLockedValue { $0.observer = id }
        }
        let open = taps.live.filter { selection.matches($0) }
        for summary in open { view(for: summary, before: nil) }
        return open.count
    }

    /// Stops following everything. - Returns: what was followed.
    @discardableResult
    public func stop() -> [Selection] {
        let (selections, observer) = state.withLockedValue { state in
            defer { state = State() }
            return (state.selections, state.observer)
        }
        if let observer { taps.stopObserving(observer) }
        return selections
    }

    private func take(_ news: ConnectionTaps.News) {
        let existing = state.withLockedValue { state -> TappedConnection? in state.views[news.summary.id] }
        if let existing {
            existing.take(news)
            if case .closed = news.piece {
                state.withLockedValue { state in
                    state.views.removeValue(forKey: news.summary.id)
                    state.selections.removeAll { $0 == .connection(news.summary.id) }  // it will not come back
                }
            }
            return
        }
        // Not followed yet: is it wanted, now that more is known (its endpoint, once its head is in)?
        let wanted = state.withLockedValue { $0.selections }.contains { $0.matches(news.summary) }
        guard wanted else { return }
        if case .closed = news.piece { return }
        view(for: news.summary, before: news.sequence)?.take(news)
    }

    /// The view of one connection, made and fed its kept start if new.
    @discardableResult
    private func view(for summary: ConnectionTaps.Summary, before sequence: Int?) -> TappedConnection? {
        let (view, isNew) = state.withLockedValue { state -> (TappedConnection, Bool) in
            if let existing = state.views[summary.id] { return (existing, false) }
            let view = TappedConnection(
                summary: summary, style: style, settings: settings, emit: emitter("tap\(summary.id)")
            )
            state.views[summary.id] = view
            return (view, true)
        }
        guard isNew else { return view }
        view.start(from: taps, before: sequence)
        return view
    }
}

/// One tapped connection: its own dissector, like a ``ClientConnection``'s, fed the server's bytes.
final class TappedConnection: Sendable {
    private struct State {
        var dissector = WireDissector(inflaters: ZlibMessageInflater.maker)
        var sse: SSEParser?
        var requestKey: String?
        /// Pieces up to this sequence number were in the history already.
        var next = 0
        /// The kept history ended before the tap began: the rest cannot be taken apart.
        var lost = false
    }

    let name: String
    private let summary: ConnectionTaps.Summary
    private let style: Styler
    private let settings: SharedSettings
    private let emit: @Sendable ([String]) -> Void
    private let state = NIOLockedValueBox(State())

    init(summary: ConnectionTaps.Summary, style: Styler, settings: SharedSettings, emit: @escaping @Sendable ([String]) -> Void) {
        self.name = "tap\(summary.id)"
        self.summary = summary
        self.style = style
        self.settings = settings
        self.emit = emit
    }

    /// Shows the connection from its start, as far as the lab kept it. The history is read while
    /// this view's lock is held, so no live piece is shown before it or twice.
    func start(from taps: ConnectionTaps, before sequence: Int?) {
        let lines = state.withLockedValue { state -> [String] in
            var lines = [style.bold("\(name) · tapping the lab's side of \(summary.peer)") + describe(summary)]
            guard let (history, next) = taps.history(summary.id, before: sequence) else { return lines }
            state.next = next
            for piece in history.pieces { lines += render(piece, into: &state) }
            if !history.complete {
                state.lost = true
                lines.append(style.yellow("\(name) · more than \(ConnectionTaps.historyLimit) bytes went by before the tap; the lab keeps only a connection's start, so the rest cannot be taken apart (frames would be cut in the middle). Tap before connecting: tap all"))
            }
            return lines
        }
        emit(lines)
    }

    func take(_ news: ConnectionTaps.News) {
        let lines = state.withLockedValue { state -> [String] in
            guard news.sequence >= state.next else { return [] }
            state.next = news.sequence + 1
            if case .closed = news.piece {
                let totals = "\(news.summary.bytesUp) B up, \(news.summary.bytesDown) B down"
                let counted = news.summary.tls ? "decrypted, as the lab's TLS handler passed them on" : "as the lab's socket counted them"
                return render(.closed, into: &state) + ["\(name) · TCP connection closed · \(totals), \(counted)"]
            }
            guard !state.lost else { return [] }
            return render(news.piece, into: &state)
        }
        if !lines.isEmpty && !settings.muted { emit(lines) }
    }

    private func describe(_ summary: ConnectionTaps.Summary) -> String {
        var parts: [String] = []
        if let endpoint = summary.endpoint { parts.append("endpoint \(endpoint)") }
        if summary.tls { parts.append("TLS port: the decrypted bytes") }
        if let agent = summary.userAgent { parts.append("User-Agent: \(agent)") }
        return parts.isEmpty ? "" : " · " + parts.joined(separator: " · ")
    }

    private func render(_ piece: ConnectionTaps.Piece, into state: inout State) -> [String] {
        let renderer = WireRenderer(client: name, view: settings.view, style: style, columns: settings.columns)
        switch piece {
        case .closed:
            guard var parser = state.sse else { return [] }
            state.sse = nil
            return parser.finish().flatMap { renderer.render(sseItem: $0) }
        case .bytes(let direction, let bytes):
            return state.dissector.feed(direction, bytes).flatMap { event -> [String] in
                switch event {
                case .httpHead(let direction, let head):
                    var lines = renderer.render(head: head, direction: direction)
                    if direction == .up {
                        state.requestKey = head.field("Sec-WebSocket-Key")
                        state.sse = nil
                    } else if head.status == 101, let key = state.requestKey {
                        lines += renderer.render(acceptCheck: AcceptCheck(key: key, received: head.field("Sec-WebSocket-Accept")))
                    } else if head.field("Content-Type")?.hasPrefix("text/event-stream") == true {
                        state.sse = SSEParser()
                    }
                    return lines
                case .httpBody(let direction, let body):
                    if direction == .down, var parser = state.sse {
                        let items = parser.feed(body)
                        state.sse = parser
                        return items.flatMap { renderer.render(sseItem: $0) }
                    }
                    return renderer.render(body: body, direction: direction)
                case .chunkFraming(let direction, let bytes):
                    return renderer.render(chunkFraming: bytes, direction: direction)
                case .frame(let direction, let frame, let violations):
                    return renderer.render(frame: frame, direction: direction, violations: violations)
                case .reassembled(let direction, let opcode, let payload, let fragments):
                    return renderer.render(reassembled: opcode, payload: payload, fragments: fragments, direction: direction)
                case .undecodable(let direction, let reason, let bytes):
                    return renderer.render(undecodable: reason, bytes: bytes, direction: direction)
                }
            }
        }
    }
}
