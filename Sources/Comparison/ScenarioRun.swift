import Foundation
import NIOConcurrencyHelpers
import NIOWebSocket
import WireClient
import WireProtocol

/// One scenario over one transport: sets up what it needs through helper connections, lets the
/// measured client do the work, and records every send and receipt in ``deliveries``.
struct ScenarioRun: Sendable {
    let meter: Meter
    let deliveries: Deliveries
    let options: ComparisonOptions
    let transport: Transport

    func perform(_ scenario: Scenario) async throws {
        switch scenario {
        case .echo: try await exchanges(scenario)
        case .predict: try await exchanges(scenario)
        case .chat: try await chat()
        case .notifications: try await notifications()
        case .dashboard: try await dashboard()
        case .job: try await job()
        }
    }

    // MARK: Asking and answering: echo, predict

    /// N requests, each sent when the previous answer has arrived.
    private func exchanges(_ scenario: Scenario) async throws {
        let count = options.count(for: scenario)
        var generator = SeededGenerator(seed: options.seed)
        let requests: [(key: String, body: String)] = (1...max(1, count)).map { number in
            guard scenario == .predict else { return ("echo \(number)", "echo \(number)") }
            // Iris-like measurements: sepal length and width, petal length and width, in cm.
            let features = [(4.3, 7.9), (2.0, 4.4), (1.0, 6.9), (0.1, 2.5)].map { low, high in
                (Double.random(in: low...high, using: &generator) * 10).rounded() / 10
            }
            let body = JSON.object([("features", .array(features.map { .number($0) })), ("request_id", .string("r\(number)"))]).text
            return ("r\(number)", body)
        }
        switch transport {
        case .webSocket:
            let client = try await meter.webSocket(scenario == .echo ? "/ws/echo" : "/ws/predict")
            var frames = client.frames.makeAsyncIterator()
            for request in requests {
                deliveries.sent(request.key)
                // A server that never answers would hold the run forever: drop it after 5 s.
                let watchdog = Task {
                    try await Task.sleep(for: .seconds(5))
                    await client.drop()
                }
                defer { watchdog.cancel() }
                try await client.send(.text, payload: Array(request.body.utf8))
                while true {
                    guard let frame = await frames.next() else {
                        throw ComparisonError("the WebSocket closed before \(request.key) was answered")
                    }
                    guard frame.opcode == .text else { continue }
                    let text = String(decoding: frame.unmaskedData.readableBytesView, as: UTF8.self)
                    if key(of: text, scenario) == request.key {
                        deliveries.received(request.key)
                        break
                    }
                    deliveries.unrelated()
                }
            }
        default:
            let connection = try await meter.http()
            let (path, type) = scenario == .echo ? ("/http/echo", "text/plain") : ("/http/predict", "application/json")
            for request in requests {
                deliveries.sent(request.key)
                let response = try await connection.request(
                    method: "POST", path: path, headers: [("Content-Type", type)], body: Array(request.body.utf8)
                )
                let text = String(decoding: response.body, as: UTF8.self)
                guard response.status == 200 else { throw ComparisonError("POST \(path) answered \(response.status) \(response.reason): \(text)") }
                if key(of: text, scenario) == request.key { deliveries.received(request.key) } else { deliveries.unrelated() }
            }
        }
    }

    /// Which request an answer belongs to: the echoed text, or the prediction's request_id.
    private func key(of answer: String, _ scenario: Scenario) -> String? {
        if scenario == .echo { return answer.hasPrefix("Echo: ") ? String(answer.dropFirst(6)) : nil }
        return (try? JSON(parsing: answer))?["request_id"]?.stringValue
    }

    // MARK: Pushing: chat, notifications, dashboard, job

    /// Another client posts over HTTP at the scenario's times; the measured client listens.
    private func chat() async throws {
        let helper = try await Helper(meter: meter)
        let sender = "compare-sender"
        let since = try await helper.json("GET", "/http/chat?since=latest")["last_id"]?.numberValue.map { Int($0) } ?? 0
        let arrivals = options.arrivals(for: .chat)
        let keys = Set(arrivals.indices.map { "message \($0 + 1)" })
        let deliveries = self.deliveries
        let follower = Follower(meter: meter, onMessage: { message, time in
            if message["type"]?.stringValue == "message", message["from"]?.stringValue == sender,
                let text = message["text"]?.stringValue, keys.contains(text)
            {
                deliveries.received(text, at: time)
            } else {
                deliveries.unrelated()
            }
        }, deliveries: deliveries)
        try await follow(
            follower, webSocket: "/ws/chat/compare-reader", eventStream: "/http/chat/events", eventStreamAfter: nil, poll: "/http/chat", since: since
        ) { start in
            for (index, offset) in arrivals.enumerated() {
                try await Task.sleep(until: start + offset)
                let key = "message \(index + 1)"
                deliveries.sent(key)
                _ = try await helper.json("POST", "/http/chat/\(sender)", body: .object([("text", .string(key))]))
            }
        }
    }

    /// alice's orders are shipped by admin at the scenario's times; alice's client hears of each.
    private func notifications() async throws {
        let helper = try await Helper(meter: meter)
        let alice = try await helper.login("alice", "wonderland")
        let admin = try await helper.login("admin", "admin")
        var orders: [Int] = []
        for number in 1...max(1, options.count(for: .notifications)) {
            let order = try await helper.json("POST", "/orders", body: .object([("item", .string("compare item \(number)")), ("amount", 1)]), token: alice)
            guard let id = order["order_id"]?.numberValue else { throw ComparisonError("POST /orders answered without an order_id") }
            orders.append(Int(id))
        }
        let since = try await helper.json("GET", "/http/notifications?since=latest", token: alice)["last_id"]?.numberValue.map { Int($0) } ?? 0
        if transport == .webSocket { try await helper.drainNotifications(token: alice) }
        let keys = Set(orders.map { "order \($0)" })
        let deliveries = self.deliveries
        let follower = Follower(meter: meter, headers: [("Authorization", "Bearer \(alice)")], onMessage: { message, time in
            if message["type"]?.stringValue == "notification", let id = message["order_id"]?.numberValue, keys.contains("order \(Int(id))") {
                deliveries.received("order \(Int(id))", at: time)
            } else {
                deliveries.unrelated()
            }
        }, deliveries: deliveries)
        let arrivals = options.arrivals(for: .notifications)
        try await follow(
            follower, webSocket: "/ws/notifications?token=\(alice)", eventStream: "/events", eventStreamAfter: since,
            poll: "/http/notifications", since: since
        ) { [orders] start in
            for (order, offset) in zip(orders, arrivals) {
                try await Task.sleep(until: start + offset)
                deliveries.sent("order \(order)")
                _ = try await helper.json("POST", "/orders/\(order)/ship", token: admin)
            }
        }
    }

    /// The server's metrics, pushed every second or fetched every `--interval`, for the duration.
    private func dashboard() async throws {
        let deliveries = self.deliveries
        let onMessage: @Sendable (JSON, Date) -> Void = { message, time in
            guard message["type"]?.stringValue == "metrics", let stamp = message["timestamp"]?.stringValue, let sentAt = Timestamp.parse(stamp) else {
                deliveries.unrelated()
                return
            }
            deliveries.received(stamp, sentAt: sentAt, at: time)
        }
        let follower = Follower(meter: meter, onMessage: onMessage, deliveries: deliveries)
        let start = ContinuousClock.now
        switch transport {
        case .webSocket, .eventStream:
            let reading = try await transport == .webSocket ? follower.webSocket("/ws/dashboard") : follower.eventStream("/http/dashboard/events")
            try await Task.sleep(until: start + options.duration)
            reading.cancel()
        default:
            // A snapshot is always new, so there is no long poll: the client fetches at its pace.
            let connection = try await meter.http()
            var tick = start
            while ContinuousClock.now < start + options.duration {
                let response = try await connection.request(method: "GET", path: "/http/dashboard")
                guard response.status == 200, let snapshot = try? JSON(parsing: String(decoding: response.body, as: UTF8.self)) else {
                    throw ComparisonError("GET /http/dashboard answered \(response.status) \(response.reason)")
                }
                onMessage(snapshot, Date())
                tick += options.interval
                try await Task.sleep(until: tick)
            }
        }
    }

    /// A training job of N epochs, started by a helper and followed to its end.
    private func job() async throws {
        let helper = try await Helper(meter: meter)
        let epochs = options.count(for: .job)
        let started = try await helper.json("POST", "/jobs/train", body: .object([("epochs", .number(Double(epochs)))]))
        guard let id = started["job_id"]?.numberValue.map({ Int($0) }) else { throw ComparisonError("POST /jobs/train answered without a job_id") }
        let deliveries = self.deliveries
        deliveries.expect((1...epochs).map { "epoch \($0)" } + ["done"])
        let follower = Follower(meter: meter, onMessage: { message, time in
            let key: String? = switch message["type"]?.stringValue {
            case "progress": message["epoch"]?.numberValue.map { "epoch \(Int($0))" }
            case "done": "done"
            default: nil
            }
            guard let key, let stamp = message["timestamp"]?.stringValue, let sentAt = Timestamp.parse(stamp) else {
                deliveries.unrelated()
                return
            }
            deliveries.received(key, sentAt: sentAt, at: time)
        }, deliveries: deliveries)
        // The job takes about a tenth of a second an epoch; allow plenty more before giving up.
        let deadline = ContinuousClock.now + .milliseconds(100 * epochs) + options.interval + .seconds(10)
        switch transport {
        case .webSocket, .eventStream:
            let reading = try await transport == .webSocket ? follower.webSocket("/ws/jobs/\(id)") : follower.eventStream("/jobs/\(id)/events")
            while !deliveries.hasReceivedAll() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            reading.cancel()
        default:
            try await follower.poll(
                "/jobs/\(id)", since: 0, every: transport == .shortPolling ? options.interval : nil,
                wait: transport == .longPolling ? options.longPollWait : nil,
                stop: { deliveries.hasReceivedAll() || ContinuousClock.now >= deadline }
            )
        }
    }

    /// Runs a push scenario: the measured client follows over this run's transport while
    /// `produce` makes the events; the run lasts the whole duration, plus a short grace for a
    /// late event (a short poll can be up to one interval behind).
    private func follow(
        _ follower: Follower, webSocket: String, eventStream: String, eventStreamAfter: Int?, poll: String, since: Int,
        produce: @escaping @Sendable (ContinuousClock.Instant) async throws -> Void
    ) async throws {
        let stopped = NIOLockedValueBox(false)
        let failure = NIOLockedValueBox<(any Error)?>(nil)
        let finished = NIOLockedValueBox(false)
        let reading: Task<Void, Never>
        // Far enough ahead for the follower to be in place when the first event can happen.
        let start = ContinuousClock.now + .milliseconds(50)
        switch transport {
        case .webSocket:
            reading = try await follower.webSocket(webSocket)
        case .eventStream:
            reading = try await follower.eventStream(eventStream, lastEventID: eventStreamAfter)
        case .shortPolling, .longPolling, .requestResponse:
            // Short polls at 0, I, 2I, … up to the end of the run: that last one picks up the last event.
            let (interval, wait) = transport == .longPolling ? (nil, options.longPollWait) : (options.interval, nil)
            let last = transport == .longPolling ? nil : start + options.duration
            // Short polling stops by itself after its last tick; long polling when told.
            let selfStopping = last != nil
            let stop: @Sendable () -> Bool = { !selfStopping && stopped.withLockedValue { $0 } }
            reading = Task {
                do {
                    try await follower.poll(poll, since: since, every: interval, wait: wait, start: start, last: last, stop: stop)
                } catch where !stopped.withLockedValue({ $0 }) {
                    failure.withLockedValue { $0 = error }
                } catch {}
                finished.withLockedValue { $0 = true }
            }
        }
        try await produce(start)
        try await Task.sleep(until: start + options.duration)
        // Short polling has one last poll due at the end of the run; the others may have a late event.
        func done() -> Bool { transport == .shortPolling ? finished.withLockedValue { $0 } : deliveries.hasReceivedAll() }
        let grace = ContinuousClock.now + .seconds(1)
        while !done() && ContinuousClock.now < grace && failure.withLockedValue({ $0 == nil }) {
            try await Task.sleep(for: .milliseconds(5))
        }
        stopped.withLockedValue { $0 = true }
        reading.cancel()
        // A long poll still held by the server ends when the run closes its connection.
        await meter.closeAll()
        await reading.value
        if let error = failure.withLockedValue({ $0 }) { throw error }
    }
}

/// Requests the measured client does not make: logging in, creating orders, posting the chat
/// messages. Counted as the helpers' bytes, the same for every transport.
struct Helper: Sendable {
    let meter: Meter
    let connection: HTTPConnection

    init(meter: Meter) async throws {
        self.meter = meter
        connection = try await meter.http(role: .helper)
    }

    func json(_ method: String, _ path: String, body: JSON? = nil, token: String? = nil) async throws -> JSON {
        var headers: [(String, String)] = []
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let response = try await connection.request(method: method, path: path, headers: headers, body: body.map { Array($0.text.utf8) })
        let text = String(decoding: response.body, as: UTF8.self)
        guard (200..<300).contains(response.status) else {
            throw ComparisonError("\(method) \(path.split(separator: "?").first ?? "") answered \(response.status) \(response.reason): \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return (try? JSON(parsing: text)) ?? .null
    }

    func login(_ user: String, _ password: String) async throws -> String {
        let answer = try await json("POST", "/auth/token", body: .object([("username", .string(user)), ("password", .string(password))]))
        guard let token = answer["access_token"]?.stringValue else { throw ComparisonError("POST /auth/token answered without a token") }
        return token
    }

    /// A notifications WebSocket is first handed whatever its user has not had yet. Connecting
    /// once as a helper takes that backlog, so the measured client sees only this run's pushes.
    func drainNotifications(token: String) async throws {
        let client = try await meter.webSocket("/ws/notifications?token=\(token)", role: .helper)
        var frames = client.frames.makeAsyncIterator()
        try await client.send(.text, payload: Array("ping".utf8))
        let watchdog = Task {
            try await Task.sleep(for: .seconds(5))
            await client.drop()
        }
        defer { watchdog.cancel() }
        // The backlog is sent before the socket reads anything, so the pong comes after it.
        while let frame = await frames.next() {
            if frame.opcode == .text, String(decoding: frame.unmaskedData.readableBytesView, as: UTF8.self).contains("pong") { break }
        }
        try await client.close(code: 1000)
        await client.waitUntilClosed()
    }
}
