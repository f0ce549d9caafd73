import Foundation
import LabServer
import NIOConcurrencyHelpers
import Testing
import WireProtocol

// Helpers for the auth, SSE, notifications and dashboard tests: tokens, HTTP requests with
// header fields, an SSE stream read off a raw socket, and the wirelab binary for subprocess tests.

// MARK: - The wirelab binary

enum PushPaths {
    /// The `wirelab` built next to the running test bundle (whatever `--scratch-path` was used),
    /// else `.build/debug/wirelab`.
    static var wirelab: String {
        var directories: [URL] = []
        if let executable = Bundle.main.executableURL { directories.append(executable.deletingLastPathComponent()) }
        if let first = CommandLine.arguments.first {
            directories.append(URL(fileURLWithPath: first).deletingLastPathComponent())
        }
        directories.append(Bundle.main.bundleURL)
        directories.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for directory in directories {
            // Walk up a little: on macOS the test executable sits inside a .xctest bundle.
            var current = directory
            for _ in 0..<4 {
                let candidate = current.appendingPathComponent("wirelab").path
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
                    FileManager.default.isExecutableFile(atPath: candidate)
                {
                    return candidate
                }
                current = current.deletingLastPathComponent()
            }
        }
        return Paths.wirelab
    }

    static let curl = "/usr/bin/curl"
}

// MARK: - Response bodies

/// The body bytes of the first response in `bytes`, chunk framing removed (by `WireDissector`).
func dissectedBody(_ bytes: [UInt8]) -> [UInt8] {
    var dissector = WireDissector()
    var body: [UInt8] = []
    var heads = 0
    for event in dissector.feed(.down, bytes) {
        switch event {
        case .httpHead: heads += 1
        case .httpBody(_, let piece) where heads == 1: body += piece
        default: break
        }
    }
    return body
}

// MARK: - Tokens and orders

enum Shop {
    static let passwords = ["alice": "wonderland", "bob": "builder", "admin": "admin"]

    /// Logs in with `POST /auth/token`. - Returns: the access token.
    static func login(_ user: String, port: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let body = JSON.obj(("username", .string(user)), ("password", .string(passwords[user] ?? "?"))).text
        let answer = try await httpRequest("POST", "/auth/token", port: port, body: body)
        #expect(answer.status == 200, "\(answer)", sourceLocation: sourceLocation)
        return try #require(answer.json?["access_token"]?.stringValue, "\(answer)", sourceLocation: sourceLocation)
    }

    /// The notification a shipped order pushes to its owner.
    static func notification(_ orderID: Int) -> JSON {
        .obj(("type", "notification"), ("title", "Your order shipped!"), ("order_id", .number(Double(orderID))))
    }

    static func ship(_ orderID: Int, token: String?, port: Int) async throws -> HTTPAnswer {
        try await httpRequest("POST", "/orders/\(orderID)/ship", port: port, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [])
    }

    /// Ships as admin and expects success.
    static func shipAsAdmin(_ orderID: Int, adminToken: String, port: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let answer = try await ship(orderID, token: adminToken, port: port)
        #expect(answer.status == 200, "ship \(orderID): \(answer)", sourceLocation: sourceLocation)
        #expect(answer.json?["status"] == "shipped", "ship \(orderID): \(answer)", sourceLocation: sourceLocation)
    }

    /// `POST /orders` as the token's user. - Returns: the new order's id.
    static func createOrder(item: String, amount: Double, token: String, port: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int {
        let answer = try await httpRequest(
            "POST", "/orders", port: port, headers: [("Authorization", "Bearer \(token)")],
            body: JSON.obj(("item", .string(item)), ("amount", .number(amount))).text
        )
        #expect(answer.status == 201, "\(answer)", sourceLocation: sourceLocation)
        return try #require(answer.json?["order_id"]?.intValue, "\(answer)", sourceLocation: sourceLocation)
    }
}

// MARK: - An SSE stream on a raw socket

/// `GET` of an event stream over a raw connection that stays open; everything received is run
/// through `WireDissector` (chunk framing removed) and `SSEParser` whenever it is looked at.
final class SSEStream: Sendable {
    let connection: RawConnection
    let path: String

    struct Snapshot: Sendable {
        var head: HTTPHead?
        /// The body bytes, chunk framing removed.
        var body: [UInt8] = []
        var framingBytes = 0
        var undecodable: [String] = []
        var items: [SSEParser.Item] = []

        var events: [SSEParser.ParsedEvent] {
            items.compactMap { if case .event(let event) = $0 { return event } else { return nil } }
        }

        var comments: [String] {
            items.compactMap { item in
                if case .line(_, _, .comment(let text)) = item { return text }
                return nil
            }
        }

        var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    private init(connection: RawConnection, path: String) {
        self.connection = connection
        self.path = path
    }

    /// Sends the request; does not wait for the answer.
    static func open(port: Int, path: String, headers: [(String, String)] = []) async throws -> SSEStream {
        let connection = try await RawConnection(port: port)
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        try await connection.write(request + "\r\n")
        return SSEStream(connection: connection, path: path)
    }

    /// Opens a stream and waits until its head and the `retry:` line are in: from then on the
    /// stream is one of the topic's receivers (the server adds it before answering).
    static func connect(port: Int, path: String, headers: [(String, String)] = []) async throws -> SSEStream {
        let stream = try await open(port: port, path: path, headers: headers)
        let snapshot = try await stream.wait("the head and retry") { snapshot in
            snapshot.items.contains { if case .retry = $0 { true } else { false } }
        }
        #expect(snapshot.head?.status == 200, "\(String(decoding: stream.connection.bytes, as: UTF8.self))")
        return stream
    }

    var snapshot: Snapshot {
        var snapshot = Snapshot()
        var dissector = WireDissector()
        for event in dissector.feed(.down, connection.bytes) {
            switch event {
            case .httpHead(_, let head): if snapshot.head == nil { snapshot.head = head }
            case .httpBody(_, let bytes): snapshot.body += bytes
            case .chunkFraming(_, let bytes): snapshot.framingBytes += bytes.count
            case .undecodable(_, let reason, _): snapshot.undecodable.append(reason)
            default: break
            }
        }
        var parser = SSEParser()
        snapshot.items = parser.feed(snapshot.body)
        return snapshot
    }

    /// Waits until `condition` holds for what has arrived. Throws after `timeout`.
    @discardableResult
    func wait(_ what: String, timeout: Duration = .seconds(5), until condition: (Snapshot) -> Bool) async throws -> Snapshot {
        let deadline = ContinuousClock.now + timeout
        while true {
            let current = snapshot
            if condition(current) { return current }
            if ContinuousClock.now >= deadline || connection.isClosed {
                let final = snapshot
                if condition(final) { return final }
                throw WaitFailed(
                    description: "\(path): waited for \(what)\(connection.isClosed ? " but the connection closed" : " for \(timeout)"); received: \(String(decoding: connection.bytes, as: UTF8.self))"
                )
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Waits for at least `count` events. - Returns: all events so far.
    func events(count: Int, timeout: Duration = .seconds(5)) async throws -> [SSEParser.ParsedEvent] {
        try await wait("\(count) events", timeout: timeout) { $0.events.count >= count }.events
    }

    func close() async {
        await connection.close()
    }
}

/// The events' data parsed as JSON (nil where it is not JSON).
func jsonData(_ events: [SSEParser.ParsedEvent]) -> [JSON?] {
    events.map { try? JSON(parsing: $0.data) }
}

// MARK: - A `wirelab serve` subprocess

/// `wirelab serve --port 0` with its stderr collected; knows its port from the listening line.
struct ServeProcess {
    let process: ChildProcess
    let port: Int

    static func start(_ extraArguments: [String] = []) async throws -> ServeProcess {
        let binary = PushPaths.wirelab
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw WaitFailed(description: "no wirelab binary at \(binary); build it first")
        }
        let process = try ChildProcess(binary, ["serve", "--port", "0"] + extraArguments)
        let listening = await process.waitFor("listening on 127.0.0.1:", inStderr: true, timeout: .seconds(30))
        guard listening, let match = process.stderr.firstMatch(of: /listening on 127\.0\.0\.1:(\d+)/), let port = Int(match.1) else {
            process.signal(SIGTERM)
            _ = await process.waitForExit(timeout: .seconds(5))
            throw WaitFailed(description: "wirelab serve did not say where it listens; stderr: \(process.stderr)")
        }
        return ServeProcess(process: process, port: port)
    }

    func stop() async -> Int32 {
        process.signal(SIGTERM)
        return await process.waitForExit(timeout: .seconds(15))
    }
}
