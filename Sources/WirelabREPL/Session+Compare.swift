import Comparison
import Lessons
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
        guard request.target != nil || lab != nil else {
            throw UsageError("this REPL runs no lab (--no-lab): give another wirelab with --url http://HOST:PORT", usage: ComparisonRequest.usage)
        }
        // Without --url, a lab of its own (this one's options, nothing in it yet): the clients open
        // here would otherwise print every message of the run, and the helpers' first poll would
        // fetch the whole chat log this session has built up.
        var ownLab: Lab?
        let target: ComparisonTarget
        var trust: ClientTLS.Trust?
        if let given = request.target {
            target = given
        } else {
            var configuration = lab!.configuration
            configuration.port = 0
            // With --tls, the same certificate as this lab's (the one the banner printed), on a free port.
            if request.options.tls {
                guard let identity = lab!.tlsIdentity else {
                    throw UsageError("this lab has no TLS port (started with --no-tls), so compare --tls has no certificate to use", usage: ComparisonRequest.usage)
                }
                configuration.tls = LabTLSConfiguration(port: 0, source: .identity(identity))
                trust = .verify(alsoTrusting: identity.certificateChain)
            } else {
                configuration.tls = nil
            }
            let fresh = try Lab(configuration: configuration)
            let port = try await fresh.start()
            ownLab = fresh
            target = request.options.tls
                ? ComparisonTarget(host: Self.tlsHostName, port: fresh.tlsPort ?? port, label: "a lab of its own, over TLS")
                : ComparisonTarget(host: configuration.host, port: port, label: "a lab of its own")
        }
        let report: ComparisonReport
        do {
            report = try await compare(request, on: target, trust: trust)
        } catch {
            await ownLab?.stop()
            throw error
        }
        await ownLab?.stop()
        show(report, json: request.json)
    }

    private func compare(_ request: ComparisonRequest, on target: ComparisonTarget, trust: ClientTLS.Trust?) async throws -> ComparisonReport {
        let console = self.console
        let showsProgress = interactive
        let progress: @Sendable (String) -> Void = { line in
            if showsProgress { console.status(line + " · Ctrl-C stops") }
        }
        let runner = ComparisonRunner(
            scenario: request.scenario, options: request.options, target: target, randomness: randomness, tls: trust, progress: progress
        )
        do {
            try await target.checkReachable(tls: trust)
        } catch {
            throw UsageError("\(error)")
        }
        let report = await runner.run()
        console.status(nil)
        return report
    }

    private func show(_ report: ComparisonReport, json: Bool) {
        if !report.interrupted {
            // What an exercise may ask about the run: each transport's requests, and the timing asked for.
            var fields: [String: String?] = ["scenario": report.scenario.rawValue]
            for result in report.results { fields["requests." + result.transport.rawValue] = String(result.measured.requests) }
            fields["duration"] = report.options.duration.secondsText + " s"
            fields["interval"] = report.options.interval.secondsText + " s"
            settings.record(Observation(.compareRun, fields))
        }
        if json {
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
        guard let twin = httpTwin(of: connection) else {
            throw UsageError(
                "send --compare needs an endpoint with an HTTP twin: echo (/ws/echo), per-client (/ws/{client_id}), chat (/ws/chat/{client_id}) or a room (/ws/room/{room_id}/{client_id})"
            )
        }
        if message.hasPrefix("{") || message.hasPrefix("[") { try checkJSON(message, resend: "send --raw \(message)") }

        // Over the WebSocket: one frame up, and the answer (or, in a chat, our own message coming back).
        let wsBefore = connection.ledger
        let tlsBefore = connection.tlsLayer
        let framesBefore = connection.framesDown
        try await webSocket.send(.text, payload: Array(message.utf8))
        await connection.wait(upTo: .seconds(5)) { $0.framesDown > framesBefore || $0.isClosed }
        let ws = (up: connection.ledger.up - wsBefore.up, down: connection.ledger.down - wsBefore.down, time: connection.lastRoundTrip)
        let tlsAfter = connection.tlsLayer

        // Over HTTP, on the kept-alive http client: the same request, and for a conversation the
        // poll that reads the message back (HTTP cannot push it).
        let httpBefore = client(named: "http")?.ledger ?? ByteLedger()
        let framesBeforeCopy = connection.framesDown
        let posted = try await exchange(method: "POST", path: twin.post, body: message, token: nil)
        if twin.poll != nil {
            // The posted copy reaches the WebSocket member too; shown before the poll, on every run.
            await connection.wait(upTo: .seconds(2)) { $0.framesDown > framesBeforeCopy || $0.isClosed }
        }
        var httpTime = client(named: "http")?.lastRoundTrip
        var label = "POST \(twin.post)"
        if let poll = twin.poll {
            guard let id = (try? JSON(parsing: String(decoding: posted.body, as: UTF8.self)))?["id"]?.numberValue else {
                throw UsageError("POST \(twin.post) answered \(posted.status) without a message id: nothing to poll for")
            }
            _ = try await exchange(method: "GET", path: "\(poll)?since=\(Int(id) - 1)", body: nil, token: nil)
            label += " + GET \(poll)"
            // Two round trips, one after the other.
            if let first = httpTime, let second = client(named: "http")?.lastRoundTrip { httpTime = first + second } else { httpTime = nil }
        }
        guard let httpClient = client(named: "http") else { return }
        await settle()
        let after = httpClient.ledger
        let http = (up: after.up - httpBefore.up, down: after.down - httpBefore.down, time: httpTime)
        setFocus(connection.name)
        console.lines(compareTable(ws: ws, http: http, wsName: connection.name, httpLabel: label, requests: twin.poll == nil ? 1 : 2))
        if connection.agreedDeflate != nil {
            console.line("   " + style.dim("the WebSocket's payloads are compressed (permessage-deflate, RSV1=1): the bytes the wire carried, not the message's length"))
        }
        if let tlsBefore, let tlsAfter {
            console.line(tlsCompareLine(before: tlsBefore, after: tlsAfter, decrypted: ws.up.total + ws.down.total))
        }
        connection.record(.compared)
    }

    /// The HTTP twin of a WebSocket client's endpoint: where to POST the same message, and for a
    /// conversation where to poll for it. Nil for endpoints without a one-message twin.
    private func httpTwin(of connection: ClientConnection) -> (post: String, poll: String?)? {
        guard let lab, isOnLab(connection.target), case .route(let endpoint, _, let parameters) = lab.registry.resolveWebSocket(path: connection.target.path)
        else { return nil }
        switch endpoint.name {
        case "echo": return ("/http/echo", nil)
        case "client": return ("/http/\(parameters["client_id"] ?? "")", nil)
        case "chat": return ("/http/chat/\(parameters["client_id"] ?? "")", "/http/chat")
        case "room":
            let room = parameters["room_id"] ?? ""
            return ("/http/room/\(room)/\(parameters["client_id"] ?? "")", "/http/room/\(room)")
        default: return nil
        }
    }

    private func compareTable(
        ws: (up: ByteLedger.Tally, down: ByteLedger.Tally, time: Duration?),
        http: (up: ByteLedger.Tally, down: ByteLedger.Tally, time: Duration?),
        wsName: String, httpLabel: String, requests: Int
    ) -> [String] {
        func bytes(_ value: Int) -> String { "\(value) B" }
        let wsTotal = ws.up.total + ws.down.total
        let httpTotal = http.up.total + http.down.total
        let rows: [(String, String, String)] = [
            ("request overhead", bytes(ws.up.overhead) + " frame header", bytes(http.up.overhead) + (requests > 1 ? " request heads" : " request head")),
            ("request payload", bytes(ws.up.payload), bytes(http.up.payload) + (requests > 1 ? " bodies" : " body")),
            ("response overhead", bytes(ws.down.overhead) + " frame header", bytes(http.down.overhead) + (requests > 1 ? " response heads" : " response head")),
            ("response payload", bytes(ws.down.payload), bytes(http.down.payload) + (requests > 1 ? " bodies" : " body")),
            ("total on the wire", bytes(wsTotal), bytes(httpTotal)),
            ("overhead share", percent(ws.up.overhead + ws.down.overhead, of: wsTotal), percent(http.up.overhead + http.down.overhead, of: httpTotal)),
            ("round trip (tap)", ws.time.map(milliseconds) ?? "?", http.time.map(milliseconds) ?? "?"),
        ]
        let ratio = wsTotal > 0 ? Double(httpTotal) / Double(wsTotal) : 0
        var summary = "HTTP moved \(String(format: "%.1f", ratio))× the bytes of the WebSocket for the same message"
            + " (the WebSocket's handshake was paid once, when it opened)"
        if requests > 1 {
            summary += "; HTTP needed \(requests) requests: one to post, one to read the message back, as every other member must poll for it"
        }
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
        String(format: "%.2f ms", duration.milliseconds)
    }
}
