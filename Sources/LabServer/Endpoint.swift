import HummingbirdWebSocket
import Logging

/// One endpoint of the guide: a name to switch it by, its WebSocket routes, and what it teaches.
///
/// Each endpoint lives in its own file under `Endpoints/` and reads like the guide's handler.
public struct Endpoint: Sendable {
    /// The switch name: `wirelab serve --only echo`, `enable echo`, `disable echo`.
    public let name: String
    /// One line for `endpoints` and the 404 page.
    public let summary: String
    /// The section of the guide it comes from.
    public let guideSection: String
    public let webSocketRoutes: [WebSocketRoute]

    public init(name: String, summary: String, guideSection: String, webSocketRoutes: [WebSocketRoute]) {
        self.name = name
        self.summary = summary
        self.guideSection = guideSection
        self.webSocketRoutes = webSocketRoutes
    }
}

/// A WebSocket path and the session that runs on each upgraded connection.
public struct WebSocketRoute: Sendable {
    public let pattern: PathPattern
    public let session: @Sendable (WebSocketSession) async throws -> Void

    public init(_ pattern: String, session: @escaping @Sendable (WebSocketSession) async throws -> Void) {
        self.pattern = PathPattern(pattern)
        self.session = session
    }
}

/// What a session handler gets: the connection's two directions, its path parameters and the
/// lab's limits. Errors it throws close the connection (1011, or the code the library chose, such
/// as 1009 for an oversize message or 1007 for invalid UTF-8).
public struct WebSocketSession: Sendable {
    public let parameters: [String: String]
    public let inbound: WebSocketInboundStream
    public let outbound: WebSocketOutboundWriter
    public let limits: LabLimits
    public let logger: Logger

    /// Whole messages, fragments joined, no larger than the lab's message limit.
    public func messages() -> WebSocketInboundMessageStream {
        inbound.messages(maxSize: limits.maxMessageSize)
    }
}

/// Limits every endpoint shares.
public struct LabLimits: Sendable {
    /// Larger messages are refused with close code 1009.
    public var maxMessageSize = 1 << 20
    /// How often the server pings an idle connection; nil turns server pings off.
    public var pingInterval: Duration? = .seconds(30)

    public init() {}
}
