import WireProtocol

extension Endpoint {
    /// The guide's `/ws/predict`: `{"features":[…],"request_id":…}` comes back as
    /// `{"prediction","confidence","request_id"}` (and every class's probability after them).
    ///
    /// - The model is trained once, here, when the lab is made ("load model once at startup, not
    ///   per request"): softmax regression on Fisher's Iris data (`Model/`), in milliseconds. Its
    ///   held-out accuracy goes to `lab.metrics.modelAccuracy`.
    /// - Each prediction runs in a task of its own, off the task that reads the connection (the
    ///   guide's `run_in_executor`), so the session keeps reading while it works; answers may come
    ///   back out of order, and `request_id` pairs them with their requests. One writer task sends
    ///   every reply of a connection.
    /// - A bad request gets `{"type":"error","error","request_id"}`; the connection stays open.
    /// - Long-running work with progress: `POST /jobs/train` starts a training run of a few
    ///   seconds, followed over `/ws/jobs/{id}`, SSE `GET /jobs/{id}/events` or polling
    ///   `GET /jobs/{id}` (`JobsEndpoint.swift`).
    static func predict(_ lab: LabContext) -> Endpoint {
        let predictor = Predictor(lab: lab)
        let jobs = TrainingJobs(lab: lab, data: predictor.data)
        return Endpoint(
            name: "predict",
            summary: "Iris species from 4 measurements (softmax regression, held-out accuracy \(predictor.accuracyText)); training jobs with progress",
            guideSection: "Live Dashboard & ML Streaming",
            firstMessage: "send {\"features\":[5.1,3.5,1.4,0.2],\"request_id\":1}",
            webSocketRoutes: [
                WebSocketRoute("/ws/predict") { session in
                    try await predictor.serve(session)
                },
                jobs.webSocketRoute,
            ],
            httpRoutes: [
                // The same request over HTTP. A text route, so that a body that is not JSON
                // reaches the handler and gets the same error reply as on the WebSocket. (LabHTTP
                // counts every HTTP request in the metrics, a 400 as an error.)
                HTTPRoute(.post, "/http/predict", takesText: true) { exchange in
                    let request: JSON
                    if let body = exchange.body {
                        request = body
                    } else {
                        do {
                            request = try JSON(parsing: exchange.text)
                        } catch {
                            let problem = exchange.text.isEmpty ? "the request needs a JSON body" : "not valid JSON: \(error)"
                            throw HTTPReply(predictor.refuse(problem, requestID: .null), status: .badRequest)
                        }
                    }
                    let (reply, ok) = await predictor.reply(to: request)
                    return HTTPReply(reply, status: ok ? .ok : .badRequest)
                }
            ] + jobs.httpRoutes
        )
    }
}

/// The predict endpoint's model, trained once per lab and only read afterwards, and the rules for
/// reading a prediction request.
final class Predictor: Sendable {
    let lab: LabContext
    let data: LabeledDataset
    let model: SoftmaxRegression
    /// The last epoch of the start-up training: its held-out accuracy is the model's.
    let report: EpochReport
    let trainingTime: Duration

    init(lab: LabContext, data: LabeledDataset = .iris, options: TrainingOptions = TrainingOptions()) {
        self.lab = lab
        self.data = data
        let clock = ContinuousClock()
        var trained: (model: SoftmaxRegression, report: EpochReport)?
        trainingTime = clock.measure { trained = SoftmaxTraining.run(data: data, options: options) }
        (model, report) = trained!
        lab.metrics.modelAccuracy = report.heldOutAccuracy
        lab.logger.info(
            "predict: model trained",
            metadata: [
                "epochs": "\(report.epochs)", "loss": "\(report.loss)", "held_out_accuracy": "\(report.heldOutAccuracy)",
                "training_time": "\(trainingTime)",
            ]
        )
    }

    /// The held-out accuracy with three decimals, for the endpoint's summary.
    var accuracyText: String {
        let thousandths = Int((report.heldOutAccuracy * 1000).rounded())
        let fraction = String(thousandths % 1000)
        return "\(thousandths / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// The reply to one request, computed off the caller's task; `ok` is false for an error reply.
    func reply(to request: JSON) async -> (reply: JSON, ok: Bool) {
        let requestID = request["request_id"] ?? .null
        let features: [Double]
        switch Self.features(in: request, names: data.featureNames) {
        case .failure(let problem):
            return (refuse(problem.message, requestID: requestID), false)
        case .success(let values):
            features = values
        }
        // The guide's `await loop.run_in_executor(None, model.predict, features)`: the model runs
        // in a detached task on the global pool, never on the task that reads the connection.
        let model = self.model
        let (label, probabilities) = await Task.detached { model.predict(features) }.value
        return (
            .object([
                ("prediction", .string(label)),
                ("confidence", .number(probabilities.max() ?? 0)),
                ("request_id", requestID),
                ("probabilities", .object(zip(model.classNames, probabilities).map { ($0, .number($1)) })),
            ]),
            true
        )
    }

    /// `{"type":"error","error":problem,"request_id":…}`.
    func refuse(_ problem: String, requestID: JSON) -> JSON {
        guard case .object(let members) = JSON.error(problem) else { return .error(problem) }
        return .object(members + [("request_id", requestID)])
    }

    struct Problem: Error {
        let message: String
    }

    /// The measurements of a request, or what is wrong with it.
    static func features(in request: JSON, names: [String]) -> Result<[Double], Problem> {
        let example = "{\"features\":[5.1,3.5,1.4,0.2],\"request_id\":1}"
        let expected = "\(names.count) numbers (\(names.joined(separator: ", ")))"
        guard request.isObject else {
            return .failure(Problem(message: "a prediction request is a JSON object, e.g. \(example); got \(kind(of: request))"))
        }
        guard let value = request["features"] else {
            return .failure(Problem(message: "the request has no \"features\": it needs \(expected), e.g. \(example)"))
        }
        guard case .array(let items) = value else {
            return .failure(Problem(message: "\"features\" must be an array of \(expected), not \(kind(of: value))"))
        }
        guard items.count == names.count else {
            return .failure(Problem(message: "\"features\" needs \(expected); got \(items.count) value\(items.count == 1 ? "" : "s")"))
        }
        var features: [Double] = []
        for (index, item) in items.enumerated() {
            guard let number = item.numberValue else {
                return .failure(Problem(message: "features[\(index)] (\(names[index])) must be a number, not \(kind(of: item)) \(item.text)"))
            }
            guard number.isFinite else {
                return .failure(Problem(message: "features[\(index)] (\(names[index])) is too large to be a number: \(number)"))
            }
            features.append(number)
        }
        return .success(features)
    }

    private static func kind(of value: JSON) -> String {
        switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// A `/ws/predict` connection. The reader starts a task per request and reads on; replies go
    /// into one queue that a single writer task drains, so two replies are never written at once.
    /// Every request read is work in hand (``ConnectionLifecycle``) until its reply is written: a
    /// close, or a broken rule, that comes right after a request waits for its answer. When the
    /// client is done, the predictions still running are finished and sent. Every message is
    /// counted in the lab's metrics, as an error or not.
    func serve(_ session: WebSocketSession) async throws {
        let (replies, outbox) = AsyncStream<String>.makeStream()
        defer { outbox.finish() }
        let lifecycle = session.lifecycle
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The connection's one writer.
            group.addTask {
                for await text in replies {
                    defer { lifecycle.answered() }
                    do {
                        try await session.outbound.write(.text(text))
                    } catch {
                        return  // the connection is gone: nobody to answer
                    }
                }
            }
            try await withThrowingDiscardingTaskGroup { predictions in
                for try await message in session.messages() {
                    lifecycle.accepted()
                    switch message {
                    case .binary:
                        lab.metrics.record(error: true)
                        outbox.yield(refuse("expected a JSON text message, got a binary one", requestID: .null).text)
                    case .text(let text):
                        let request: JSON
                        do {
                            request = try JSON(parsing: text)
                        } catch {
                            lab.metrics.record(error: true)
                            outbox.yield(refuse("not valid JSON: \(error)", requestID: .null).text)
                            continue
                        }
                        predictions.addTask {
                            let (reply, ok) = await self.reply(to: request)
                            self.lab.metrics.record(error: !ok)
                            outbox.yield(reply.text)
                        }
                    }
                }
            }
            // Every prediction has been answered: the writer sends what is queued, then stops.
            outbox.finish()
            try await group.waitForAll()
        }
    }
}
