import Comparison
import LabServer
import WireClient
import WireProtocol

/// `compare SCENARIO`: the same work over every transport that fits, one after another, in one
/// table.
extension Session {
    func compare(_ words: [String]) async throws {
        let request: ComparisonRequest
        do {
            request = try ComparisonRequest(parsing: words)
        } catch {
            throw UsageError(error.description, usage: ComparisonRequest.usage)
        }
        guard let target = request.target ?? labAddress.map({ ComparisonTarget(host: $0.host, port: $0.port) }) else {
            throw UsageError("this REPL runs no lab (--no-lab): give another wirelab with --url http://HOST:PORT", usage: ComparisonRequest.usage)
        }
        let console = self.console
        let showsProgress = interactive
        let progress: @Sendable (String) -> Void = { line in
            if showsProgress { console.status(line + " · Ctrl-C stops") }
        }
        let runner = ComparisonRunner(
            scenario: request.scenario, options: request.options, target: target, randomness: randomness, progress: progress
        )
        let report = await runner.run()
        console.status(nil)
        if request.json {
            console.line(report.json.text)
        } else {
            var lines = report.table(width: settings.columns)
            lines[0] = style.bold(lines[0])
            console.lines(lines)
        }
    }
}

/// `send --compare`: one message over the WebSocket and the same work over the endpoint's HTTP
/// twin, measured from both taps and shown side by side.
extension Session {
    func sendComparing(_ message: String, on connection: ClientConnection) async throws {
        let webSocket = try requireOpen(connection)
        guard let twin = httpTwin(of: connection, message: message) else {
            throw UsageError(
                "send --compare needs an endpoint whose HTTP twin answers in one request: echo (/ws/echo) or per-client (/ws/{client_id})"
            )
        }
        if message.hasPrefix("{") || message.hasPrefix("[") { try checkJSON(message, resend: "send --raw \(message)") }

        // Over the WebSocket: one frame each way.
        let wsBefore = connection.ledger
        let framesBefore = connection.framesDown
        try await webSocket.send(.text, payload: Array(message.utf8))
        await connection.wait(upTo: .seconds(5)) { $0.framesDown > framesBefore || $0.isClosed }
        let ws = (up: connection.ledger.up - wsBefore.up, down: connection.ledger.down - wsBefore.down, time: connection.lastRoundTrip)

        // Over HTTP: one request and its response, on the kept-alive http client.
        _ = try await exchange(method: twin.method, path: twin.path, body: message, token: nil)
        guard let httpClient = client(named: "http") else { return }
        await settle()
        let after = httpClient.ledger
        let http = (up: after.up - twin.before.up, down: after.down - twin.before.down, time: httpClient.lastRoundTrip)
        setFocus(connection.name)
        console.lines(compareTable(
            ws: ws, http: http, wsName: connection.name, httpLabel: "\(twin.method) \(twin.path)"
        ))
    }

    private func httpTwin(of connection: ClientConnection, message: String) -> (method: String, path: String, before: ByteLedger)? {
        guard let lab, let labAddress, connection.target.host == labAddress.host, connection.target.port == labAddress.port,
            case .route(let endpoint, _, let parameters) = lab.registry.resolveWebSocket(path: connection.target.path)
        else { return nil }
        let before = client(named: "http")?.ledger ?? ByteLedger()
        switch endpoint.name {
        case "echo": return ("POST", "/http/echo", before)
        case "client": return ("POST", "/http/\(parameters["client_id"] ?? "")", before)
        default: return nil
        }
    }

    private func compareTable(
        ws: (up: ByteLedger.Tally, down: ByteLedger.Tally, time: Duration?),
        http: (up: ByteLedger.Tally, down: ByteLedger.Tally, time: Duration?),
        wsName: String, httpLabel: String
    ) -> [String] {
        func bytes(_ value: Int) -> String { "\(value) B" }
        let wsTotal = ws.up.total + ws.down.total
        let httpTotal = http.up.total + http.down.total
        let rows: [(String, String, String)] = [
            ("request overhead", bytes(ws.up.overhead) + " frame header", bytes(http.up.overhead) + " request head"),
            ("request payload", bytes(ws.up.payload), bytes(http.up.payload) + " body"),
            ("response overhead", bytes(ws.down.overhead) + " frame header", bytes(http.down.overhead) + " response head"),
            ("response payload", bytes(ws.down.payload), bytes(http.down.payload) + " body"),
            ("total on the wire", bytes(wsTotal), bytes(httpTotal)),
            ("overhead share", percent(ws.up.overhead + ws.down.overhead, of: wsTotal), percent(http.up.overhead + http.down.overhead, of: httpTotal)),
            ("round trip (tap)", ws.time.map(milliseconds) ?? "?", http.time.map(milliseconds) ?? "?"),
        ]
        let ratio = wsTotal > 0 ? Double(httpTotal) / Double(wsTotal) : 0
        let summary = "HTTP moved \(String(format: "%.1f", ratio))× the bytes of the WebSocket for the same message"
            + " (the WebSocket's handshake was paid once, when it opened)"
        let left = "WebSocket (\(wsName))"
        let right = "HTTP (\(httpLabel))"
        if settings.columns >= 76 {
            let labelWidth = 19, columnWidth = 26
            return [style.bold("compare") + " · the same message, measured from both taps", "   " + "".padding(labelWidth) + left.padding(columnWidth) + right]
                + rows.map { "   " + $0.0.padding(labelWidth) + $0.1.padding(columnWidth) + $0.2 } + ["   " + summary]
        }
        // Narrow terminal: one transport after the other.
        return [style.bold("compare") + " · the same message, measured from both taps", "   " + left]
            + rows.map { "     " + $0.0.padding(19) + $0.1 } + ["   " + right] + rows.map { "     " + $0.0.padding(19) + $0.2 } + ["   " + summary]
    }

    private func percent(_ part: Int, of whole: Int) -> String {
        whole > 0 ? String(format: "%.0f%%", 100 * Double(part) / Double(whole)) : "-"
    }

    private func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%.2f ms", Double(seconds) * 1000 + Double(attoseconds) / 1e15)
    }
}
