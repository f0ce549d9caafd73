import WireProtocol

/// HTTP/1.1 written and read by hand: upgrade requests in every shape, and the few plain requests
/// that set a target up (a token, a training job).
enum RawHTTP {
    /// An upgrade request; each part can be left out or changed to break a rule of RFC 6455 §4.1.
    static func upgradeRequest(
        path: String, key: String? = Handshake.sampleKey, port: Int, method: String = "GET", version: String? = "13",
        connection: String? = "Upgrade", extensions: String? = nil
    ) -> String {
        var lines = ["\(method) \(path) HTTP/1.1", "Host: 127.0.0.1:\(port)", "Upgrade: websocket"]
        if let extensions { lines.append("Sec-WebSocket-Extensions: \(extensions)") }
        if let connection { lines.append("Connection: \(connection)") }
        if let key { lines.append("Sec-WebSocket-Key: \(key)") }
        if let version { lines.append("Sec-WebSocket-Version: \(version)") }
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    /// Reads until a whole response head has arrived. - Returns: the head and the bytes after it.
    static func readHead(from socket: RawSocket, within timeout: Duration = .seconds(10)) async throws -> (HTTPHead, [UInt8]) {
        let deadline = ContinuousClock.now + timeout
        var received: [UInt8] = []
        while true {
            switch HTTPHead.parse(received) {
            case .head(let head, let consumed): return (head, Array(received[consumed...]))
            case .malformed(let problem): throw ConformanceFailure(description: "not an HTTP response: \(problem)")
            case .needMoreBytes: break
            }
            switch await socket.read(before: deadline) {
            case .bytes(let bytes): received += bytes
            case .end(let why):
                throw ConformanceFailure(description: "the connection ended before a whole response head (\(received.count) bytes)\(why.map { ": " + $0 } ?? "")")
            case .timedOut: throw ConformanceFailure(description: "no whole response head within \(timeout)")
            }
        }
    }

    /// Sends `request` on a new connection. - Returns: the response head and its body (read by
    /// `Content-Length`), and whether the server then ended the connection by itself.
    static func exchange(_ request: String, port: Int, within timeout: Duration = .seconds(10)) async throws -> (
        head: HTTPHead, body: String, serverClosed: Bool
    ) {
        let socket = try await RawSocket.connect(port: port)
        defer { socket.close() }
        try await socket.write(Array(request.utf8))
        var (head, body) = try await readHead(from: socket, within: timeout)
        let length = head.contentLength ?? 0
        let deadline = ContinuousClock.now + timeout
        var serverClosed = false
        // Connection is a list of options ("Upgrade, close" on a 426).
        let closes = (head.field("Connection") ?? "").split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "close" }
        while !serverClosed, body.count < length || closes {
            switch await socket.read(before: deadline) {
            case .bytes(let bytes): body += bytes
            case .end: serverClosed = true
            case .timedOut:
                guard body.count >= length else { throw ConformanceFailure(description: "a body of \(body.count) of \(length) bytes within \(timeout)") }
                return (head, String(decoding: body, as: UTF8.self), false)
            }
        }
        return (head, String(decoding: body, as: UTF8.self), serverClosed)
    }

    /// A JSON POST, answered with a JSON body.
    static func postJSON(_ path: String, _ body: String, port: Int) async throws -> (status: Int, json: JSON) {
        let request = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
        let (head, text, _) = try await exchange(request, port: port, within: .seconds(10))
        return (head.status ?? 0, try JSON(parsing: text))
    }
}
