import Foundation
import Lessons
import LabServer
import WireClient
import WireProtocol

/// The REPL's plain-HTTP side: `http`, `login`, SSE clients, and where tokens travel.
extension Session {
    enum TokenRoute {
        /// `?token=…` in the URL (the guide's method 1, and `/ws/notifications`).
        case query
        /// The first WebSocket message (`/ws/secure`, the guide's method 2).
        case firstMessage
        case none
    }

    /// How a token reaches the lab endpoint at `target`, if it needs one.
    func tokenTravels(to target: WebSocketTarget) -> TokenRoute {
        guard let lab, isOnLab(target), case .route(let endpoint, let route, _) = lab.registry.resolveWebSocket(path: target.path)
        else { return .none }
        if route.pattern.description == "/ws/secure" { return .firstMessage }
        return ["auth", "notifications"].contains(endpoint.name) ? .query : .none
    }

    // MARK: http

    /// `http [--token T | --no-token] [--raw] METHOD PATH [BODY]`: the body is the rest of the
    /// line, exactly as typed (quotes included).
    func http(_ line: String) async throws {
        let usage = CommandHelp.named("http")!.usage
        var rest = Substring(line)
        func nextWord() -> String? {
            rest = rest.drop { $0 == " " }
            guard !rest.isEmpty else { return nil }
            let word = rest.prefix { $0 != " " }
            rest = rest.dropFirst(word.count)
            return String(word)
        }
        var token = self.token
        var raw = false
        var overTLS = false
        var insecure = false
        var extra: [(String, String)] = []
        var word = nextWord()
        while let flag = word, flag.hasPrefix("--") {
            switch flag {
            case "--token":
                guard let value = nextWord() else { throw UsageError("--token needs a value", usage: usage) }
                token = value
            case "--no-token": token = nil
            case "--raw": raw = true
            case "--tls": overTLS = true
            case "--insecure": insecure = true
            case "--origin":
                // As a page from that origin would send it: fetch and EventSource add Origin themselves.
                guard let value = nextWord(), value.hasPrefix("http://") || value.hasPrefix("https://") || value == "null" else {
                    throw UsageError("--origin takes the page's origin, such as http://localhost:4200", usage: usage)
                }
                extra.append(("Origin", value))
            case "--header":
                guard let value = nextWord(), let colon = value.firstIndex(of: ":"), colon != value.startIndex else {
                    throw UsageError("--header takes NAME:VALUE without spaces, e.g. --header Access-Control-Request-Method:POST", usage: usage)
                }
                extra.append((String(value[..<colon]), String(value[value.index(after: colon)...])))
            default: throw UsageError("unknown option \(flag)", usage: usage)
            }
            word = nextWord()
        }
        guard let method = word?.uppercased(), ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"].contains(method) else {
            throw UsageError("http takes a method: GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS", usage: usage)
        }
        guard let path = nextWord() else { throw UsageError("http needs a path or URL", usage: usage) }
        let body = rest.drop { $0 == " " }
        _ = try await exchange(
            method: method, path: path, body: body.isEmpty ? nil : String(body), token: token, checkJSON: !raw, extraHeaders: extra, tls: overTLS,
            insecure: insecure
        )
    }

    /// Sends one request on the session's kept-alive `http` client, shown byte for byte.
    func exchange(
        method: String, path: String, body: String?, token: String?, checkJSON: Bool = true, extraHeaders: [(String, String)] = [],
        tls: Bool = false, insecure: Bool = false
    ) async throws -> HTTPConnection.Response {
        let usage = CommandHelp.named("http")!.usage
        let target = try self.target(path, tls: tls, usage: usage)
        notePercentEncoding(target)
        var headers = extraHeaders
        if let token { headers.append(("Authorization", "Bearer " + token)) }
        var bytes: [UInt8]?
        let typed = extraHeaders.contains { $0.0.lowercased() == "content-type" }
        if let body, typed {
            bytes = Array(body.utf8)  // sent as the type given with --header, unchecked
        } else if let body {
            if body.hasPrefix("{") || body.hasPrefix("[") {
                if checkJSON { try self.checkJSON(body, resend: "http --raw \(method) \(path) \(body)") }
                headers.append(("Content-Type", "application/json"))
            } else {
                headers.append(("Content-Type", "text/plain; charset=utf-8"))
            }
            bytes = Array(body.utf8)
        }
        let connection = try await httpClient(for: target, insecure: insecure)
        setFocus(connection.name)
        let before = connection.responsesDown
        do {
            let response = try await connection.http!.request(method: method, path: target.path, headers: headers, body: bytes)
            await connection.wait(upTo: .seconds(2)) { $0.responsesDown > before }
            return response
        } catch {
            throw UsageError("\(connection.name) · the request failed: \(error)")
        }
    }

    /// The `http` client: one kept-alive connection, opened again when the server closed it.
    private func httpClient(for target: WebSocketTarget, insecure: Bool) async throws -> ClientConnection {
        if let existing = client(named: "http"), existing.kind == .http, !existing.isClosed,
            existing.target.host == target.host, existing.target.port == target.port, existing.target.secure == target.secure
        {
            console.line(style.dim("http · reusing the kept-alive TCP connection to \(target.host):\(target.port)"))
            return existing
        }
        let connection = ClientConnection(name: "http", kind: .http, target: target, style: style, settings: settings, emit: emitter(for: "http"))
        console.line("http · opening a TCP connection to \(target.host):\(target.port)" + (target.secure ? " with TLS" : "") + ", kept alive for later requests")
        do {
            connection.http = try await HTTPConnection.connect(
                host: target.host, port: target.port, tls: clientTLS(for: target, insecure: insecure, connection: connection), tap: connection.observe
            )
        } catch let failure as HTTPConnection.Failure {
            throw UsageError("http · \(failure.description)")
        } catch {
            throw UsageError("http · cannot connect to \(target.host):\(target.port): \(Self.explain(error))")
        }
        add(connection, numbered: false, makeCurrent: false)
        return connection
    }

    // MARK: login

    func login(_ words: [String]) async throws {
        let usage = CommandHelp.named("login")!.usage
        var words = words
        var lifetime: Int?
        if let flag = words.firstIndex(of: "--expires") {
            guard flag + 1 < words.count, let duration = parseDuration(words[flag + 1]), duration >= .seconds(1), duration <= .seconds(3600) else {
                throw UsageError("--expires takes a lifetime from 1s to 3600s, e.g. --expires 5s", usage: usage)
            }
            lifetime = Int(duration.seconds.rounded())
            words.removeSubrange(flag...(flag + 1))
        }
        guard let name = words.first, words.count <= 2, !name.hasPrefix("--") else { throw UsageError("login needs a user name", usage: usage) }
        guard let password = words.dropFirst().first ?? LabUser.demo.first(where: { $0.name == name })?.password else {
            throw UsageError("\(name) is not a demo user, so give the password: login \(name) PASSWORD", usage: usage)
        }
        var fields: [(String, JSON)] = [("username", .string(name)), ("password", .string(password))]
        if let lifetime { fields.append(("expires_in", .number(Double(lifetime)))) }
        let response = try await exchange(method: "POST", path: "/auth/token", body: JSON.object(fields).text, token: nil)
        guard response.status == 200, let json = try? JSON(parsing: String(decoding: response.body, as: UTF8.self)),
            let token = json["access_token"]?.stringValue
        else {
            throw UsageError("login failed: the server answered \(response.status) \(response.reason)")
        }
        self.token = token
        loggedInAs = name
        let expiry = lifetime.map { " · the token lasts \($0) s, and so does any connection opened with it" } ?? ""
        console.line(style.green("logged in as \(name)") + " · later open and http commands carry this token (http as Authorization: Bearer; open /ws as ?token=; open /ws/secure as its first message)" + expiry)
    }

    func logout() {
        let who = loggedInAs
        token = nil
        loggedInAs = nil
        console.line(who.map { "logged out \($0); later commands carry no token" } ?? "not logged in")
    }

    // MARK: SSE

    /// Opens an SSE client: a GET whose response never ends. When its TCP connection drops, it
    /// reconnects after the server's `retry:` and sends `Last-Event-ID`, as a browser's
    /// EventSource does; `close` stops it for good.
    @discardableResult
    func openEventStream(
        _ target: WebSocketTarget, name: String, numbered: Bool, token: String?, postPath: String? = nil, viaProxy: Bool = false, insecure: Bool = false
    ) async throws -> ClientConnection {
        let connection = ClientConnection(name: name, kind: .eventStream, target: target, style: style, settings: settings, emit: emitter(for: name))
        if viaProxy && target.secure { throw UsageError("--buffering-proxy speaks plain HTTP: leave out --tls") }
        let tls = clientTLS(for: target, insecure: insecure, connection: connection)
        connection.postPath = postPath
        setFocus(name)
        console.line("\(name) · opening an event stream: GET \(target.path) on \(target.host):\(target.port)")
        let emit = emitter(for: name)
        let style = self.style
        var proxy: BufferingProxy?
        if viaProxy {
            proxy = try await BufferingProxy.start(upstreamHost: target.host, upstreamPort: target.port) { report in
                switch report {
                case .holding(let held, let bufferSize):
                    connection.record(.proxyHeld)
                    let line = style.yellow("\(name) · the proxy holds \(held) bytes of the body") + style.dim(" · it passes nothing on before \(bufferSize) have collected")
                    // The head the proxy passed on may still be on its way to the client: say it after that.
                    Task {
                        await connection.wait(upTo: .seconds(1)) { $0.responsesDown > 0 }
                        // The head is counted just before its lines are printed; let them go first.
                        try? await Task.sleep(for: .milliseconds(20))
                        emit([line])
                    }
                case .passedOn(let bytes):
                    emit([style.dim("\(name) · the proxy passes on \(bytes) held bytes at once")])
                }
            }
            console.line("\(name) · through a buffering proxy on loopback: it passes the response head on at once, then holds the body until 4096 bytes collect; like many proxies, it ignores X-Accel-Buffering")
        }
        let connectHost = proxy?.host ?? target.host
        let connectPort = proxy?.port ?? target.port
        let opened = Task {
            defer { if let proxy { Task { await proxy.stop() } } }
            var attempt = 0
            while !connection.closedByUser {
                attempt += 1
                connection.beginConnection()
                let http: HTTPConnection
                do {
                    http = try await HTTPConnection.connect(host: connectHost, port: connectPort, tls: tls, tap: connection.observe)
                } catch {
                    emit([style.red("\(name) · cannot connect: \(error)") + (attempt > 1 ? " · giving up" : "")])
                    return
                }
                connection.http = http
                var headers = [("Accept", "text/event-stream")]
                if let token { headers.append(("Authorization", "Bearer " + token)) }
                if !connection.lastEventID.isEmpty {
                    headers.append(("Last-Event-ID", connection.lastEventID))
                    connection.record(.resumed, ["last-event-id": connection.lastEventID])
                }
                let response = try? await http.request(method: "GET", path: target.path, headers: headers)
                // An answer that is not an event stream (a 204 included) stops an EventSource for good.
                let refused = response.map { $0.status != 200 || $0.header("Content-Type")?.hasPrefix("text/event-stream") != true } ?? false
                if let response, refused {
                    // Said before the connection closes, so that it always comes before the close.
                    connection.closedByUser = true
                    emit([style.yellow("\(name) · the answer was not an event stream (\(response.status) \(response.reason)): an EventSource stops here, without reconnecting")])
                }
                // The stream is over (the server ended it, or the connection broke): this TCP
                // connection is done with; a reconnection opens a new one.
                await http.close()
                await connection.wait(upTo: .seconds(2)) { $0.isClosed }
                if refused { return }
                if connection.closedByUser { return }
                let wait = connection.reconnectionTime ?? 3000
                emit(["\(name) · reconnecting in \(wait) ms" + (connection.lastEventID.isEmpty ? "" : " with Last-Event-ID: \(connection.lastEventID)")])
                try? await Task.sleep(for: .milliseconds(wait))
            }
        }
        _ = opened
        await connection.wait(upTo: .seconds(3)) { $0.responsesDown > 0 || $0.isClosed }
        add(connection, numbered: numbered)
        return connection
    }

    // MARK: predict

    /// `predict 5.1 3.5 1.4 0.2`: a prediction request with the next request_id, on the current client.
    func predict(_ words: [String]) async throws {
        let usage = CommandHelp.named("predict")!.usage
        let values = words.compactMap(Double.init)
        guard !words.isEmpty, values.count == words.count else { throw UsageError("predict takes numbers, e.g. predict 5.1 3.5 1.4 0.2", usage: usage) }
        let connection = try requireCurrent()
        let request = JSON.object([("features", .array(values.map { .number($0) })), ("request_id", .number(Double(nextRequestID)))])
        nextRequestID += 1
        try await send(request.text, on: connection)
    }

    /// Throws a usage error that points at the column where `text` stops being JSON.
    func checkJSON(_ text: String, resend: String) throws {
        do {
            _ = try JSON(parsing: text)
        } catch {
            throw UsageError(
                "not valid JSON, nothing sent: \(error)\n  \(text)\n  \(String(repeating: " ", count: error.column - 1))^\n"
                    + "(\(resend) sends it anyway, to see how the server answers)"
            )
        }
    }
}
