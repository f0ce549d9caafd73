import WireProtocol

extension Endpoint {
    /// The guide's live dashboard: `/ws/dashboard` pushes
    /// `{"type":"metrics","active_users","revenue","error_rate","model_accuracy","timestamp"}`
    /// every second. Every number is the lab's own: open WebSocket connections, revenue of shipped
    /// orders, the share of requests and messages of the last minute that ended in an error, and
    /// the predict model's accuracy on held-out data (null until a model has been trained).
    static func dashboard(_ lab: LabContext) -> Endpoint {
        Endpoint(
            name: "dashboard",
            summary: "metrics pushed every second: active_users, revenue, error_rate, model_accuracy",
            guideSection: "Live Dashboard & ML Streaming",
            firstMessage: "wait 3s",
            webSocketRoutes: [
                WebSocketRoute("/ws/dashboard") { session in
                    let interval = lab.limits.dashboardInterval
                    let pusher = Task {
                        while !Task.isCancelled {
                            try await session.send(lab.dashboardSnapshot())
                            try await Task.sleep(for: interval)
                        }
                    }
                    // The dashboard only talks; reading notices when the client leaves.
                    for try await _ in session.messages() {
                        try await session.send(.error("the dashboard only pushes; it takes no messages"))
                    }
                    pusher.cancel()
                }
            ],
            httpRoutes: [
                // The same snapshot, for polling.
                HTTPRoute(.get, "/http/dashboard") { _ in HTTPReply(lab.dashboardSnapshot()) },
                // The same pushes as Server-Sent Events, numbered so a learner can count them.
                HTTPRoute(.get, "/http/dashboard/events") { _ in
                    let (events, continuation) = AsyncStream<String>.makeStream()
                    let pusher = Task {
                        var number = 1
                        while !Task.isCancelled {
                            continuation.yield(SSEEvent(id: String(number), data: lab.dashboardSnapshot().text).wireText)
                            number += 1
                            try await Task.sleep(for: lab.limits.dashboardInterval)
                        }
                    }
                    continuation.onTermination = { _ in pusher.cancel() }
                    return HTTPReply(eventStream: events, continuation: continuation)
                },
            ]
        )
    }
}

extension LabContext {
    func dashboardSnapshot() -> JSON {
        let accuracy = metrics.modelAccuracy.map { JSON.number(($0 * 10_000).rounded() / 10_000) } ?? .null
        return .object([
            ("type", "metrics"),
            ("active_users", .number(Double(connections.count))),
            ("revenue", .number(Double(orders.shippedRevenueCents) / 100)),
            ("error_rate", .number((metrics.errorRate * 10_000).rounded() / 10_000)),
            ("model_accuracy", accuracy),
            ("timestamp", .string(clock.timestamp())),
        ])
    }
}
