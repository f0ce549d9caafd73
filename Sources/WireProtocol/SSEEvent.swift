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
        // A line break inside id or event would end the field early and start another: drop it.
        if let id { text += "id: \(Self.singleLine(id))\n" }
        if let event { text += "event: \(Self.singleLine(event))\n" }
        // Every line of the data gets its own field; the parser joins them with "\n" again.
        // Parsers end lines at CR, LF and CR LF alike, so all three split here.
        for line in Self.lines(of: data) {
            text += "data: \(line)\n"
        }
        return text + "\n"
    }

    static func lines(of text: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var previousWasCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\n" && previousWasCR {
                previousWasCR = false
                continue
            }
            previousWasCR = scalar == "\r"
            if scalar == "\r" || scalar == "\n" {
                lines.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
        }
        lines.append(String(current))
        return lines
    }

    static func singleLine(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 != "\r" && $0 != "\n" }))
    }

    /// A comment line (`: text`): ignored by parsers, it keeps proxies and the TCP connection busy.
    public static func comment(_ text: String) -> String {
        ": \(text)\n\n"
    }
}
