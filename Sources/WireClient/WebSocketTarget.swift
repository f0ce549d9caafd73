import WireProtocol

/// Where a client connects: parsed from `ws://host:port/path?query` or a bare path on the lab.
public struct WebSocketTarget: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// The request target: path and query, as sent in the request line.
    public var path: String
    /// The path as typed, when it held characters a request line cannot carry (spaces, anything
    /// beyond ASCII) and `path` is its percent-encoded form; nil otherwise.
    public var typedPath: String?
    /// wss:// or https://: the connection speaks TLS.
    public var secure: Bool

    public init(host: String, port: Int, path: String, secure: Bool = false) {
        self.host = host
        self.port = port
        self.path = path
        self.secure = secure
    }

    /// A request target as a browser sends what was typed: each UTF-8 byte that is not printable
    /// ASCII (the space, controls, anything beyond ASCII) becomes `%XX`. Escapes already there
    /// are kept, so encoding twice changes nothing.
    public static func percentEncoded(_ path: String) -> String {
        var out = ""
        for byte in path.utf8 {
            if byte > 0x20 && byte < 0x7F {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + HexDump.hex(byte).uppercased()  // RFC 3986 asks for upper case
            }
        }
        return out
    }

    /// Sets `path` to `typed`, percent-encoded if it needs to be (`typedPath` then keeps it).
    private mutating func setPath(typed: String) {
        path = Self.percentEncoded(typed)
        typedPath = path == typed ? nil : typed
    }

    public struct BadURL: Error, CustomStringConvertible {
        public let description: String
    }

    /// Accepts `ws://host[:port]/path`, `http://…` (the same socket), their TLS forms `wss://` and
    /// `https://`, or `/path` relative to `lab`.
    public init(parsing text: String, lab: (host: String, port: Int)?) throws {
        if text.hasPrefix("/") {
            guard let lab else { throw BadURL(description: "\(text) is a path, but no lab server is running; give a full ws:// URL") }
            self.init(host: lab.host, port: lab.port, path: text)
            setPath(typed: text)
            return
        }
        let schemes = ["ws://": 80, "http://": 80, "wss://": 443, "https://": 443]
        guard let (scheme, defaultPort) = schemes.first(where: { text.hasPrefix($0.key) }) else {
            throw BadURL(
                description: "\(text) is neither a path on the lab nor a URL wirelab can open; use /path, ws://host:port/path, wss://…, http://host:port/path or https://…"
            )
        }
        let rest = text.dropFirst(scheme.count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        var path = String(rest.dropFirst(authority.count))
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        guard !authority.isEmpty else { throw BadURL(description: "\(text) has no host") }
        var host = String(authority)
        var port = defaultPort
        if authority.hasPrefix("[") {  // [::1]:8000
            guard let close = authority.firstIndex(of: "]") else { throw BadURL(description: "\(text): unclosed [ in the host") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let value = Int(after.dropFirst()), (1...65535).contains(value) else { throw BadURL(description: "\(text): bad port") }
                port = value
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let value = Int(authority[authority.index(after: colon)...]), (1...65535).contains(value) else {
                throw BadURL(description: "\(text): the port must be a number from 1 to 65535")
            }
            port = value
        }
        self.init(host: host, port: port, path: path, secure: defaultPort == 443)
        setPath(typed: path)
    }

    /// The `Host` header value: the port is left out only when it is the scheme's default.
    public var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? name : "\(name):\(port)"
    }

    public var description: String { "\(secure ? "wss" : "ws")://\(hostHeader)\(path)" }
}
