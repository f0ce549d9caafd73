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
