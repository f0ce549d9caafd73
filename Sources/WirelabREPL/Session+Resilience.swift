import Foundation
import Lessons
import WireClient
import WireProtocol

/// What a good client does when the network misbehaves, done by the REPL's WebSocket clients and
/// shown step by step: reconnect with backoff, queue what is typed meanwhile, keep a heartbeat.
extension Session {
    /// Starts the loop that brings `connection` back whenever it ends for a reason worth retrying
    /// (see ``ConnectionEnd/shouldReconnect``). It runs beside the commands, not inside one.
    func superviseReconnects(_ connection: ClientConnection) {
        let emit = emitter(for: connection.name)
        // Drawn now, in command order: two clients coming back at once draw from their own sources.
        let randomness = self.randomness.fork()
        let style = self.style
        Task.detached {
            await Self.supervise(connection, emit: emit, randomness: randomness, style: style)
        }
    }

    private static func supervise(_ connection: ClientConnection, emit: @escaping @Sendable ([String]) -> Void, randomness: Randomness, style: Styler) async {
        let name = connection.name
        while true {
            // Wait for the current connection (if any) to end, and its closing lines to be out.
            await connection.client?.waitUntilClosed()
            await connection.wait(upTo: .seconds(2)) { $0.isClosed }
            guard let backoff = connection.backoff else { return }
            var end = connection.connectionEnd
            guard end.shouldReconnect else {
                if end != .closedByUser {
                    emit(["\(name) · \(end.summary): a normal closure means \"done\", so the client does not reconnect"])
                }
                return
            }
            var connected = false
            for attempt in 1...max(1, backoff.maxAttempts) {
                guard connection.backoff != nil, !connection.closedByUser else { return }
                let delay = backoff.delay(beforeAttempt: attempt, random: randomness.unit())
                connection.reconnecting = "reconnecting (attempt \(attempt)/\(backoff.maxAttempts))"
                emit([style.yellow("\(name) \(end.summary)") + " · reconnecting in \(delay.spoken) (attempt \(attempt)/\(backoff.maxAttempts))"])
                connection.record(.reconnecting, ["attempt": String(attempt), "delay": delay.secondsText])
                try? await Task.sleep(for: delay)
                guard connection.backoff != nil, !connection.closedByUser else { return }
                let key = randomness.requestKey()
                connection.beginConnection(requestKey: key)
                let outcome: WebSocketClient.ConnectOutcome
                do {
                    outcome = try await WebSocketClient.connect(
                        to: connection.target, requestKey: key, randomness: randomness, origin: connection.origin, deflate: connection.deflate, tls: connection.clientTLS,
                        tap: connection.observe
                    )
                } catch {
                    end = .unreachable
                    continue
                }
                switch outcome {
                case .refused(let status, _):
                    await connection.wait(upTo: .seconds(2)) { $0.isClosed }
                    end = .refused(status: status)
                case .open(let client):
                    connection.client = client
                    connection.reconnecting = nil
                    emit([style.green("\(name) connected") + " · back after \(attempt) attempt\(attempt == 1 ? "" : "s")"])
                    connection.record(.reconnected)
                    await flushQueue(of: connection, on: client, emit: emit)
                    connected = true
                }
                if connected { break }
            }
            if !connected {
                connection.reconnecting = "gave up"
                emit([style.red("\(name) gave up after \(backoff.maxAttempts) attempts") + " · open it again by hand when the server is back"])
                return
            }
        }
    }

    /// Sends what was typed while disconnected, oldest first, each exactly once, in one flush.
    private static func flushQueue(of connection: ClientConnection, on client: WebSocketClient, emit: @Sendable ([String]) -> Void) async {
        var messages: [String] = []
        while let message = connection.dequeue() { messages.append(message) }
        guard !messages.isEmpty else { return }
        emit(["\(connection.name) · sending \(messages.count) queued message\(messages.count == 1 ? "" : "s"), oldest first"])
        do {
            try await client.sendTexts(messages)
            connection.record(.flushed, ["messages": String(messages.count)])
        } catch {
            // The new connection died at once: they wait for the next one, in the same order.
            for message in messages.reversed() { connection.putBack(message) }
        }
    }

    /// Runs the connection's heartbeat while it has one: each beat must be answered within the
    /// timeout, or the connection is treated as dead and dropped (which starts a reconnection).
    func startHeartbeat(_ connection: ClientConnection) {
        let emit = emitter(for: connection.name)
        let style = self.style
        Task.detached {
            while let heartbeat = connection.heartbeat, !connection.closedByUser {
                if connection.isClosed && (connection.backoff == nil || connection.reconnecting == "gave up") { return }
                // The interval runs from when the connection is open: a fresh one is not pinged at once.
                guard let client = connection.client, !connection.isClosed else {
                    try? await Task.sleep(for: .milliseconds(20))
                    continue
                }
                // Wait out the interval, but notice at once when the settings or the connection change.
                let due = ContinuousClock.now + heartbeat.interval
                while ContinuousClock.now < due, connection.heartbeat == heartbeat, connection.client === client, !connection.isClosed {
                    try? await Task.sleep(for: min(.milliseconds(100), due - ContinuousClock.now))
                }
                guard connection.heartbeat == heartbeat, connection.client === client, !connection.isClosed else { continue }
                let sentAt = ContinuousClock.now
                switch heartbeat.kind {
                case .pingFrame: try? await client.send(.ping, payload: Array("heartbeat".utf8))
                case .text: try? await client.send(.text, payload: Array("ping".utf8))
                }
                try? await Task.sleep(for: heartbeat.timeout)
                // A heartbeat switched off (or changed) meanwhile judges nothing.
                if connection.heartbeat == heartbeat, connection.client === client, !connection.isClosed, (connection.lastPongAt ?? sentAt) <= sentAt {
                    // Said as the rule is: other traffic (echo's "Echo: ping") is not the answer.
                    let answer = heartbeat.kind == .text ? "no \"pong\"" : "no pong frame"
                    emit([style.red("\(connection.name) heartbeat") + " · \(answer) within \(heartbeat.timeout.spoken): the connection counts as dead, though TCP has not noticed; dropping it"])
                    connection.record(.heartbeatDropped)
                    await client.drop()
                }
            }
        }
    }

    /// `queue`: what the current client will send when it is back.
    func showQueue() throws {
        let connection = try requireCurrent()
        let waiting = connection.queued
        guard !waiting.isEmpty else {
            console.line("\(connection.name) · nothing queued" + (connection.backoff == nil ? " (and it does not reconnect: set reconnect on)" : ""))
            return
        }
        console.line("\(connection.name) · \(waiting.count) queued, sent in this order when it is back:")
        for (index, message) in waiting.enumerated() { console.line("  \(index + 1). \(message)") }
    }

    /// `set reconnect on|off [--base 1s] [--max 30s] [--attempts 10] [--jitter 0.2]` on the current client.
    func setReconnect(_ words: [String]) throws {
        let usage = "set reconnect on|off [--base 1s] [--max 30s] [--attempts 10] [--jitter 0.2]"
        let connection = try requireCurrent()
        guard connection.kind == .webSocket else { throw UsageError("\(connection.name) is not a WebSocket client; only those reconnect this way", usage: usage) }
        var words = words[...]
        switch words.popFirst() {
        case "off":
            connection.backoff = nil
            connection.reconnecting = nil
            console.line("\(connection.name) · reconnect off: when the connection ends, it stays closed")
            return
        case "on": break
        default: throw UsageError("set reconnect takes on or off", usage: usage)
        }
        var backoff = connection.backoff ?? Backoff()
        while let option = words.popFirst() {
            guard let value = words.popFirst() else { throw UsageError("\(option) needs a value", usage: usage) }
            switch option {
            case "--base", "--max":
                guard let duration = parseDuration(value), duration >= .milliseconds(10), duration <= .seconds(600) else {
                    throw UsageError("\(option) takes a duration from 10ms to 600s, such as 1s", usage: usage)
                }
                if option == "--base" { backoff.base = duration } else { backoff.cap = duration }
            case "--attempts":
                guard let count = Int(value), (1...1000).contains(count) else { throw UsageError("--attempts takes a number from 1 to 1000", usage: usage) }
                backoff.maxAttempts = count
            case "--jitter":
                guard let jitter = Double(value), (0...1).contains(jitter) else { throw UsageError("--jitter takes a fraction from 0 to 1, such as 0.2", usage: usage) }
                backoff.jitter = jitter
            default: throw UsageError("unexpected '\(option)'", usage: usage)
            }
        }
        let wasOn = connection.backoff != nil
        connection.backoff = backoff
        let schedule = backoff.schedule(min(backoff.maxAttempts, 6)).map(\.spoken).joined(separator: ", ")
        console.line(
            "\(connection.name) · reconnect on: waits \(schedule)\(backoff.maxAttempts > 6 ? ", …" : "") (doubling, at most \(backoff.cap.spoken)), \(backoff.maxAttempts) attempts"
                + (backoff.jitter > 0 ? ", ±\(Int(backoff.jitter * 100)) % jitter" : "")
        )
        if !wasOn { superviseReconnects(connection) }
    }

    /// `set heartbeat 5s|off [--text] [--timeout 2s]` on the current client.
    func setHeartbeat(_ words: [String]) throws {
        let usage = "set heartbeat DURATION|off [--text] [--timeout DURATION]"
        let connection = try requireCurrent()
        guard connection.kind == .webSocket else { throw UsageError("\(connection.name) is not a WebSocket client", usage: usage) }
        var words = words[...]
        guard let first = words.popFirst() else { throw UsageError("set heartbeat needs an interval or off", usage: usage) }
        if first == "off" {
            connection.heartbeat = nil
            console.line("\(connection.name) · heartbeat off")
            return
        }
        guard let interval = parseDuration(first), interval >= .milliseconds(100), interval <= .seconds(3600) else {
            throw UsageError("the heartbeat interval is a duration from 100ms to 3600s, such as 30s", usage: usage)
        }
        var kind = Heartbeat.Kind.pingFrame
        var timeout: Duration?
        while let option = words.popFirst() {
            switch option {
            case "--text": kind = .text
            case "--timeout":
                guard let value = words.popFirst(), let duration = parseDuration(value), duration >= .milliseconds(10), duration <= interval else {
                    throw UsageError("--timeout takes a duration no longer than the interval", usage: usage)
                }
                timeout = duration
            default: throw UsageError("unexpected '\(option)'", usage: usage)
            }
        }
        let wasOn = connection.heartbeat != nil
        let heartbeat = Heartbeat(interval: interval, timeout: timeout, kind: kind)
        connection.heartbeat = heartbeat
        let what = kind == .pingFrame ? "a ping frame (the server must answer with a pong)" : "the text ping (the application must answer pong)"
        console.line("\(connection.name) · heartbeat: \(what) every \(interval.spoken); no answer within \(heartbeat.timeout.spoken) and the connection counts as dead")
        if !wasOn { startHeartbeat(connection) }
    }
}

extension Duration {
    /// Seconds as a check compares them: `2`, or `1.184` (to the millisecond).
    var secondsText: String {
        let milliseconds = components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? String(milliseconds / 1000) : String(format: "%.3f", Double(milliseconds) / 1000)
    }
}
