/// One Server-Sent Event as the server writes it (WHATWG HTML, "Server-sent events"): field lines
/// `name: value`, one `data:` line per line of data, and an empty line to end the event.
public struct SSEEvent: Sendable, Equatable {
    public var id: String?
    public var event: String?
    public var data: String
    /// Milliseconds the client should wait before reconnecting.
    public var retry: Int?

    public init(id: String? = nil, event: String? = nil, data: String, retry: Int? = nil) {
        self.id = id
        self.event = event
        self.data = data
        self.retry = retry
    }

    /// The event's bytes on the wire.
    public var wireText: String {
        var text = ""
        if let retry { text += "retry: \(retry)\n" }
        if let id { text += "id: \(id)\n" }
        if let event { text += "event: \(event)\n" }
        // Every line of the data gets its own field; the parser joins them with "\n" again.
        for line in data.split(separator: "\n", omittingEmptySubsequences: false) {
            text += "data: \(line)\n"
        }
        return text + "\n"
    }

    /// A comment line (`: text`): ignored by parsers, it keeps proxies and the TCP connection busy.
    public static func comment(_ text: String) -> String {
        ": \(text)\n\n"
    }
}
