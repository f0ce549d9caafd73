import Comparison
import Foundation
import Lessons
import LabServer
import NIOWebSocket
import WireClient
import WireProtocol

/// Everything a REPL session knows: the lab, the clients, the settings. Commands run one at a
/// time on this actor; frames arriving meanwhile are printed by their ``ClientConnection``.
actor Session {
    let lab: Lab?
    let labAddress: (host: String, port: Int)?
    let console: any Console
    let style: Styler
    let settings = SharedSettings()
    let randomness: Randomness
    /// False for pipes and transcripts: then commands wait for the answers they cause, so output
    /// comes out in a repeatable order.
    let interactive: Bool

    private var clients: [ClientConnection] = []
    private var current: ClientConnection?
    private(set) var lastAttempt: ClientConnection?
    var nextNumber = 1

    var currentName: String? { current?.name }
    var clientNames: [String] { clients.map(\.name) }

    /// The token from `login`, carried by later `open`s and `http` calls.
    var token: String?
    var loggedInAs: String?
    var nextRequestID = 1
    /// `view compare`: every plain `send` is a `send --compare`.
    var compareEverySend = false
    var watchers: [Watcher] = []
    /// `tap`: the lab's side of connections (Session+Tap.swift).
    var serverTap: ServerTap?
    var nextWatcher = 1
    // Lessons: see Session+Lessons.swift.
    var lessonCatalog: LessonCatalog?
    var lessonProgress: LessonProgress?
    var lessonPosition: LessonPosition? {
        didSet { if lessonPosition != nil { finishedLesson = nil } }
    }
    /// The lesson whose summary was shown last: `back` from there returns to its last step.
    var finishedLesson: Lesson?
    /// A prediction (`answer` on a step whose question is about what comes next), waiting for it.
    var pendingPrediction: (value: String, mark: Int)?
    /// Where progress is saved; nil keeps it in memory only.
    let progressPath: String?
    let lessonDirectory: String?

    /// The lab's broadcast settings when the session began, restored when a lesson starts.
    let labStart: (mode: BroadcastMode, slowReaders: SlowReaderPolicy, budget: Int, rate: MessageRate?)?

    /// In scripts, holds each client's lines so that output order does not depend on timing.
    private let collator: OutputCollator?
    /// The client the running command acts on: its lines are released first.
    private var focus: String?

    init(
        lab: Lab?, labAddress: (host: String, port: Int)?, console: any Console, style: Styler, randomness: Randomness, interactive: Bool,
        progressPath: String? = nil, lessonDirectory: String? = nil
    ) {
        self.progressPath = progressPath
        self.lessonDirectory = lessonDirectory
        self.lab = lab
        self.labStart = lab.map { ($0.context.broadcastMode, $0.context.slowReaders, $0.context.outboundBudget.limit, $0.context.messageRate) }
        self.labAddress = labAddress
        self.collator = interactive ? nil : OutputCollator(base: console)
        self.console = collator ?? console
        self.style = style
        self.randomness = randomness
        self.interactive = interactive
        // What the lab decides on its own (cutting off a slow receiver) is shown, not only logged.
        if let lab {
            let emit = emitter(for: "lab")
            lab.context.noticeHandler = { [style] text in emit([style.yellow("lab · ") + text]) }
        }
    }

    // MARK: Running a line

    /// Runs one input line. - Returns: false when the session should end.
    func execute(_ line: String) async -> Bool {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { return true }
        let word = String(trimmed.prefix { $0 != " " })
        let rest = String(trimmed.dropFirst(word.count).drop { $0 == " " })
        focus = current?.name
        do {
            if word.hasSuffix(":"), let target = client(named: String(word.dropLast())) {
                focus = target.name
                try await send(rest, on: target)
            } else {
                guard try await run(word.lowercased(), rest) else { return false }
            }
        } catch is CancellationError {
            console.line("interrupted")
        } catch let error as UsageError {
            console.line(style.red("error: ") + error.message.withVisibleControlCharacters)
            if let usage = error.usage { console.line("usage: " + usage) }
        } catch {
            console.line(style.red("error: ") + "\(error)".withVisibleControlCharacters)
        }
        // A prediction is judged as soon as the run it predicted is over, under its table.
        if pendingPrediction != nil { settlePrediction() }
        if let collator {
            await settle()
            collator.release(focus: focus)
        }
        return true
    }

    private func run(_ word: String, _ rest: String) async throws -> Bool {
        switch word {
        case "open": try await open(try splitWords(rest))
        case "send": try await send(rest, on: try requireCurrent())
        case "ping": try await ping(rest)
        case "close": try await close(try splitWords(rest))
        case "drop": try await drop()
        case "clients": listClients()
        case "tls": try showTLS(try splitWords(rest))
        case "use": try use(try splitWords(rest))
        case "handshake": try showHandshake(try splitWords(rest))
        case "view": try setView(try splitWords(rest))
        case "endpoints": listEndpoints()
        case "enable", "disable": try await toggle(word == "enable", try splitWords(rest))
        case "fault": try fault(try splitWords(rest))
        case "wait": try await wait(try splitWords(rest))
        case "set": try await set(try splitWords(rest))
        case "http": try await http(rest)
        case "login": try await login(try splitWords(rest))
        case "logout": logout()
        case "predict": try await predict(try splitWords(rest))
        case "compare": try await compare(try splitWords(rest))
        case "queue": try showQueue()
        case "lessons": listLessons()
        case "lesson": try await startLesson(try splitWords(rest))
        case "next": try moveStep(by: 1)
        case "back": try moveStep(by: -1)
        case "hint": try showHint()
        case "check": try checkStep()
        case "answer": try answer(rest)
        case "explain": try explain(rest)
        case "block", "unblock": try block(word == "block", try splitWords(rest))
        case "watch": try watch(try splitWords(rest))
        case "watches": listWatchers()
        case "unwatch": try unwatch(try splitWords(rest))
        case "plot": try plot(try splitWords(rest))
        case "last": try showLast(try splitWords(rest))
        case "tap": try tap(try splitWords(rest))
        case "untap": untap()
        case "peer": try await peer(try splitWords(rest))
        case "help", "?": try help(try splitWords(rest))
        case "quit", "exit": return false
        case "clear": console.clearScreen()
        default:
            var message = "unknown command '\(word)'"
            if let guess = CommandHelp.suggestion(for: word) { message += "; did you mean '\(guess.name)'? (\(guess.usage))" }
            throw UsageError(message + " · type help for the list")
        }
        return true
    }

    // MARK: Clients

    func open(_ words: [String]) async throws {
        let usage = CommandHelp.named("open")!.usage
        // --reconnect may come anywhere: open --reconnect /ws/chat/ann reads naturally.
        let reconnect = words.contains("--reconnect")
        // So may --tls (a path on the lab's TLS port) and --insecure (no certificate check).
        let overTLS = words.contains("--tls")
        let insecure = words.contains("--insecure")
        var words = words.filter { !["--reconnect", "--tls", "--insecure"].contains($0) }[...]
        var eventStream = false
        let viaProxy = words.contains("--buffering-proxy")
        words = words.filter { $0 != "--buffering-proxy" }
        if words.first == "sse" || words.first == "--sse" {
            eventStream = true
            words = words.dropFirst()
        }
        guard let where_ = words.popFirst() else { throw UsageError("open needs a path or URL", usage: usage) }
        // open auto /chat/NAME: the first transport that works (see Session+Fallback.swift).
        var autoPath: String?
        if where_ == "auto" {
            guard let path = words.popFirst() else { throw UsageError("open auto takes /chat/NAME or /room/ROOM/NAME", usage: usage) }
            autoPath = path
        }
        var name: String?
        var key: String?
        var explicitToken: String?
        var origin: String?
        var deflate: DeflateOffer?
        while let word = words.popFirst() {
            switch word {
            case "--deflate":
                deflate = deflate ?? DeflateOffer()
            case "--no-context-takeover":
                deflate = deflate ?? DeflateOffer()
                deflate?.noContextTakeover = true
            case "--window-bits":
                guard let value = words.popFirst(), let bits = Int(value), DeflateOffer.windowBitsRange.contains(bits) else {
                    throw UsageError("--window-bits takes 9 to 15: the LZ77 window is 2^N bytes (zlib's raw deflate cannot compress with 8)", usage: usage)
                }
                deflate = deflate ?? DeflateOffer()
                deflate?.windowBits = bits
            case "--origin":
                guard let value = words.popFirst(), value.hasPrefix("http://") || value.hasPrefix("https://") || value == "null" else {
                    throw UsageError("--origin takes the page's origin, such as https://evil.example", usage: usage)
                }
                origin = value
            case "--token":
                guard let value = words.popFirst() else { throw UsageError("--token needs a value", usage: usage) }
                explicitToken = value
            case "as":
                guard let value = words.popFirst() else { throw UsageError("`as` needs a name", usage: usage) }
                name = value
            case "--key":
                guard let value = words.popFirst(), !value.isEmpty else { throw UsageError("--key needs a value", usage: usage) }
                key = value
            default: throw UsageError("unexpected '\(word)'", usage: usage)
            }
        }
        if deflate != nil, eventStream || autoPath != nil {
            throw UsageError("--deflate is a WebSocket extension: it goes with open PATH, not open sse or open auto", usage: usage)
        }
        if let autoPath { return try await openAuto(autoPath, as: name) }
        var target = try self.target(where_, tls: overTLS, usage: usage)
        notePercentEncoding(target)
        noteEmptyParameter(target)
        let token = explicitToken ?? self.token
        let clientName = name ?? "c\(nextNumber)"
        guard clientName.first?.isLetter == true, clientName.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw UsageError("a client name starts with a letter and has only letters, digits, _ and -", usage: usage)
        }
        if let existing = client(named: clientName), !existing.isClosed {
            throw UsageError("\(clientName) is already open; close it or pick another name with `as`")
        }
        if eventStream {
            if reconnect { console.line(style.dim("(an event stream always reconnects by itself, as EventSource does)")) }
            try await openEventStream(target, name: clientName, numbered: name == nil, token: token, viaProxy: viaProxy, insecure: insecure)
            return
        }
        if viaProxy { throw UsageError("--buffering-proxy goes with open sse: it shows what buffering does to an event stream", usage: usage) }
        let firstMessageAuth = tokenTravels(to: target) == .firstMessage
        if let token, tokenTravels(to: target) == .query, !target.path.contains("token=") {
            // The guide's method 1: the token rides in the URL (and so in the request line, and in logs).
            target.path += (target.path.contains("?") ? "&" : "?") + "token=" + token
        }
        let requestKey = key ?? randomness.requestKey()
        if !Handshake.isValidKey(requestKey) {
            console.line(style.yellow("note: ") + "\(requestKey) is not 16 bytes of base64, so a correct server will refuse it")
        }
        focus = clientName
        let emit = emitter(for: clientName)
        let connection = ClientConnection(
            name: clientName, target: target, requestKey: requestKey, hint: hint(for: target), style: style, settings: settings, emit: emit
        )
        lastAttempt = connection
        connection.origin = origin
        connection.deflate = deflate
        console.line("\(clientName) · connecting to \(target)" + (origin.map { " as a page from \($0) would (Origin: \($0))" } ?? ""))
        let outcome: WebSocketClient.ConnectOutcome
        do {
            outcome = try await WebSocketClient.connect(
                to: target, requestKey: requestKey, randomness: randomness, origin: origin, deflate: deflate,
                tls: clientTLS(for: target, insecure: insecure, connection: connection), tap: connection.observe
            )
        } catch let error as WebSocketClient.HandshakeFailed {
            if error.extensionProblem != nil {
                // The client's own stream has shown the 101, the rule it broke, and the close.
                await connection.wait(upTo: .seconds(2)) { $0.isClosed }
                return
            }
            throw UsageError("\(clientName) · \(error.description)")
        } catch {
            throw UsageError("\(clientName) · cannot connect to \(target.host):\(target.port): \(Self.explain(error))")
        }
        // The client's own stream says "open" or "refused", in wire order.
        if reconnect {
            // The guide's RobustWsService: reconnect with backoff, and a heartbeat every 30 s.
            connection.backoff = Backoff()
            connection.heartbeat = Heartbeat()
            startHeartbeat(connection)
        }
        switch outcome {
        case .refused:
            await connection.wait(upTo: .seconds(2)) { $0.isClosed }
            // A client that reconnects keeps trying: it exists, disconnected, from now on.
            if reconnect {
                if name == nil { nextNumber += 1 }
                clients.removeAll { $0.name == clientName }
                clients.append(connection)
                current = connection
                superviseReconnects(connection)
            }
        case .open(let client):
            if name == nil { nextNumber += 1 }
            connection.client = client
            clients.removeAll { $0.name == clientName }
            clients.append(connection)
            current = connection
            if reconnect { superviseReconnects(connection) }
            if firstMessageAuth, let token {
                // The guide's method 2: the token goes in the first message, not in the URL.
                console.line("\(clientName) · /ws/secure wants the token in the first message, within 5 s: sending it now")
                try await send(JSON.object([("type", "auth"), ("token", .string(token))]).text, on: connection)
            }
        }
    }

    /// Where a client's lines go: held for scripts, straight out on a terminal.
    nonisolated func emitter(for clientName: String) -> @Sendable ([String]) -> Void {
        if let collator {
            return { collator.hold($0, client: clientName) }
        }
        return { [console] in console.lines($0) }
    }

    func setFocus(_ name: String) { focus = name }

    /// A first message worth sending, from the endpoint the target is on.
    func hint(for target: WebSocketTarget) -> String {
        guard let lab, isOnLab(target), case .route(let endpoint, _, _) = lab.registry.resolveWebSocket(path: target.path)
        else { return "send hello" }
        return endpoint.firstMessage
    }

    func send(_ text: String, on connection: ClientConnection) async throws {
        let usage = CommandHelp.named("send")!.usage
        if text.hasPrefix("--compare") || (compareEverySend && !text.hasPrefix("--")) {
            let message = text.hasPrefix("--compare") ? String(text.dropFirst("--compare".count).drop { $0 == " " }) : text
            guard !message.isEmpty else { throw UsageError("send --compare needs a message", usage: usage) }
            try await sendComparing(message, on: connection)
            return
        }
        if connection.kind != .webSocket, let postPath = connection.postPath {
            // SSE or long polling: the client's own connection only listens; what it says goes up
            // as a POST on the kept-alive http connection (as SignalR and Socket.IO do).
            guard !text.isEmpty, !text.hasPrefix("--") else { throw UsageError("\(connection.name) sends plain messages only, as POST \(postPath)", usage: usage) }
            console.line("\(connection.name) · \(connection.kind == .eventStream ? "an event stream" : "long polling") listens only: sending as POST \(postPath)")
            _ = try await exchange(method: "POST", path: postPath, body: text, token: token)
            setFocus(connection.name)
            return
        }
        if connection.kind == .webSocket, connection.backoff != nil, connection.client == nil || connection.isClosed, !text.hasPrefix("--") {
            // Disconnected, but coming back: keep the message for then, as the guide's RobustWsService does.
            if text.hasPrefix("{") || text.hasPrefix("[") { try checkJSON(text, resend: "send --raw \(text)") }
            guard let waiting = connection.enqueue(text) else { throw UsageError("\(connection.name)'s queue is full; nothing more is kept until it is back") }
            console.line("\(connection.name) is not connected: queued (\(waiting) waiting) · it goes out when \(connection.name) is back; see queue")
            return
        }
        if text.hasPrefix("--fragment") { return try await sendFragmented(text, on: connection) }
        let client = try requireOpen(connection)
        var rest = Substring(text)
        var copies = 1
        if rest.hasPrefix("--repeat") {
            let words = rest.dropFirst("--repeat".count).drop { $0 == " " }.split(separator: " ", maxSplits: 1)
            guard let count = words.first.flatMap({ Int($0) }), (1...1000).contains(count), words.count == 2 else {
                throw UsageError("--repeat takes a count from 1 to 1000 and then the message, e.g. --repeat 20 --fill 50000 {}", usage: usage)
            }
            copies = count
            rest = words[1]
        }
        var spacing: Duration?
        if copies > 1, rest.hasPrefix("--every") {
            let words = rest.dropFirst("--every".count).drop { $0 == " " }.split(separator: " ", maxSplits: 1)
            guard let every = words.first.flatMap({ parseDuration(String($0)) }), every <= .seconds(10), words.count == 2 else {
                throw UsageError("--every takes a duration up to 10s and then the message, e.g. --repeat 10 --every 50ms hello", usage: usage)
            }
            spacing = every
            rest = words[1]
        }
        var opcode = WebSocketOpcode.text
        var payloads: [[UInt8]]
        if rest.hasPrefix("--binary") {
            let hex = rest.dropFirst("--binary".count).trimmingCharacters(in: .whitespaces)
            guard let bytes = parseHex(hex), !hex.isEmpty else {
                throw UsageError("--binary takes hex digits in pairs, e.g. --binary 01ff", usage: usage)
            }
            opcode = .binary
            payloads = Array(repeating: bytes, count: copies)
        } else if rest.hasPrefix("--text-bytes") {
            // A text frame whose bytes you choose, checked by nobody on this side: c3 28 is not
            // UTF-8, and a strict server fails the connection with 1007.
            let hex = rest.dropFirst("--text-bytes".count).trimmingCharacters(in: .whitespaces)
            guard let bytes = parseHex(hex), !hex.isEmpty else {
                throw UsageError("--text-bytes takes hex digits in pairs, e.g. --text-bytes c328 (not UTF-8)", usage: usage)
            }
            payloads = Array(repeating: bytes, count: copies)
        } else if rest.hasPrefix("--fill") {
            let words = rest.dropFirst("--fill".count).drop { $0 == " " }.split(separator: " ", maxSplits: 1)
            guard let size = words.first.flatMap({ Int($0) }), size >= 0, size <= 16 << 20 else {
                throw UsageError("--fill takes a byte count from 0 to 16777216, e.g. --fill 70000", usage: usage)
            }
            if words.count == 2 {
                payloads = try filledTexts(template: String(words[1]), size: size, copies: copies).map { Array($0.utf8) }
            } else {
                payloads = Array(repeating: Self.letters(size), count: copies)
            }
        } else if rest.hasPrefix("--raw") {
            let raw = String(rest.dropFirst("--raw".count).drop { $0 == " " })
            guard !raw.isEmpty else { throw UsageError("send --raw needs a message", usage: usage) }
            payloads = Array(repeating: Array(raw.utf8), count: copies)
        } else {
            guard !rest.isEmpty else { throw UsageError("send needs a message", usage: usage) }
            if rest.hasPrefix("--") {
                let option = rest.prefix { $0 != " " }
                throw UsageError("send has no option \(option) here (to send text that starts with --, use send --raw \(rest))", usage: usage)
            }
            // What looks like JSON is checked before it goes: a typo should not cost a round trip.
            if rest.hasPrefix("{") || rest.hasPrefix("[") {
                try checkJSON(String(rest), resend: "send --raw \(rest)")
            }
            payloads = Array(repeating: Array(rest.utf8), count: copies)
        }
        let before = connection.framesDown
        if let spacing {
            for (index, payload) in payloads.enumerated() {
                if index > 0 { try await Task.sleep(for: spacing) }
                try await client.send(opcode, payload: payload)
            }
        } else if opcode == .text && payloads.count > 1 {
            // One flush for the lot, so they leave back to back, as a busy client's would.
            try await client.sendTexts(payloads.map { String(decoding: $0, as: UTF8.self) })
        } else {
            for payload in payloads { try await client.send(opcode, payload: payload) }
        }
        if !interactive {
            await connection.wait(upTo: .seconds(3)) { $0.framesDown > before || $0.isClosed }
        }
    }

    /// `size` letters, a-z over and over: easy to count, and plain ASCII, so bytes = characters.
    private static func letters(_ size: Int, after prefix: String = "") -> [UInt8] {
        let pattern = Array("abcdefghijklmnopqrstuvwxyz".utf8)
        return Array(prefix.utf8.prefix(size)) + (0..<max(0, size - prefix.utf8.count)).map { pattern[$0 % pattern.count] }
    }

    /// A JSON object with its `text` set to `size` letters (the field every chat endpoint reads);
    /// numbered `1:`, `2:`, … when repeated, so the copies can be told apart where they arrive.
    private func filledTexts(template: String, size: Int, copies: Int) throws -> [String] {
        let usage = CommandHelp.named("send")!.usage
        guard let parsed = try? JSON(parsing: template), case .object(let members) = parsed else {
            throw UsageError("--fill N {…} takes a JSON object and sets its \"text\" to N letters, e.g. --fill 600 {\"type\":\"message\"}", usage: usage)
        }
        return (1...copies).map { number in
            let text = String(decoding: Self.letters(size, after: copies > 1 ? "\(number):" : ""), as: UTF8.self)
            var filled = members.filter { $0.0 != "text" }
            if let index = members.firstIndex(where: { $0.0 == "text" }) {
                filled.insert(("text", .string(text)), at: index)
            } else {
                filled.append(("text", .string(text)))
            }
            return JSON.object(filled).text
        }
    }

    private func ping(_ text: String) async throws {
        let connection = try requireCurrent()
        let client = try requireOpen(connection)
        let payload = Array(text.utf8)
        guard payload.count <= 125 else {
            throw UsageError("a ping carries at most 125 bytes (RFC 6455 §5.5); that text is \(payload.count)", usage: "ping [TEXT]")
        }
        let before = connection.framesDown
        try await client.send(.ping, payload: payload)
        if !interactive {
            await connection.wait(upTo: .seconds(3)) { $0.framesDown > before || $0.isClosed }
        }
    }

    private func close(_ words: [String]) async throws {
        let usage = CommandHelp.named("close")!.usage
        let connection = try requireCurrent()
        if connection.kind != .webSocket {
            connection.closedByUser = true
            await connection.http?.close()
            await connection.wait(upTo: .seconds(3)) { $0.isClosed }
            return
        }
        if connection.backoff != nil, connection.client == nil || connection.isClosed {
            // Stop a client that is between connections: nothing to close on the wire.
            connection.closedByUser = true
            connection.reconnecting = nil
            console.line("\(connection.name) closed · it will not reconnect" + (connection.queued.isEmpty ? "" : "; \(connection.queued.count) queued messages are dropped"))
            return
        }
        let client = try requireOpen(connection)
        connection.closedByUser = true  // a close you asked for is never followed by a reconnection
        var code: UInt16? = 1000
        var reason = ""
        if let first = words.first {
            guard let value = UInt16(first) else { throw UsageError("the close code must be a number from 0 to 65535", usage: usage) }
            code = value
            reason = words.dropFirst().joined(separator: " ")
        }
        guard reason.utf8.count <= 123 else {
            throw UsageError("a close reason fits in 123 bytes (125 minus the 2-byte code); that one is \(reason.utf8.count)", usage: usage)
        }
        if let code, !CloseCode(code: code).mayAppearOnWire {
            console.line(style.yellow("note: ") + "\(code) may not be sent in a close frame; watch how the server answers")
        }
        try await client.close(code: code, reason: reason)
        await connection.wait(upTo: .seconds(3)) { $0.isClosed }
    }

    private func drop() async throws {
        let connection = try requireCurrent()
        if connection.kind != .webSocket {
            // For an event stream, this is a network failure: watch it reconnect.
            await connection.http?.close()
            await connection.wait(upTo: .seconds(3)) { $0.isClosed }
            return
        }
        let client = try requireOpen(connection)
        await client.drop()
        await connection.wait(upTo: .seconds(2)) { $0.isClosed }
    }

    private func use(_ words: [String]) throws {
        guard words.count == 1, let name = words.first else { throw UsageError("use needs one client name", usage: "use NAME") }
        guard let connection = client(named: name) else { throw UsageError(unknownClient(name)) }
        current = connection
        console.line("\(name) is now the current client (\(connection.stateDescription), \(connection.address))")
    }

    private func listClients() {
        guard !clients.isEmpty else {
            console.line("no clients yet; open one with: open /ws/echo")
            return
        }
        for connection in clients {
            let marker = connection === current ? "*" : " "
            let ledger = connection.ledger
            let extras = [
                connection.backoff.map { _ in "reconnects" }, connection.heartbeat.map { "heartbeat \($0.interval.spoken)" },
                connection.queued.isEmpty ? nil : "\(connection.queued.count) queued",
            ].compactMap { $0 }
            console.line("\(marker) \(connection.name.padding(6)) \(connection.stateDescription.padding(9)) \(connection.address)" + (extras.isEmpty ? "" : " · " + extras.joined(separator: " · ")))
            for (label, tally) in [("up  ", ledger.up), ("down", ledger.down)] {
                let parts: String
                switch connection.kind {
                case .webSocket:
                    parts = "handshake \(tally.httpHeads + tally.httpBodies) + frame headers \(tally.frameHeaders) + payload \(tally.framePayloads)"
                        + (tally.other > 0 ? " + other \(tally.other)" : "") + " · \(tally.frames) frame\(tally.frames == 1 ? "" : "s")"
                case .http, .eventStream, .longPolling:
                    parts = "HTTP heads \(tally.httpHeads) + bodies \(tally.httpBodies)"
                        + (tally.chunkFraming > 0 ? " + chunk framing \(tally.chunkFraming)" : "") + (tally.other > 0 ? " + other \(tally.other)" : "")
                }
                console.line("    \(label) \(String(tally.total).leftPadded(7)) B = " + parts)
            }
            if let layer = connection.tlsLayer { console.lines(tlsLedgerLines(layer, decrypted: ledger)) }
        }
        console.line(style.dim("(* = current client; bytes as counted by each client's wire tap"
            + (clients.contains { $0.tlsLayer != nil } ? "; over TLS, up and down count the decrypted layer, wire the TLS records the socket carried)" : ")")))
    }

    private func showHandshake(_ words: [String]) throws {
        let connection: ClientConnection
        if let name = words.first {
            guard let named = client(named: name) ?? (lastAttempt?.name == name ? lastAttempt : nil) else { throw UsageError(unknownClient(name)) }
            connection = named
        } else {
            guard let last = current ?? lastAttempt else { throw UsageError("no handshake yet; open a client first: open /ws/echo") }
            connection = last
        }
        let lines = connection.renderHandshake()
        guard !lines.isEmpty else { throw UsageError("\(connection.name) has no handshake to show: it has not sent a request head yet") }
        console.lines(lines)
    }

    private func setView(_ words: [String]) throws {
        let usage = CommandHelp.named("view")!.usage
        if words.count == 1, words[0].lowercased() == "compare" {
            compareEverySend = true
            console.line("view: compare · every send is also done over the HTTP twin and measured (view \(settings.view.rawValue) to stop)")
            return
        }
        guard words.count == 1, let level = ViewLevel(rawValue: words[0].lowercased()) else {
            throw UsageError("view takes one of: quiet, frames, bytes, compare (now: \(settings.view.rawValue))", usage: usage)
        }
        settings.view = level
        compareEverySend = false
        console.line("view: \(level.rawValue)")
    }

    // MARK: Lab

    func requireLab() throws -> Lab {
        guard let lab else { throw UsageError("no lab server runs in this session") }
        return lab
    }

    private func listEndpoints() {
        guard let lab, let labAddress else {
            console.line("no lab server runs in this session")
            return
        }
        let registry = lab.registry
        let width = registry.endpoints.map(\.name.count).max() ?? 0
        let base = "\(labAddress.host):\(labAddress.port)"
        for endpoint in registry.endpoints {
            let state = registry.isEnabled(endpoint.name) ? style.green("on ") : style.red("off")
            console.line("\(endpoint.name.padding(width))  \(state)  \(endpoint.summary)")
            for route in endpoint.webSocketRoutes {
                console.line("    " + "WS".padding(6) + " ws://\(base)\(route.pattern)")
            }
            for route in endpoint.httpRoutes {
                console.line("    " + route.method.rawValue.padding(6) + " http://\(base)\(route.pattern)")
            }
        }
        if let tlsPort = lab.tlsPort {
            console.line(style.dim("each also over TLS, as wss://\(Self.tlsHostName):\(tlsPort)/… and https://\(Self.tlsHostName):\(tlsPort)/… (open --tls PATH, http --tls METHOD PATH)"))
        }
    }

    private func toggle(_ on: Bool, _ words: [String]) async throws {
        let usage = on ? "enable NAME" : "disable NAME"
        let lab = try requireLab()
        guard words.count == 1, let name = words.first else { throw UsageError("\(usage.split(separator: " ")[0]) needs one endpoint name", usage: usage) }
        do {
            try lab.registry.setEnabled(name, on)
        } catch let error as EndpointRegistry.UnknownEndpoint {
            throw UsageError(error.description, usage: usage)
        }
        guard !on else {
            console.line("\(name) is on")
            return
        }
        let live = lab.registry.connections.count(endpoint: name)
        let closing = live == 0 ? "" : " · closing \(live) live connection\(live == 1 ? "" : "s") with 1001 going away"
        console.line("\(name) is off · new upgrades get 503" + closing)
        await lab.registry.connections.closeAll(endpoint: name, code: .goingAway, reason: EndpointRegistry.switchedOffReason(name))
    }

    /// `fault NAME`: the endpoint's handler fails on the next message it reads, as a bug would.
    private func fault(_ words: [String]) throws {
        let usage = CommandHelp.named("fault")!.usage
        let lab = try requireLab()
        guard !words.isEmpty else {
            let armed = lab.registry.armedFaults
            console.line(armed.isEmpty ? "no failure is armed; fault NAME arms one" : "armed: " + armed.joined(separator: ", "))
            return
        }
        guard words.count == 1, let name = words.first else { throw UsageError("fault needs one endpoint name", usage: usage) }
        do {
            try lab.registry.armFault(name)
        } catch let error as EndpointRegistry.UnknownEndpoint {
            throw UsageError(error.description, usage: usage)
        }
        console.line(
            "\(name) · armed: its handler throws an error it does not expect on the next message it reads, "
                + "and the server closes that connection with 1011 internal error"
        )
    }

    private func set(_ words: [String]) async throws {
        let usage = CommandHelp.named("set")!.usage
        switch words.first {
        case "reconnect": return try setReconnect(Array(words.dropFirst()))
        case "heartbeat": return try setHeartbeat(Array(words.dropFirst()))
        case "reading": return try await setReading(Array(words.dropFirst()))
        case "deflate":
            guard words.count == 2, ["on", "off"].contains(words[1]) else {
                throw UsageError("set deflate takes on (accept permessage-deflate when a client offers it, as uvicorn does) or off", usage: usage)
            }
            let lab = try requireLab()
            lab.context.compression.acceptsDeflate = words[1] == "on"
            console.line(words[1] == "on"
                ? "deflate: on · upgrades that offer permessage-deflate are answered with it; their data frames may be compressed (RSV1=1)"
                : "deflate: off · offers of permessage-deflate are declined; connections open uncompressed · those already open keep what they agreed")
            return
        case "pings":
            guard words.count == 2, ["quiet", "shown"].contains(words[1]) else {
                throw UsageError("set pings takes quiet (one line for each ping the server sends; the default) or shown (every bit of it and of the pong)", usage: usage)
            }
            settings.pingsShown = words[1] == "shown"
            console.line(settings.pingsShown
                ? "pings: shown · the server's pings and the pongs that answer them appear in full"
                : "pings: quiet · one line for each ping the server sends, none for the pong that answers it; pings you send are shown in full")
            return
        default: break
        }
        guard words.count >= 2 else { throw UsageError("set takes a setting and a value", usage: usage) }
        switch words[0] {
        case "rate":
            let lab = try requireLab()
            if words[1] == "off" {
                guard words.count == 2 else { throw UsageError("set rate off takes nothing more", usage: usage) }
                lab.context.messageRate = nil
                console.line("rate: off · chat, room and live chat take messages as fast as any one client sends them (as the guide does), for connections opened from now on")
                return
            }
            guard let perSecond = Double(words[1]), perSecond > 0, perSecond <= 100_000 else {
                throw UsageError("rate is a number of messages a second (above 0, at most 100000) or off, not \(words[1])", usage: usage)
            }
            var burst = Int((perSecond * 2).rounded(.up))
            let options = Array(words.dropFirst(2))
            if !options.isEmpty {
                guard options.count == 2, options[0] == "--burst", let value = Int(options[1]), (1...100_000).contains(value) else {
                    throw UsageError("set rate takes one option: --burst N (1 to 100000 messages back to back)", usage: usage)
                }
                burst = value
            }
            let rate = MessageRate(perSecond: perSecond, burst: burst)
            lab.context.messageRate = rate
            console.line("rate: \(rate.description) per connection on chat, room and live chat, for connections opened from now on · faster messages get an error reply, and after \(rate.strikes) of those the connection is closed with 1008")
        case "broadcast":
            let lab = try requireLab()
            guard let mode = BroadcastMode(rawValue: words[1]) else {
                throw UsageError("broadcast is queued or naive, not \(words[1])", usage: usage)
            }
            let options = Array(words.dropFirst(2))
            if !options.isEmpty {
                guard mode == .queued else { throw UsageError("only queued takes options: --stall DURATION, --cap SIZE, --budget SIZE", usage: usage) }
                lab.context.slowReaders = try Self.slowReaderPolicy(options, from: lab.context.slowReaders, budget: lab.context.outboundBudget, usage: usage)
            }
            lab.context.broadcastMode = mode
            switch mode {
            case .queued: console.line("broadcast: queued · each receiver has its own queue; a slow one delays nobody · a receiver is \(lab.context.slowReaders.description) · all queues together hold at most \(ByteSize(lab.context.outboundBudget.limit)), then senders wait")
            case .naive: console.line("broadcast: naive · the guide's loop: each send is awaited in turn, so one stuck receiver stalls everyone")
            }
        default:
            throw UsageError("no setting named \(words[0]); the settings are: broadcast, rate, reconnect, heartbeat, reading", usage: usage)
        }
    }

    /// `--stall 10s`, `--cap 16MiB`, `--budget 256MiB`, in any order: the slow-reader rule and the
    /// lab's budget (set on `budget` directly); the rule with the changes is returned.
    static func slowReaderPolicy(_ options: [String], from policy: SlowReaderPolicy, budget: OutboundBudget, usage: String) throws -> SlowReaderPolicy {
        var policy = policy
        var newBudget: Int?
        var rest = options[...]
        while let option = rest.popFirst() {
            guard let value = rest.popFirst() else { throw UsageError("\(option) needs a value", usage: usage) }
            switch option {
            case "--stall":
                guard let stall = parseDuration(value), stall >= .milliseconds(100), stall <= .seconds(600) else {
                    throw UsageError("--stall takes a duration from 100ms to 600s, such as 10s, not '\(value)'", usage: usage)
                }
                policy.stallLimit = stall
            case "--cap", "--budget":
                guard let size = LabLimits.parseByteCount(value), (1024...(1 << 34)).contains(size) else {
                    throw UsageError("\(option) takes a size from 1KiB to 16GiB, such as 64KiB or 16MiB, not '\(value)'", usage: usage)
                }
                if option == "--cap" { policy.queueByteCap = size } else { newBudget = size }
            default:
                throw UsageError("queued takes --stall DURATION, --cap SIZE and --budget SIZE, not \(option)", usage: usage)
            }
        }
        if let newBudget { budget.limit = newBudget }
        return policy
    }

    /// `set reading off|on`: the current client stops (or goes back to) reading its socket, the way
    /// a frozen tab or a phone on a bad link stops taking bytes while its TCP connection lives on.
    private func setReading(_ words: [String]) async throws {
        let usage = CommandHelp.named("set")!.usage
        guard words.count == 1, let on = ["on": true, "off": false][words[0]] else {
            throw UsageError("set reading takes on or off", usage: usage)
        }
        let connection = try requireCurrent()
        guard connection.kind == .webSocket else { throw UsageError("set reading works on WebSocket clients; \(connection.name) is not one") }
        let client = try requireOpen(connection)
        // Said first: once reading resumes, what waited arrives at once and is shown below this.
        if on {
            console.line("\(connection.name) reads its socket again · what waited in the buffers arrives now")
        } else {
            console.line("\(connection.name) stops reading its socket · the connection stays open; its receive buffer, then the server's send buffer, fill up and stay full")
        }
        try await client.setReading(on)
    }

    private func showLast(_ words: [String]) throws {
        let connection: ClientConnection
        if let name = words.first {
            guard let named = client(named: name) else { throw UsageError(unknownClient(name)) }
            connection = named
        } else {
            connection = try requireCurrent()
        }
        guard let lines = connection.renderLastFrame(view: settings.view == .bytes ? .bytes : .frames) else {
            throw UsageError("\(connection.name) has received no frame yet")
        }
        console.lines(lines)
    }

    private func wait(_ words: [String]) async throws {
        guard words.count == 1, let duration = parseDuration(words[0]), duration <= .seconds(60) else {
            throw UsageError("wait takes a duration up to 60s, e.g. 500ms or 2s", usage: "wait DURATION")
        }
        try await Task.sleep(for: duration)
    }

    private func help(_ words: [String]) throws {
        if let name = words.first {
            guard let command = CommandHelp.named(name.lowercased()) else {
                var message = "no command '\(name)'"
                if let guess = CommandHelp.suggestion(for: name) { message += "; did you mean '\(guess.name)'?" }
                throw UsageError(message)
            }
            console.lines(["usage: " + command.usage, "  " + command.summary] + command.details.map { "  " + $0 })
            return
        }
        let width = CommandHelp.all.map(\.name.count).max() ?? 0
        var lines: [String] = []
        for topic in CommandHelp.topics {
            lines.append(style.bold(topic.title))
            lines += topic.commands.compactMap(CommandHelp.named).map { "  " + $0.name.padding(width) + "  " + $0.summary }
            if topic.title == "sending" { lines.append("  NAME: MESSAGE".padding(width + 4) + "send MESSAGE on the client NAME") }
        }
        console.lines(lines + ["help COMMAND explains one command; Tab completes commands, options, clients and paths."])
    }

    // MARK: Helpers

    func client(named name: String) -> ClientConnection? {
        clients.first { $0.name == name }
    }

    func requireCurrent() throws -> ClientConnection {
        guard let current else { throw UsageError("no client yet; open one first: open /ws/echo") }
        return current
    }

    /// Registers a client. The `http` client does not become the current one: `send` and
    /// `close` keep going to the WebSocket or stream you were using.
    /// Forgets a client that never got going (a fallback attempt that failed), keeping its number.
    func clientsRemove(_ name: String) {
        clients.removeAll { $0.name == name }
        if current?.name == name { current = clients.last }
    }

    func add(_ connection: ClientConnection, numbered: Bool, makeCurrent: Bool = true) {
        if numbered { nextNumber += 1 }
        clients.removeAll { $0.name == connection.name }
        clients.append(connection)
        if makeCurrent { current = connection }
    }

    func requireOpen(_ connection: ClientConnection) throws -> WebSocketClient {
        guard connection.kind == .webSocket else {
            throw UsageError("\(connection.name) is not a WebSocket client; it cannot send frames (use http, or open a WebSocket)")
        }
        guard let client = connection.client, !connection.isClosed else {
            throw UsageError("\(connection.name) is closed; open it again with: open \(connection.target.path) as \(connection.name)")
        }
        return client
    }

    private func unknownClient(_ name: String) -> String {
        clients.isEmpty ? "no client named \(name); there are none yet" : "no client named \(name); the clients are: \(clients.map(\.name).joined(separator: ", "))"
    }

    static func explain(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("refused") || text.contains("ECONNREFUSED") { return "connection refused (nothing listens on that port)" }
        if text.contains("timeout") || text.contains("Timeout") { return "timed out" }
        return text
    }

    /// Waits until no client has seen wire activity for a short while (scripts only).
    func settle() async {
        let deadline = ContinuousClock.now + .seconds(3)
        var last = clients.map(\.eventsSeen).reduce(0, +)
        while ContinuousClock.now < deadline && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(120))
            let now = clients.map(\.eventsSeen).reduce(0, +)
            if now == last { return }
            last = now
        }
    }

    /// A clean slate for a lesson: every client closed (1000, quietly) and forgotten, numbering from
    /// c1 again, watches stopped. - Returns: the names of the clients that were closed.
    func forgetClients() async -> [String] {
        let names = clients.filter { !$0.isClosed }.map(\.name)
        let wasMuted = settings.muted
        settings.muted = true
        stop(watchers)
        for connection in clients where !connection.isClosed {
            connection.closedByUser = true
            try? await connection.client?.close(code: 1000, reason: "")
            await connection.http?.close(grace: .milliseconds(200))
            await connection.wait(upTo: .seconds(1)) { $0.isClosed }
        }
        clients = []
        current = nil
        lastAttempt = nil
        nextNumber = 1
        settings.muted = wasMuted
        return names
    }

    /// Closes every open client with 1001 "going away", as a browser does when a page closes.
    func closeAll() async {
        settings.muted = true
        stop(watchers)
        for connection in clients where !connection.isClosed {
            connection.closedByUser = true  // nothing reconnects or polls again
            try? await connection.client?.close(code: 1001, reason: "client leaving")
            await connection.http?.close(grace: .milliseconds(200))
            await connection.wait(upTo: .seconds(1)) { $0.isClosed }
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }

}

extension Session {
    /// Says so when a typed path went out percent-encoded: a request line carries printable ASCII
    /// only, so `/ws/chat/日本` is sent as a browser sends it, and the server decodes it back.
    func notePercentEncoding(_ target: WebSocketTarget) {
        guard let typed = target.typedPath else { return }
        console.line(style.dim("note: a request line carries only printable ASCII, so \(typed) goes as \(target.path) (each byte of its UTF-8 as %XX, as a browser does); the server decodes it"))
    }

    /// `open /ws/chat/`: a route with a parameter after that slash (`/ws/chat/{client_id}`) was
    /// probably meant, but the path without the slash is another endpoint (the live chat), whose
    /// refusal alone would mislead. Both are named before the attempt.
    func noteEmptyParameter(_ target: WebSocketTarget) {
        guard let lab, isOnLab(target) else { return }
        let path = String(target.path.prefix { $0 != "?" })
        guard path.count > 1, path.hasSuffix("/") else { return }
        let patterns = lab.registry.endpoints.flatMap(\.webSocketRoutes).map(\.pattern.description)
        guard let meant = patterns.first(where: { $0.hasPrefix(path) && $0.dropFirst(path.count).hasPrefix("{") }) else { return }
        var note = "note: \(path) leaves the part after the slash empty: \(meant) wants it filled, e.g. \(path)ann"
        if case .route(let endpoint, _, _) = lab.registry.resolveWebSocket(path: String(path.dropLast())) {
            note += "; \(path.dropLast()) without it is the \(endpoint.name) endpoint (\(endpoint.summary)), which is what answers now"
        }
        console.line(style.yellow(note))
    }
}
