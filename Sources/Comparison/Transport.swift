/// The ways a client can hear from a server, as the comparison runs them.
public enum Transport: String, Sendable, CaseIterable, Codable {
    /// One upgraded connection, frames both ways.
    case webSocket = "websocket"
    /// Server-Sent Events down; anything the client says goes up as HTTP POSTs (as SignalR and
    /// Engine.IO pair them).
    case eventStream = "sse"
    /// A GET every `--interval`, answered at once, often with nothing.
    case shortPolling = "short_polling"
    /// A GET the server holds until there is something new (or its wait ends), then the next.
    case longPolling = "long_polling"
    /// One request, one response: the natural fit when the client asks and the server answers.
    case requestResponse = "request_response"

    public var title: String {
        switch self {
        case .webSocket: "WebSocket"
        case .eventStream: "SSE"
        case .shortPolling: "short polling"
        case .longPolling: "long polling"
        case .requestResponse: "request/response"
        }
    }
}
