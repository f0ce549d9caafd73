import WireProtocol

extension Endpoint {
    /// The guide's `/ws/{client_id}`: path parameters work with WebSockets too. Each JSON
    /// message comes back wrapped as `{"from": client_id, "data": message, "timestamp": …}`.
    static func client(_ lab: LabContext) -> Endpoint {
        @Sendable func wrap(_ message: JSON, from clientID: String) -> JSON {
            .object([("from", .string(clientID)), ("data", message), ("timestamp", .string(lab.clock.timestamp()))])
        }
        return Endpoint(
            name: "client",
            summary: "each JSON message comes back as {\"from\": id, \"data\": message, \"timestamp\": …}",
            guideSection: "FastAPI WebSocket Server (path parameters)",
            firstMessage: "send {\"msg\":\"hi\"}",
            webSocketRoutes: [
                WebSocketRoute("/ws/{client_id}") { session in
                    let clientID = session.parameters["client_id"] ?? ""
                    for try await message in session.jsonMessages(reply: session.send) {
                        try await session.send(wrap(message, from: clientID))
                    }
                }
            ],
            httpRoutes: [
                HTTPRoute(.post, "/http/{client_id}") { exchange in
                    guard let body = exchange.body else { throw HTTPReply.badRequest("the request needs a JSON body") }
                    return HTTPReply(wrap(body, from: exchange.parameters["client_id"] ?? ""))
                }
            ]
        )
    }
}
