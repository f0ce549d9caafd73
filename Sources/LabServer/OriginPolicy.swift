/// Which web pages may open WebSockets on the lab.
///
/// Browsers send `Origin` with every upgrade but, unlike `fetch`, do not apply the same-origin
/// policy to WebSockets: without a check, any page the user visits could open a socket to the lab,
/// with the user's cookies (cross-site WebSocket hijacking). A request without `Origin` is not
/// from a browser page and passes: such a client can claim any origin anyway, so the check
/// protects browser users, not the server.
public struct OriginPolicy: Sendable, Equatable {
    /// Origins allowed besides loopback ones, as `scheme://host[:port]`; `*` allows every origin.
    public var allowed: [String]

    /// Loopback pages (`http://localhost:4200`, the guide's Angular dev server, any port) and the
    /// origins listed; nothing else.
    public init(allowed: [String] = []) {
        self.allowed = allowed.map(Self.normalized)
    }

    public func allows(_ origin: String?) -> Bool {
        guard let origin else { return true }
        let given = Self.normalized(origin)
        if allowed.contains("*") || allowed.contains(given) { return true }
        return Self.isLoopback(given)
    }

    /// `http://localhost:4200`, `http://127.0.0.1`, `https://[::1]:8443`: a page served from this machine.
    static func isLoopback(_ origin: String) -> Bool {
        guard let schemeEnd = origin.range(of: "://") else { return false }
        let scheme = origin[..<schemeEnd.lowerBound]
        guard scheme == "http" || scheme == "https" else { return false }
        let authority = origin[schemeEnd.upperBound...]
        let host: Substring
        if authority.hasPrefix("[") {
            host = authority.prefix { $0 != "]" }.dropFirst()
        } else {
            host = authority.prefix { $0 != ":" }
        }
        return host == "localhost" || host == "127.0.0.1" || host == "::1"
    }

    /// Origins compare case-insensitively, without a trailing slash.
    static func normalized(_ origin: String) -> String {
        var text = origin.trimmingCharacters(in: .whitespaces).lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}

/// CORS for plain HTTP: which pages may *read* the lab's answers to `fetch`, `EventSource` and
/// XMLHttpRequest. The same pages as for WebSocket upgrades (``OriginPolicy``).
///
/// CORS protects reading, not sending: a browser sends a "simple" request (GET, or a POST of
/// `text/plain` or a form) from any page and only hides the answer when the
/// `Access-Control-Allow-Origin` header is missing; the server has run it by then. Other requests
/// (a JSON POST, any request with `Authorization`) are first asked about with a preflight
/// `OPTIONS`, and are only sent when it is answered with the right headers.
///
/// Credentials: the lab authenticates with bearer tokens (in `Authorization` or the query), never
/// with cookies, so it does not send `Access-Control-Allow-Credentials`. A page that asks for
/// credentials (`fetch(…, {credentials: "include"})`, `new EventSource(url, {withCredentials: true})`)
/// is refused by the browser, which is what should happen to cookies the lab never set.
public enum CrossOrigin {
    /// What the lab says to a request that carries `Origin`.
    public enum Decision: Sendable, Equatable {
        /// Not from a page (no `Origin`): nothing to add.
        case notFromAPage
        /// Echo this origin in `Access-Control-Allow-Origin`.
        case allowed(String)
        /// No CORS headers: the browser keeps the answer from the page. The reason goes to the log.
        case refused(origin: String, reason: String)
    }

    /// Request headers a page may send (answered in `Access-Control-Allow-Headers`).
    public static let allowedHeaders = ["Authorization", "Content-Type", "Last-Event-ID"]
    /// How long a browser may keep a preflight's answer, in seconds.
    public static let maxAge = 600

    public static func decide(origin: String?, policy: OriginPolicy) -> Decision {
        guard let origin else { return .notFromAPage }
        guard policy.allows(origin) else {
            return .refused(
                origin: origin,
                reason: "\(origin) is not a page on this machine and not allowed with --allowed-origin"
            )
        }
        return .allowed(origin)
    }

    /// The requested headers (`Access-Control-Request-Headers`) the lab does not take, if any.
    public static func unknownHeaders(in requested: String?) -> [String] {
        let allowed = Set(allowedHeaders.map { $0.lowercased() })
        return (requested ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !allowed.contains($0.lowercased()) }
    }
}
