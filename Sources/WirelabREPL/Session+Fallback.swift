import LabServer
import WireClient
import WireProtocol

/// `open auto /chat/NAME`: WebSocket first, then SSE + POST, then long polling + POST, as
/// Socket.IO, SignalR and Phoenix fall back, but with every attempt and its failure shown.
extension Session {
    /// The same conversation over each transport.
    struct FallbackPlan {
        var webSocket: String
        /// Nil where the conversation has no event stream (rooms).
        var eventStream: String?
        var poll: String
        var post: String

        init?(_ path: String) {
            let parts = path.split(separator: "/").map(String.init)
            switch parts.count {
            case 2 where parts[0] == "chat":
                (webSocket, eventStream, poll, post) = ("/ws/chat/\(parts[1])", "/http/chat/events", "/http/chat", "/http/chat/\(parts[1])")
            case 3 where parts[0] == "room":
                (webSocket, eventStream, poll, post) = ("/ws/room/\(parts[1])/\(parts[2])", nil, "/http/room/\(parts[1])", "/http/room/\(parts[1])/\(parts[2])")
            default:
                return nil
            }
        }
    }

    func openAuto(_ path: String, as givenName: String?) async throws {
        guard let plan = FallbackPlan(path) else {
            throw UsageError("open auto takes a conversation: /chat/NAME or /room/ROOM/NAME", usage: CommandHelp.named("open")!.usage)
        }
        guard let labAddress else { throw UsageError("open auto works against the lab in this REPL") }
        let name = givenName ?? "c\(nextNumber)"
        if let existing = client(named: name), !existing.isClosed {
            throw UsageError("\(name) is already open; close it or pick another name with `as`")
        }
        if givenName == nil { nextNumber += 1 }  // the name is this client's, whatever it ends up on
        console.line("\(name) · auto: trying a WebSocket, then SSE + POST, then long polling + POST")

        // 1. WebSocket.
        do {
            try await open([plan.webSocket, "as", name])
        } catch let error as UsageError {
            console.line(style.yellow("\(name) · the WebSocket failed: ") + error.message)
        }
        if let connection = client(named: name), connection.kind == .webSocket, !connection.isClosed, connection.client != nil {
            console.line(style.green("\(name) · on a WebSocket") + " · frames both ways on one connection")
            return
        }
        let webSocketFailure = lastRefusal(of: name)

        // 2. SSE down, POST up.
        if let eventStream = plan.eventStream {
            console.line("\(name) · WebSocket \(webSocketFailure): trying SSE (GET \(eventStream)) + POST \(plan.post)")
            let target = WebSocketTarget(host: labAddress.host, port: labAddress.port, path: eventStream)
            let connection = try await openEventStream(target, name: name, numbered: false, token: token, postPath: plan.post)
            // The head decides: 200 with text/event-stream, or a refusal that closes the client
            // (waited for until closed, so that its lines come before the next attempt's).
            await connection.wait(upTo: .seconds(3)) { $0.streamAccepted || $0.isClosed }
            if connection.streamAccepted, !connection.isClosed {
                console.line(style.green("\(name) · on SSE + POST") + " · events come down one long response; send posts each message")
                return
            }
            clientsRemove(name)
            console.line("\(name) · SSE failed: trying long polling (GET \(plan.poll)?since=…&wait=30) + POST \(plan.post)")
        } else {
            console.line("\(name) · WebSocket \(webSocketFailure); this conversation has no event stream: trying long polling (GET \(plan.poll)?since=…&wait=30) + POST \(plan.post)")
        }

        // 3. Long polling down, POST up.
        try await openLongPolling(plan, name: name)
    }

    /// A client that long-polls `plan.poll` until closed; `send` posts to `plan.post`.
    private func openLongPolling(_ plan: FallbackPlan, name: String) async throws {
        guard let labAddress else { return }
        let target = WebSocketTarget(host: labAddress.host, port: labAddress.port, path: plan.poll)
        let connection = ClientConnection(name: name, kind: .longPolling, target: target, style: style, settings: settings, emit: emitter(for: name))
        connection.postPath = plan.post
        let http: HTTPConnection
        do {
            http = try await HTTPConnection.connect(host: target.host, port: target.port, tap: connection.observe)
        } catch {
            throw UsageError("\(name) · long polling failed too: \(error); no transport works")
        }
        connection.http = http
        add(connection, numbered: false)
        // The first poll asks for nothing held: it learns where the log stands (and shows it).
        let first = try await http.request(method: "GET", path: "\(plan.poll)?since=0")
        guard first.status == 200, let answer = try? JSON(parsing: String(decoding: first.body, as: UTF8.self)) else {
            throw UsageError("\(name) · long polling failed too: \(first.status) \(first.reason); no transport works")
        }
        var since = answer["last_id"]?.numberValue.map { Int($0) } ?? 0
        console.line(style.green("\(name) · on long polling + POST") + " · each poll is held until there is news; send posts each message")
        let emit = emitter(for: name)
        Task.detached {
            var http = http
            while !connection.closedByUser {
                do {
                    let response = try await http.request(method: "GET", path: "\(plan.poll)?since=\(since)&wait=30")
                    let answer = try? JSON(parsing: String(decoding: response.body, as: UTF8.self))
                    since = answer?["last_id"]?.numberValue.map { Int($0) } ?? since
                } catch {
                    if connection.closedByUser { return }
                    // The connection broke (the lab closed it): poll again on a new one.
                    emit(["\(name) · the poll's connection closed; polling again on a new one"])
                    try? await Task.sleep(for: .seconds(1))
                    connection.beginConnection()
                    guard let fresh = try? await HTTPConnection.connect(host: target.host, port: target.port, tap: connection.observe) else { continue }
                    http = fresh
                    connection.http = fresh
                }
            }
        }
    }

    /// "refused (403)", from what the attempt's tap saw, for the next attempt's line.
    private func lastRefusal(of name: String) -> String {
        guard let attempt = lastAttempt, attempt.name == name else { return "failed" }
        if case .refused(let status) = attempt.connectionEnd { return "refused (\(status))" }
        return "failed"
    }

    /// `block ws|sse` / `unblock ws|sse|all`: the lab refuses WebSocket upgrades or event streams
    /// with 403, as a proxy or firewall might, so that a client's fallback can be seen.
    func block(_ on: Bool, _ words: [String]) throws {
        let usage = on ? "block ws|sse" : "unblock ws|sse|all"
        let lab = try requireLab()
        guard let which = words.first, words.count == 1 else { throw UsageError("say which transport", usage: usage) }
        let transports: [EndpointRegistry.BlockedTransport]
        if which == "all", !on {
            transports = EndpointRegistry.BlockedTransport.allCases
        } else if let transport = EndpointRegistry.BlockedTransport(rawValue: which) {
            transports = [transport]
        } else {
            throw UsageError("\(on ? "block" : "unblock") takes ws or sse\(on ? "" : " or all"), not \(which)", usage: usage)
        }
        for transport in transports { lab.registry.setBlocked(transport, on) }
        let names = transports.map { $0 == .webSocket ? "WebSocket upgrades" : "event streams" }.joined(separator: " and ")
        console.line(on ? "\(names) blocked · the lab answers them 403, as a proxy that does not pass them might" : "\(names) pass again")
    }
}
