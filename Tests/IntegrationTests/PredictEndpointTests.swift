import Foundation
import LabServer
import Testing
import WireProtocol

/// The predict endpoint: the Iris model itself, `/ws/predict` and its HTTP twin, and training jobs
/// followed over WebSocket, SSE and polling.
@Suite struct PredictEndpointTests {
    static let setosa: [Double] = [5.1, 3.5, 1.4, 0.2]  // row 1 of iris.csv
    static let versicolor: [Double] = [6.4, 3.2, 4.5, 1.5]  // row 52
    static let virginica: [Double] = [6.7, 3.0, 5.2, 2.3]  // row 146

    static func request(_ features: [Double], id: JSON) -> JSON {
        .obj(("features", .array(features.map { .number($0) })), ("request_id", id))
    }

    /// Checks one successful reply and returns its probabilities, in the data set's class order.
    @discardableResult
    static func checkReply(_ reply: JSON, prediction: String, requestID: JSON, sourceLocation: SourceLocation = #_sourceLocation) throws -> [Double] {
        #expect(reply.keys == ["prediction", "confidence", "request_id", "probabilities"], "\(reply.text)", sourceLocation: sourceLocation)
        #expect(reply["prediction"] == .string(prediction), "\(reply.text)", sourceLocation: sourceLocation)
        #expect(reply["request_id"] == requestID, "\(reply.text)", sourceLocation: sourceLocation)
        let confidence = try #require(reply["confidence"]?.numberValue, sourceLocation: sourceLocation)
        let probabilities = try #require(reply["probabilities"], sourceLocation: sourceLocation)
        #expect(probabilities.keys == ["setosa", "versicolor", "virginica"], sourceLocation: sourceLocation)
        let values = (probabilities.keys ?? []).compactMap { probabilities[$0]?.numberValue }
        #expect(confidence > 0 && confidence <= 1, sourceLocation: sourceLocation)
        #expect(confidence == values.max(), "the confidence is the largest probability", sourceLocation: sourceLocation)
        #expect(probabilities[prediction]?.numberValue == confidence, sourceLocation: sourceLocation)
        #expect(abs(values.reduce(0, +) - 1) < 1e-9, "probabilities sum to 1: \(values)", sourceLocation: sourceLocation)
        return values
    }

    static func checkError(_ reply: JSON, requestID: JSON, mentioning words: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.keys == ["type", "error", "request_id"], "\(reply.text)", sourceLocation: sourceLocation)
        #expect(reply["type"] == "error", sourceLocation: sourceLocation)
        #expect(reply["request_id"] == requestID, "\(reply.text)", sourceLocation: sourceLocation)
        let message = reply["error"]?.stringValue ?? ""
        #expect(!message.isEmpty, sourceLocation: sourceLocation)
        for word in words {
            #expect(message.contains(word), "\"\(message)\" should mention \(word)", sourceLocation: sourceLocation)
        }
    }

    // MARK: - The model

    @Test func trainingIsDeterministicTheLossFallsAndHeldOutAccuracyIsHigh() throws {
        let data = LabeledDataset.iris
        #expect(data.count == 150)
        #expect(data.featureNames == ["sepal_length", "sepal_width", "petal_length", "petal_width"])
        #expect(data.classNames == ["setosa", "versicolor", "virginica"])
        #expect(data.classNames.map { name in data.labels.filter { data.classNames[$0] == name }.count } == [50, 50, 50])

        var losses: [Double] = []
        var reports: [EpochReport] = []
        let first = SoftmaxTraining.run(data: data) { report in
            losses.append(report.loss)
            reports.append(report)
        }
        let second = SoftmaxTraining.run(data: data)
        #expect(first.model == second.model, "same seed, same weights")
        #expect(first.model.weights == second.model.weights && first.model.biases == second.model.biases)
        #expect(first.report == second.report)

        #expect(reports.map(\.epoch) == Array(1...300))
        #expect(zip(losses, losses.dropFirst()).allSatisfy { $1 < $0 }, "the loss falls every epoch: \(losses.prefix(10))…")
        #expect(losses.last! < losses.first! / 4)
        #expect(first.report.heldOutAccuracy >= 0.9, "\(first.report)")
        #expect(first.report.trainingAccuracy >= 0.9, "\(first.report)")

        // The split: stratified 80/20, disjoint, the same every time; another seed, another split.
        let split = data.stratifiedSplit(heldOutFraction: 0.2, seed: TrainingOptions().seed)
        #expect(split.training.count == 120 && split.heldOut.count == 30)
        #expect(split.heldOut.classNames.indices.map { label in split.heldOut.labels.filter { $0 == label }.count } == [10, 10, 10])
        #expect(data.stratifiedSplit(heldOutFraction: 0.2, seed: TrainingOptions().seed) == split)
        #expect(data.stratifiedSplit(heldOutFraction: 0.2, seed: 7).heldOut != split.heldOut)

        // Known rows.
        #expect(first.model.predict(Self.setosa).label == "setosa")
        #expect(first.model.predict(Self.versicolor).label == "versicolor")
        #expect(first.model.predict(Self.virginica).label == "virginica")
    }

    @Test func theCSVReaderRefusesMalformedFiles() {
        #expect(throws: LabeledDataset.FormatError.self) { try LabeledDataset(csv: "") }
        #expect(throws: LabeledDataset.FormatError.self) { try LabeledDataset(csv: "a,b,class\n1,x,one\n") }
        #expect(throws: LabeledDataset.FormatError.self) { try LabeledDataset(csv: "a,b,class\n1,2\n") }
        let small = try? LabeledDataset(csv: "a,b,class\n1,2,one\n3,4,two\n\n5,6,one\n")
        #expect(small?.labels == [0, 1, 0])
        #expect(small?.classNames == ["one", "two"])
    }

    // MARK: - /ws/predict

    @Test func knownIrisRowsArePredictedWithTheirConfidence() async throws {
        let (lab, port) = try await startLab(only: ["predict"])
        defer { Task { await lab.stop() } }
        let client = try await JSONClient.connect(port: port, path: "/ws/predict")
        for (features, species) in [(Self.setosa, "setosa"), (Self.versicolor, "versicolor"), (Self.virginica, "virginica")] {
            try await client.send(Self.request(features, id: .string(species)))
            try Self.checkReply(try await client.next(), prediction: species, requestID: .string(species))
        }
        #expect(client.closeCode == nil)
        await client.close()
    }

    @Test func heldOutAccuracyIsInTheLabMetrics() async throws {
        let (lab, _) = try await startLab(only: ["predict"])
        defer { Task { await lab.stop() } }
        let accuracy = try #require(lab.context.metrics.modelAccuracy, "the model is trained when the lab is made")
        #expect(accuracy >= 0.9)
        #expect(accuracy == SoftmaxTraining.run(data: .iris).report.heldOutAccuracy)
        let summary = lab.registry.endpoint(named: "predict")?.summary ?? ""
        #expect(summary.contains("held-out accuracy 0."), "\(summary)")
    }

    @Test func requestIDsComeBackAsSent() async throws {
        let (lab, port) = try await startLab(only: ["predict"])
        defer { Task { await lab.stop() } }
        let client = try await JSONClient.connect(port: port, path: "/ws/predict")
        for id: JSON in [42, .number(1_764_460_800_123), .number(2.5), "abc-1", .obj(("n", 1)), .null] {
            try await client.send(Self.request(Self.setosa, id: id))
            try Self.checkReply(try await client.next(), prediction: "setosa", requestID: id)
        }
        // No request_id at all: null, as the guide's payload.get("request_id").
        try await client.send(.obj(("features", .array(Self.setosa.map { .number($0) }))))
        try Self.checkReply(try await client.next(), prediction: "setosa", requestID: .null)
        await client.close()
    }

    @Test func manyConcurrentRequestsOnOneConnectionAreEachAnswered() async throws {
        let (lab, port) = try await startLab(only: ["predict"])
        defer { Task { await lab.stop() } }
        let client = try await JSONClient.connect(port: port, path: "/ws/predict")
        let rows = [(Self.setosa, "setosa"), (Self.versicolor, "versicolor"), (Self.virginica, "virginica")]
        let count = 150
        for index in 0..<count {
            // Sent without waiting: the session reads on while earlier predictions run.
            try await client.send(Self.request(rows[index % 3].0, id: .string("r\(index)")))
        }
        var answered: [String: String] = [:]
        for _ in 0..<count {
            let reply = try await client.next(timeout: .seconds(20))
            let id = try #require(reply["request_id"]?.stringValue, "\(reply.text)")
            #expect(answered[id] == nil, "\(id) answered twice")
            answered[id] = reply["prediction"]?.stringValue
        }
        #expect(answered.count == count)
        for index in 0..<count {
            #expect(answered["r\(index)"] == rows[index % 3].1, "r\(index)")
        }
        #expect(try await client.unread(after: .milliseconds(100)).isEmpty, "one reply per request")
        await client.close()
    }

    @Test func badRequestsGetAnErrorWithTheirRequestIDAndTheConnectionStaysOpen() async throws {
        let (lab, port) = try await startLab(only: ["predict"])
        defer { Task { await lab.stop() } }
        let client = try await JSONClient.connect(port: port, path: "/ws/predict")
        let cases: [(text: String, id: JSON, words: [String])] = [
            ("not json at all", .null, ["JSON"]),
            ("[5.1,3.5,1.4,0.2]", .null, ["object"]),
            (#"{"request_id":1}"#, 1, ["features"]),
            (#"{"features":"5.1,3.5,1.4,0.2","request_id":2}"#, 2, ["array", "a string"]),
            (#"{"features":[5.1,3.5,1.4],"request_id":"three"}"#, "three", ["4 numbers", "got 3"]),
            (#"{"features":[5.1,3.5,1.4,0.2,9],"request_id":4}"#, 4, ["4 numbers", "got 5"]),
            (#"{"features":[],"request_id":5}"#, 5, ["got 0"]),
            (#"{"features":[5.1,"3.5",1.4,0.2],"request_id":6}"#, 6, ["features[1]", "sepal_width", "number"]),
            (#"{"features":[5.1,3.5,null,0.2],"request_id":7}"#, 7, ["features[2]", "null"]),
            // Beyond a Double, 1e999 is not valid JSON here at all (the parser says where), so no request_id can be read.
            (#"{"features":[5.1,3.5,1.4,1e999],"request_id":8}"#, .null, ["too large for a 64-bit float", "column 26"]),
            (#"{"features":[true,3.5,1.4,0.2],"request_id":{"k":[1]}}"#, .obj(("k", [1])), ["features[0]", "boolean"]),
        ]
        for bad in cases {
            try await client.sendText(bad.text)
            Self.checkError(try await client.next(), requestID: bad.id, mentioning: bad.words)
        }
        try await client.client.send(.binary, payload: [1, 2, 3])
        Self.checkError(try await client.next(), requestID: .null, mentioning: ["binary"])

        // Still open, still answering.
        try await client.send(Self.request(Self.virginica, id: 99))
        try Self.checkReply(try await client.next(), prediction: "virginica", requestID: 99)
        #expect(client.closeCode == nil)
        // Every request was counted, the bad ones as errors.
        let errors = Double(cases.count + 1)
        #expect(abs(lab.context.metrics.errorRate - errors / (errors + 1)) < 1e-9, "\(lab.context.metrics.errorRate)")
        await client.close()
    }

    // MARK: - POST /http/predict

    @Test func theHTTPTwinAnswersLikeTheWebSocket() async throws {
        let (lab, port) = try await startLab(only: ["predict"])
        defer { Task { await lab.stop() } }
        let client = try await JSONClient.connect(port: port, path: "/ws/predict")
        for (features, species) in [(Self.setosa, "setosa"), (Self.virginica, "virginica")] {
            let body = Self.request(features, id: .string("id-\(species)"))
            let answer = try await httpRequest("POST", "/http/predict", port: port, body: body.text)
            #expect(answer.status == 200, "\(answer)")
            #expect(answer.contentType == "application/json")
            let reply = try #require(answer.json, "\(answer)")
            try Self.checkReply(reply, prediction: species, requestID: .string("id-\(species)"))
            try await client.send(body)
            #expect(try await client.next() == reply, "the same request gives the same reply on both")
        }
        await client.close()

        let wrongCount = try await httpRequest("POST", "/http/predict", port: port, body: #"{"features":[1,2],"request_id":"w"}"#)
        #expect(wrongCount.status == 400, "\(wrongCount)")
        Self.checkError(try #require(wrongCount.json), requestID: "w", mentioning: ["got 2"])
        let nonNumeric = try await httpRequest("POST", "/http/predict", port: port, body: #"{"features":[1,2,"x",4],"request_id":3}"#)
        #expect(nonNumeric.status == 400, "\(nonNumeric)")
        Self.checkError(try #require(nonNumeric.json), requestID: 3, mentioning: ["features[2]"])
        let notJSON = try await httpRequest("POST", "/http/predict", port: port, body: "features=1,2,3,4")
        #expect(notJSON.status == 400, "\(notJSON)")
        Self.checkError(try #require(notJSON.json), requestID: .null, mentioning: ["JSON"])
        let noBody = try await httpRequest("POST", "/http/predict", port: port)
        #expect(noBody.status == 400, "\(noBody)")
        Self.checkError(try #require(noBody.json), requestID: .null)
        // Two good and four bad requests on HTTP, two good ones on the WebSocket.
        #expect(abs(lab.context.metrics.errorRate - 4.0 / 8.0) < 1e-9, "\(lab.context.metrics.errorRate)")
    }

    // MARK: - Training jobs

    /// The events of a whole `text/event-stream` body: split on blank lines, fields by name.
    static func sseEvents(_ body: String) -> [(id: String?, event: String?, data: String)] {
        body.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n\n").compactMap { block in
            var id: String?
            var event: String?
            var data: [String] = []
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("id: ") { id = String(line.dropFirst(4)) }
                if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
            }
            return data.isEmpty ? nil : (id, event, data.joined(separator: "\n"))
        }
    }

    /// A GET with extra header lines over a raw connection (`Connection: close`); the whole answer.
    static func get(_ path: String, port: Int, headers: [String] = []) async throws -> HTTPAnswer {
        let connection = try await RawConnection(port: port)
        defer { Task { await connection.close() } }
        try await connection.write("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n")
        let bytes = await connection.waitFor { _ in false }  // until the server closes (or 5 s)
        guard case .head(let head, let consumed) = HTTPHead.parse(bytes) else {
            throw WaitFailed(description: "GET \(path): no response head: \(String(decoding: bytes, as: UTF8.self))")
        }
        var body = Array(bytes[consumed...])
        if head.isChunked {
            // Chunk sizes in hex, each on its own line, then the chunk.
            var out: [UInt8] = []
            var index = body.startIndex
            while let lineEnd = body[index...].firstRange(of: [13, 10]),
                let size = Int(String(decoding: body[index..<lineEnd.lowerBound], as: UTF8.self), radix: 16), size > 0
            {
                out += body[lineEnd.upperBound..<min(lineEnd.upperBound + size, body.count)]
                index = min(lineEnd.upperBound + size + 2, body.count)
            }
            body = out
        }
        return HTTPAnswer(head: head, body: String(decoding: body, as: UTF8.self))
    }

    static func startJob(port: Int, body: String? = nil) async throws -> (id: Int, reply: JSON) {
        let answer = try await httpRequest("POST", "/jobs/train", port: port, body: body)
        #expect(answer.status == 202, "\(answer)")
        let reply = try #require(answer.json, "\(answer)")
        return (try #require(reply["job_id"]?.intValue, "\(reply.text)"), reply)
    }

    @Test func oneJobFollowedOverWebSocketSSEAndPollingShowsTheSameEpochs() async throws {
        let (lab, port) = try await startLab(only: ["predict"])
        defer { Task { await lab.stop() } }
        let epochs = 8
        let (id, started) = try await Self.startJob(port: port, body: #"{"epochs":8,"learning_rate":1}"#)
        #expect(started.keys == ["job_id", "status", "links", "epochs", "learning_rate"], "\(started.text)")
        #expect(started["status"] == "running")
        #expect(
            started["links"] == .obj(("websocket", .string("/ws/jobs/\(id)")), ("events", .string("/jobs/\(id)/events")), ("poll", .string("/jobs/\(id)")))
        )
        #expect(started["epochs"] == 8)

        async let overWebSocket: ([JSON], UInt16?) = {
            let client = try await JSONClient.connect(port: port, path: "/ws/jobs/\(id)")
            var entries: [JSON] = []
            while entries.last?["type"] != "done" {
                entries.append(try await client.next(timeout: .seconds(15)))
            }
            let code = await client.waitForClose()
            return (entries, code)
        }()
        async let overSSE = httpRequest("GET", "/jobs/\(id)/events", port: port, timeout: .seconds(20))
        async let overPolling: [JSON] = {
            var entries: [JSON] = []
            var since = 0
            for _ in 0..<200 where entries.last?["type"] != "done" {
                let answer = try await httpRequest("GET", "/jobs/\(id)?since=\(since)&wait=5", port: port)
                #expect(answer.status == 200, "\(answer)")
                let poll = try #require(answer.json, "\(answer)")
                #expect(poll.keys == ["job_id", "status", "epochs", "learning_rate", "progress", "result", "entries", "last_id"], "\(poll.text)")
                let fresh = poll["entries"]?.arrayValue ?? []
                #expect(fresh.map { $0["id"]?.intValue } == fresh.indices.map { since + $0 + 1 }, "ids continue from since")
                entries += fresh.map { $0.removing("id") }
                since = poll["last_id"]?.intValue ?? since
            }
            return entries
        }()

        let (webSocketEntries, closeCode) = try await overWebSocket
        let sse = try await overSSE
        let polled = try await overPolling

        // The WebSocket: every epoch in order, then done, then a normal close.
        #expect(webSocketEntries.count == epochs + 1)
        #expect(webSocketEntries.dropLast().map { $0["epoch"]?.intValue } == (1...epochs).map { $0 })
        for entry in webSocketEntries.dropLast() {
            #expect(entry.keys == ["type", "job_id", "epoch", "epochs", "loss", "train_accuracy", "test_accuracy", "timestamp"], "\(entry.text)")
            #expect(isISOTimestamp(entry["timestamp"]))
            #expect(entry["type"] == "progress" && entry["job_id"]?.intValue == id && entry["epochs"]?.intValue == epochs)
        }
        let done = try #require(webSocketEntries.last)
        #expect(done.keys == ["type", "job_id", "test_accuracy", "epochs", "loss", "train_accuracy", "timestamp"], "\(done.text)")
        #expect(done["test_accuracy"] == webSocketEntries[epochs - 1]["test_accuracy"])
        #expect(closeCode == 1000)

        // SSE: the same entries, id = position, event = type.
        #expect(sse.status == 200, "\(sse)")
        #expect(sse.contentType == "text/event-stream")
        let events = Self.sseEvents(sse.body)
        #expect(events.map(\.id) == (1...epochs + 1).map { String($0) })
        #expect(events.map(\.event) == Array(repeating: "progress", count: epochs) + ["done"])
        #expect(events.map { try? JSON(parsing: $0.data) } == webSocketEntries, "\(sse.body)")

        // Polling: the same entries again.
        #expect(polled == webSocketEntries)

        // Every number is computed: the same training, run here, gives the same reports.
        var expected: [EpochReport] = []
        _ = SoftmaxTraining.run(data: .iris, options: TrainingOptions(epochs: epochs, learningRate: 1)) { expected.append($0) }
        #expect(webSocketEntries.dropLast().map { $0["loss"]?.numberValue } == expected.map(\.loss))
        #expect(webSocketEntries.dropLast().map { $0["test_accuracy"]?.numberValue } == expected.map(\.heldOutAccuracy))
        #expect(webSocketEntries.dropLast().map { $0["train_accuracy"]?.numberValue } == expected.map(\.trainingAccuracy))
        let losses = webSocketEntries.dropLast().compactMap { $0["loss"]?.numberValue }
        #expect(zip(losses, losses.dropFirst()).allSatisfy { $1 < $0 }, "\(losses)")

        // The finished job, polled plainly.
        let final = try #require(try await httpRequest("GET", "/jobs/\(id)", port: port).json)
        #expect(final["status"] == "done")
        #expect(final["progress"] == webSocketEntries[epochs - 1])
        #expect(final["result"] == done)
        #expect(final["entries"]?.arrayValue?.count == epochs + 1)
        #expect(final["last_id"]?.intValue == epochs + 1)

        // A late WebSocket follower still gets the whole run, then the close.
        let late = try await JSONClient.connect(port: port, path: "/ws/jobs/\(id)", name: "the late follower")
        var replayed: [JSON] = []
        for _ in 0...epochs { replayed.append(try await late.next()) }
        #expect(replayed == webSocketEntries)
        #expect(await late.waitForClose() == 1000)
    }

    @Test func lastEventIDResumesTheEventStream() async throws {
        let (lab, port) = try await startLab(only: ["predict"])
        defer { Task { await lab.stop() } }
        let (id, _) = try await Self.startJob(port: port, body: #"{"epochs":4}"#)
        // Resume while it runs: only the entries after id 2.
        let resumed = try await Self.get("/jobs/\(id)/events", port: port, headers: ["Last-Event-ID: 2"])
        #expect(resumed.status == 200, "\(resumed)")
        let events = Self.sseEvents(resumed.body)
        #expect(events.map(\.id) == ["3", "4", "5"], "\(resumed.body)")
        #expect(events.last?.event == "done")
        // After the end, nothing more will come: 204 tells an EventSource to stop reconnecting.
        let over = try await Self.get("/jobs/\(id)/events", port: port, headers: ["Last-Event-ID: 5"])
        #expect(over.status == 204, "\(over)")
        let whole = try await Self.get("/jobs/\(id)/events", port: port)
        #expect(Self.sseEvents(whole.body).map(\.id) == ["1", "2", "3", "4", "5"])
    }

    @Test func anUnknownJobIsNotFoundOnAllThreeTransports() async throws {
        let (lab, port) = try await startLab(only: ["predict"])
        defer { Task { await lab.stop() } }
        for path in ["/jobs/999", "/jobs/999/events", "/jobs/zero", "/jobs/0/events"] {
            let answer = try await httpRequest("GET", path, port: port)
            #expect(answer.status == 404, "\(path): \(answer)")
            #expect(answer.json?.keys == ["type", "error"], "\(path): \(answer)")
            #expect(answer.json?["error"]?.stringValue?.contains("POST /jobs/train") == true, "\(answer)")
        }
        let status = try await upgradeStatusLine(port: port, path: "/ws/jobs/999")
        #expect(status?.contains("404") == true, "\(status ?? "nothing")")
        await #expect(throws: JSONClient.Refused.self) { try await JSONClient.connect(port: port, path: "/ws/jobs/999") }
    }

    @Test func trainRequestsAreChecked() async throws {
        let (lab, port) = try await startLab(only: ["predict"])
        defer { Task { await lab.stop() } }
        for body in [#"{"epochs":0}"#, #"{"epochs":1000}"#, #"{"epochs":2.5}"#, #"{"epochs":"ten"}"#, #"{"learning_rate":0}"#, #"{"learning_rate":-1}"#, #"{"learning_rate":100}"#, "[1]", "nope"] {
            let answer = try await httpRequest("POST", "/jobs/train", port: port, body: body)
            #expect(answer.status == 400, "\(body): \(answer)")
            #expect(answer.json?["type"] == "error", "\(body): \(answer)")
        }
        // No body: the defaults, a run of a few seconds.
        let (_, started) = try await Self.startJob(port: port)
        #expect(started["epochs"] == 30)
        #expect(started["learning_rate"] == 1)
    }
}
