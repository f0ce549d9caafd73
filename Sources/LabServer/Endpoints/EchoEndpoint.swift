import WireProtocol

extension Endpoint {
    /// The guide's first server: `/ws/echo` sends every text message back as `Echo: <text>`.
    /// Binary messages come back unchanged, so binary frames can be seen too.
    static func echo(_ lab: LabContext) -> Endpoint {
        Endpoint(
            name: "echo",
            summary: "every text message comes back as \"Echo: <text>\"; binary comes back as is",
            guideSection: "FastAPI WebSocket Server",
            webSocketRoutes: [
                WebSocketRoute("/ws/echo", replying: { message in
                    switch message {
                    case .text(let text): .text("Echo: \(text)")
                    case .binary(let bytes): .binary(bytes)
                    }
                })
            ],
            httpRoutes: [
                // Request/response: one POST per message, the body comes back with "Echo: ".
                HTTPRoute(.post, "/http/echo", takesText: true) { exchange in
                    HTTPReply(text: "Echo: \(exchange.text)")
                }
            ]
        )
    }
}
