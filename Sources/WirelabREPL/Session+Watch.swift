import Lessons
import NIOConcurrencyHelpers
import WireClient
import WireProtocol

/// One `watch` or `plot` on a client's incoming messages. It listens to the client's connection
/// rather than opening one: any number of them share that one connection.
final class Watcher: Sendable {
    enum Kind: Sendable {
        case patterns(StreamWatch.Options)
        /// A sparkline of this numeric field over the last `Watcher.plotLength` values.
        case plot(field: String)
    }

    static let plotLength = 60

    let name: String
    let client: ClientConnection
    let kind: Kind
    /// The terminal's width, read at each line.
    let columns: @Sendable () -> Int
    private let started = ContinuousClock.now
    private let watch: NIOLockedValueBox<StreamWatch>
    private let values = NIOLockedValueBox<[Double]>([])
    private let listener = NIOLockedValueBox<Int?>(nil)
    private let ticker = NIOLockedValueBox<Task<Void, Never>?>(nil)

    init(name: String, client: ClientConnection, kind: Kind, columns: @escaping @Sendable () -> Int) {
        self.columns = columns
        self.name = name
        self.client = client
        self.kind = kind
        let options: StreamWatch.Options
        if case .patterns(let given) = kind { options = given } else { options = StreamWatch.Options() }
        watch = NIOLockedValueBox(StreamWatch(options: options))
    }

    /// Starts listening; `show` prints (above the prompt), `pin` redraws a line in place.
    func start(show: @escaping @Sendable ([String]) -> Void, pin: @escaping @Sendable (String?) -> Void) {
        let id = client.addListener { [self] message in
            switch kind {
            case .patterns:
                let outputs = watch.withLockedValue { $0.offer(message, at: ContinuousClock.now - started) }
                if !outputs.isEmpty { client.record(.watchShown, ["watch": name]) }
                show(render(outputs))
            case .plot(let field):
                guard let value = message[field]?.numberValue else { return }
                let line = values.withLockedValue { values in
                    values.append(value)
                    if values.count > Self.plotLength { values.removeFirst(values.count - Self.plotLength) }
                    return sparklineLine(values)
                }
                pin(line)
            }
        }
        listener.withLockedValue { $0 = id }
        if case .patterns(let options) = kind, options.debounce != nil || options.buffer != nil {
            // Debounce and buffer release messages when time passes, not only when one arrives.
            let task = Task { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(20))
                    let outputs = watch.withLockedValue { $0.tick(at: ContinuousClock.now - started) }
                    if !outputs.isEmpty {
                        client.record(.watchShown, ["watch": name])
                        show(render(outputs))
                    }
                }
            }
            ticker.withLockedValue { $0 = task }
        }
    }

    func stop() {
        if let id = listener.withLockedValue({ $0 }) { client.removeListener(id) }
        ticker.withLockedValue { $0?.cancel() }
    }

    var summary: String {
        switch kind {
        case .patterns:
            let watch = watch.withLockedValue { $0 }
            let filtered = watch.options.type == nil ? "" : ", \(watch.matched) of type \(watch.options.type!)"
            return "\(name) on \(client.name) · \(watch.options.summary) · received \(watch.received)\(filtered), shown \(watch.shown)"
        case .plot(let field):
            return "\(name) on \(client.name) · plot \(field) · \(values.withLockedValue { $0.count }) values"
        }
    }

    /// One line per output, the counts first so that a long message cut at the terminal's edge
    /// never hides them.
    private func render(_ outputs: [StreamWatch.Output]) -> [String] {
        guard !outputs.isEmpty else { return [] }
        let watch = watch.withLockedValue { $0 }
        var counts = "received \(watch.received), shown \(watch.shown)"
        if let last = watch.options.last { counts += ", history \(watch.history.count)/\(last)" }
        return outputs.map { output in
            let line: String = switch output {
            case .message(let message): "\(name) ▸ [\(counts)] \(message.text)"
            case .batch(let batch): "\(name) ▸ [\(counts)] a batch of \(batch.count): \(batch.map(\.text).joined(separator: ", "))"
            }
            return line.fitted(toCells: max(20, columns()))
        }
    }

    private func sparklineLine(_ values: [Double]) -> String {
        guard case .plot(let field) = kind, let latest = values.last else { return "" }
        let format = { (value: Double) in value == value.rounded() ? String(Int(value)) : String(format: "%.3g", value) }
        return "\(name) \(client.name).\(field) \(Sparkline.render(values)) \(format(latest)) · min \(format(values.min()!)) max \(format(values.max()!)) · \(values.count) values"
    }
}

extension Session {
    /// `watch [CLIENT] [--type T] [--throttle D] [--debounce D] [--buffer D] [--last N]`
    func watch(_ words: [String]) throws {
        let usage = CommandHelp.named("watch")!.usage
        var words = words[...]
        var connection = try? requireCurrent()
        if let first = words.first, !first.hasPrefix("--") {
            guard let named = client(named: first) else { throw UsageError("no client named \(first)", usage: usage) }
            connection = named
            words = words.dropFirst()
        }
        guard let connection else { throw UsageError("no client to watch; open one first, e.g. open /ws/dashboard", usage: usage) }
        var options = StreamWatch.Options()
        while let option = words.popFirst() {
            guard let value = words.popFirst() else { throw UsageError("\(option) needs a value", usage: usage) }
            func duration() throws -> Duration {
                guard let duration = parseDuration(value), duration >= .milliseconds(1), duration <= .seconds(3600) else {
                    throw UsageError("\(option) takes a duration such as 200ms or 2s, not \(value)", usage: usage)
                }
                return duration
            }
            switch option {
            case "--type": options.type = value
            case "--throttle": options.throttle = try duration()
            case "--debounce": options.debounce = try duration()
            case "--buffer": options.buffer = try duration()
            case "--last":
                guard let count = Int(value), (1...10_000).contains(count) else { throw UsageError("--last takes a count from 1 to 10000", usage: usage) }
                options.last = count
            default: throw UsageError("unexpected '\(option)'", usage: usage)
            }
        }
        guard [options.throttle, options.debounce, options.buffer].compactMap({ $0 }).count <= 1 else {
            throw UsageError("pick one of --throttle, --debounce and --buffer for a watch (start a second watch for another)", usage: usage)
        }
        addWatcher(on: connection, kind: .patterns(options))
    }

    /// `plot [CLIENT] FIELD`
    func plot(_ words: [String]) throws {
        let usage = CommandHelp.named("plot")!.usage
        let connection: ClientConnection
        let field: String
        switch words.count {
        case 1:
            connection = try requireCurrent()
            field = words[0]
        case 2:
            guard let named = client(named: words[0]) else { throw UsageError("no client named \(words[0])", usage: usage) }
            connection = named
            field = words[1]
        default: throw UsageError("plot takes a numeric field, e.g. plot active_users", usage: usage)
        }
        addWatcher(on: connection, kind: .plot(field: field))
    }

    private func addWatcher(on connection: ClientConnection, kind: Watcher.Kind) {
        let name = "w\(nextWatcher)"
        nextWatcher += 1
        let settings = self.settings
        let watcher = Watcher(name: name, client: connection, kind: kind, columns: { settings.columns })
        let emit = emitter(for: connection.name)
        let console = self.console
        let interactive = self.interactive
        watcher.start(show: { lines in if !lines.isEmpty { emit(lines) } }, pin: { line in
            // On a terminal the sparkline stays on one line above the prompt, redrawn in place.
            if interactive { console.pin(line) } else if let line { emit([line]) }
        })
        watchers.append(watcher)
        let sharing = watchers.filter { $0.client === connection }.count
        console.line(
            "\(watcher.summary) · \(connection.name) keeps its one connection"
                + (sharing > 1 ? ", now shared by \(sharing) watches (as share() does)" : "")
        )
    }

    /// `watches`: every watch with its counts, and how many connections serve them.
    func listWatchers() {
        guard !watchers.isEmpty else {
            console.line("no watches; start one with: watch --throttle 2s (or plot FIELD)")
            return
        }
        for watcher in watchers { console.line(watcher.summary) }
        let served = Set(watchers.map { ObjectIdentifier($0.client) }).count
        console.line(style.dim("\(watchers.count) watch\(watchers.count == 1 ? "" : "es") served by \(served) connection\(served == 1 ? "" : "s"): watching never opens one"))
    }

    /// `unwatch NAME|all`
    func unwatch(_ words: [String]) throws {
        guard let which = words.first, words.count == 1 else { throw UsageError("unwatch takes a watch's name, or all", usage: CommandHelp.named("unwatch")!.usage) }
        let stopping = which == "all" ? watchers : watchers.filter { $0.name == which }
        guard !stopping.isEmpty else { throw UsageError("no watch named \(which); see watches") }
        stop(stopping)
        console.line("stopped " + stopping.map(\.name).joined(separator: ", "))
    }

    /// Stops watches and forgets them; a plot's line above the prompt goes with it.
    func stop(_ stopping: [Watcher]) {
        for watcher in stopping {
            watcher.stop()
            if case .plot = watcher.kind, interactive { console.pin(nil) }
        }
        watchers.removeAll { watcher in stopping.contains { $0 === watcher } }
    }
}
