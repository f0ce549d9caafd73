import NIOConcurrencyHelpers
import WireProtocol

/// The guide's "long-running operations with progress (ML training)", part of the predict
/// endpoint: `POST /jobs/train` starts a training run of the same model on the same data, slowed
/// down to a few seconds by a pause between epochs (the pause is the only artificial part; every
/// number it reports is computed). One job, three ways to follow it:
///
/// - `/ws/jobs/{id}`: every entry so far, then the live ones, then close 1000 after `done`;
/// - `GET /jobs/{id}/events`: the same entries as Server-Sent Events, `id:` = the entry's
///   position (epoch N is id N, `done` is id epochs + 1), so `Last-Event-ID` resumes after it;
/// - `GET /jobs/{id}?since=N[&wait=S]`: the status, the latest progress, and the entries after
///   position N (held up to S seconds when there are none yet).
///
/// Entries: `{"type":"progress","job_id","epoch","epochs","loss","train_accuracy","test_accuracy","timestamp"}`
/// per epoch, then `{"type":"done","job_id","test_accuracy","epochs","loss","train_accuracy","timestamp"}`.
/// A job's entry list is the single source of truth for all three. A job trains a model of its
/// own and throws it away: `/ws/predict` keeps serving the model trained at start-up.
final class TrainingJobs: Sendable {
    static let defaultEpochs = 30
    static let epochRange = 1...300
    /// Larger steps make gradient descent overshoot; the bound keeps a job meaningful.
    static let maxLearningRate = 10.0
    static let pauseBetweenEpochs: Duration = .milliseconds(100)
    /// Finished jobs kept for late followers and pollers; older ones are forgotten.
    static let retainedJobs = 50
    /// Jobs that may run at once.
    static let maxRunning = 8

    typealias Entry = (position: Int, entry: JSON)

    private struct Job {
        let options: TrainingOptions
        var entries: [JSON] = []
        var finished = false
        /// Live followers, and the position each wants entries after.
        var followers: [Int: (after: Int, continuation: AsyncStream<Entry>.Continuation)] = [:]
    }

    private struct State {
        var nextJobID = 1
        var nextFollowerID = 1
        var jobs: [Int: Job] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let lab: LabContext
    private let data: LabeledDataset

    init(lab: LabContext, data: LabeledDataset) {
        self.lab = lab
        self.data = data
    }

    // MARK: The jobs

    /// Starts a job. - Returns: its id, or nil when ``maxRunning`` jobs are running already.
    func start(_ options: TrainingOptions) -> Int? {
        let id = state.withLockedValue { state -> Int? in
            guard state.jobs.values.filter({ !$0.finished }).count < Self.maxRunning else { return nil }
            let id = state.nextJobID
            state.nextJobID += 1
            state.jobs[id] = Job(options: options)
            // Forget the oldest finished jobs beyond the retained number (running ones stay).
            let finished = state.jobs.filter { $0.value.finished }.keys.sorted()
            for old in finished.dropLast(Self.retainedJobs) { state.jobs[old] = nil }
            return id
        }
        guard let id else { return nil }
        let data = self.data
        Task.detached {
            var training = SoftmaxTraining(data: data, options: options)
            var report: EpochReport?
            while !training.isFinished {
                if training.epoch > 0 { try? await Task.sleep(for: Self.pauseBetweenEpochs) }
                let epoch = training.step()
                report = epoch
                self.append(Self.progress(epoch, job: id, at: self.lab.clock.timestamp()), to: id, last: false)
            }
            if let report { self.append(Self.done(report, job: id, at: self.lab.clock.timestamp()), to: id, last: true) }
        }
        lab.logger.info("predict: training job started", metadata: ["job": "\(id)", "epochs": "\(options.epochs)"])
        return id
    }

    /// `timestamp` says when the server logged the entry, so a follower can time its delivery.
    static func progress(_ report: EpochReport, job: Int, at timestamp: String) -> JSON {
        .object([
            ("type", "progress"), ("job_id", .number(Double(job))), ("epoch", .number(Double(report.epoch))),
            ("epochs", .number(Double(report.epochs))), ("loss", .number(report.loss)),
            ("train_accuracy", .number(report.trainingAccuracy)), ("test_accuracy", .number(report.heldOutAccuracy)),
            ("timestamp", .string(timestamp)),
        ])
    }

    static func done(_ report: EpochReport, job: Int, at timestamp: String) -> JSON {
        .object([
            ("type", "done"), ("job_id", .number(Double(job))), ("test_accuracy", .number(report.heldOutAccuracy)),
            ("epochs", .number(Double(report.epochs))), ("loss", .number(report.loss)),
            ("train_accuracy", .number(report.trainingAccuracy)), ("timestamp", .string(timestamp)),
        ])
    }

    /// Logs an entry and hands it to every follower; after the last one, the followers' streams end.
    private func append(_ entry: JSON, to id: Int, last: Bool) {
        let (position, followers) = state.withLockedValue { state -> (Int, [(after: Int, continuation: AsyncStream<Entry>.Continuation)]) in
            guard var job = state.jobs[id] else { return (0, []) }
            job.entries.append(entry)
            job.finished = last
            let followers = Array(job.followers.values)
            if last { job.followers = [:] }
            state.jobs[id] = job
            return (job.entries.count, followers)
        }
        // Outside the lock: finishing a stream runs its termination handler, which takes the lock.
        for follower in followers {
            // A follower that resumed after a later position (Last-Event-ID, since) skips this one.
            if follower.after < position { follower.continuation.yield((position, entry)) }
            if last { follower.continuation.finish() }
        }
    }

    func exists(_ id: Int) -> Bool {
        state.withLockedValue { $0.jobs[id] != nil }
    }

    /// A job's options, whether it has finished, and its entries so far; nil for an unknown id.
    func snapshot(_ id: Int) -> (options: TrainingOptions, finished: Bool, entries: [JSON])? {
        state.withLockedValue { state in state.jobs[id].map { ($0.options, $0.finished, $0.entries) } }
    }

    /// The job's entries after `position`, then the live ones as they come; the stream ends after
    /// `done` (at once, for a finished job). Nil for an unknown id.
    func follow(_ id: Int, after position: Int) -> AsyncStream<Entry>? {
        let (stream, continuation) = AsyncStream<Entry>.makeStream()
        let outcome = state.withLockedValue { state -> Bool? in
            guard var job = state.jobs[id] else { return nil }
            for (index, entry) in job.entries.enumerated() where index + 1 > position {
                continuation.yield((index + 1, entry))
            }
            if job.finished { return true }
            let follower = state.nextFollowerID
            state.nextFollowerID += 1
            continuation.onTermination = { [weak self] _ in self?.unfollow(id, follower) }
            job.followers[follower] = (position, continuation)
            state.jobs[id] = job
            return false
        }
        guard let finished = outcome else { return nil }
        if finished { continuation.finish() }
        return stream
    }

    private func unfollow(_ id: Int, _ follower: Int) {
        state.withLockedValue { state in _ = state.jobs[id]?.followers.removeValue(forKey: follower) }
    }

    // MARK: The routes

    /// A job id from a path parameter: a positive whole number.
    private static func jobID(_ parameters: [String: String]) -> Int? {
        parameters["id"].flatMap { Int($0) }.flatMap { $0 > 0 ? $0 : nil }
    }

    private static func unknown(_ parameters: [String: String]) -> String {
        "no training job \(parameters["id"] ?? ""); start one with POST /jobs/train"
    }

    var webSocketRoute: WebSocketRoute {
        WebSocketRoute("/ws/jobs/{id}", admit: { parameters, _, _ in
            guard let id = Self.jobID(parameters), self.exists(id) else { return .refuse(.notFound, body: Self.unknown(parameters) + ".\n") }
            return .accept
        }) { session in
            guard let id = Self.jobID(session.parameters), let entries = self.follow(id, after: 0) else {
                // Forgotten between the upgrade and now.
                try await session.outbound.close(.policyViolation, reason: Self.unknown(session.parameters))
                return
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                // The client has nothing to say here, but reading answers its pings and its close.
                group.addTask {
                    for try await _ in session.messages() {}
                }
                // The only writer: the job's entries, then a normal close once it is done.
                group.addTask {
                    for await (_, entry) in entries {
                        try await session.send(entry)
                    }
                    if !Task.isCancelled {
                        try await session.outbound.close(.normalClosure, reason: "training job \(id) done")
                    }
                }
                // Whichever ends first ends the other: the client going away stops the writer, and
                // once the close is sent, the library waits for the client's answering close.
                _ = try await group.next()
                group.cancelAll()
            }
        }
    }

    var httpRoutes: [HTTPRoute] {
        [
            HTTPRoute(.post, "/jobs/train") { exchange in
                var options = TrainingOptions(epochs: Self.defaultEpochs)
                if let body = exchange.body {
                    guard body.isObject else { throw HTTPReply.badRequest("the body, if any, must be a JSON object such as {\"epochs\":30,\"learning_rate\":1}") }
                    if let value = body["epochs"] {
                        guard let epochs = value.numberValue, epochs.rounded() == epochs, Self.epochRange.contains(Int(exactly: epochs) ?? 0) else {
                            throw HTTPReply.badRequest("\"epochs\" must be a whole number from \(Self.epochRange.lowerBound) to \(Self.epochRange.upperBound), not \(value.text)")
                        }
                        options.epochs = Int(epochs)
                    }
                    if let value = body["learning_rate"] {
                        guard let rate = value.numberValue, rate > 0, rate <= Self.maxLearningRate else {
                            throw HTTPReply.badRequest("\"learning_rate\" must be a number above 0 and at most \(Self.maxLearningRate), not \(value.text)")
                        }
                        options.learningRate = rate
                    }
                }
                guard let id = self.start(options) else {
                    throw HTTPReply(.error("\(Self.maxRunning) training jobs are running already; wait for one to finish"), status: .tooManyRequests)
                }
                return HTTPReply(
                    .object([
                        ("job_id", .number(Double(id))), ("status", "running"),
                        ("links", .object([("websocket", .string("/ws/jobs/\(id)")), ("events", .string("/jobs/\(id)/events")), ("poll", .string("/jobs/\(id)"))])),
                        ("epochs", .number(Double(options.epochs))), ("learning_rate", .number(options.learningRate)),
                    ]),
                    status: .accepted
                )
            },
            HTTPRoute(.get, "/jobs/{id}") { exchange in
                guard let id = Self.jobID(exchange.parameters), var job = self.snapshot(id) else {
                    throw HTTPReply(.error(Self.unknown(exchange.parameters)), status: .notFound)
                }
                let (since, wait) = try exchange.pollParameters()
                if job.entries.count <= since, !job.finished, let wait, let entries = self.follow(id, after: since) {
                    // A long poll: hold the answer until the next entry or the end of the wait.
                    await withTaskGroup(of: Void.self) { group in
                        group.addTask {
                            var iterator = entries.makeAsyncIterator()
                            _ = await iterator.next()
                        }
                        group.addTask { try? await Task.sleep(for: min(wait, self.lab.limits.maxLongPoll)) }
                        await group.next()
                        group.cancelAll()
                    }
                    job = self.snapshot(id) ?? job
                }
                let entries = job.entries.enumerated().dropFirst(since).map { index, entry -> JSON in
                    guard case .object(let members) = entry else { return entry }
                    return .object([("id", .number(Double(index + 1)))] + members)
                }
                return HTTPReply(
                    .object([
                        ("job_id", .number(Double(id))), ("status", .string(job.finished ? "done" : "running")),
                        ("epochs", .number(Double(job.options.epochs))), ("learning_rate", .number(job.options.learningRate)),
                        ("progress", job.entries.last { $0["type"]?.stringValue == "progress" } ?? .null),
                        ("result", job.finished ? (job.entries.last ?? .null) : .null),
                        ("entries", .array(entries)),
                        ("last_id", .number(Double(max(since, job.entries.count)))),
                    ])
                )
            },
            HTTPRoute(.get, "/jobs/{id}/events") { exchange in
                guard let id = Self.jobID(exchange.parameters), let job = self.snapshot(id) else {
                    throw HTTPReply(.error(Self.unknown(exchange.parameters)), status: .notFound)
                }
                // A reconnecting EventSource sends the id of the last event it got.
                let lastEventID = (exchange.headers["last-event-id"] ?? exchange.query["last_event_id"]).flatMap { Int($0) } ?? 0
                if job.finished && job.entries.count <= lastEventID {
                    // Nothing more will come: 204 tells an EventSource to stop reconnecting.
                    return HTTPReply(text: "", status: .noContent)
                }
                guard let entries = self.follow(id, after: lastEventID) else {
                    throw HTTPReply(.error(Self.unknown(exchange.parameters)), status: .notFound)
                }
                let (events, continuation) = AsyncStream<String>.makeStream()
                let producer = Task {
                    for await (position, entry) in entries {
                        continuation.yield(SSEEvent(id: String(position), event: entry["type"]?.stringValue, data: entry.text).wireText)
                    }
                    continuation.finish()
                }
                continuation.onTermination = { _ in producer.cancel() }
                return HTTPReply(eventStream: events, continuation: continuation)
            },
        ]
    }
}
