import Foundation
import LabServer
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOWebSocket
import Testing
import WireClient
import WireProtocol

// Helpers for the endpoint tests (client, chat, room, livechat, their HTTP twins, switches and
// slow consumers). Everything here talks to a real lab over real sockets.

/// Something a helper waited for did not happen in time; the description says what it saw.
struct WaitFailed: Error, CustomStringConvertible {
    let description: String
}

/// Polls `condition` until it holds or `timeout` passes. - Returns: whether it held.
@discardableResult
func eventually(timeout: Duration = .seconds(5), _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return await condition()
}

// MARK: - JSON checks

extension JSON {
    /// The keys of an object, in order; nil for anything else.
    var keys: [String]? {
        guard case .object(let members) = self else { return nil }
        return members.map(\.0)
    }

    var arrayValue: [JSON]? {
        if case .array(let values) = self { return values }
        return nil
    }

    var intValue: Int? { numberValue.flatMap { $0.rounded() == $0 ? Int($0) : nil } }

    /// The same object without `key` (for comparing a message whose timestamp differs per run).
    func removing(_ key: String) -> JSON {
        guard case .object(let members) = self else { return self }
        return .object(members.filter { $0.0 != key })
    }

    /// `.object` from ordered pairs, shorter to write in expectations.
    static func obj(_ members: (String, JSON)...) -> JSON { .object(members) }
}

/// ISO 8601 in UTC with milliseconds, e.g. `2026-11-30T00:24:44.944Z`.
func isISOTimestamp(_ value: JSON?) -> Bool {
    guard let text = value?.stringValue else { return false }
    return text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z/) != nil
}

// MARK: - A JSON-speaking WebSocket client

/// A WebSocket client (WireClient's, on NIO's codecs) that collects every text message the server
/// sends, so a test can take them one at a time with a timeout.
final class JSONClient: Sendable {
    struct Refused: Error, CustomStringConvertible {
        let status: UInt
        let reason: String
        var description: String { "the upgrade was refused: \(status) \(reason)" }
    }

    private struct State {
        var texts: [String] = []
        var cursor = 0
        var partial: [UInt8]?
        var closeCode: UInt16?
        var closeReason = ""
        var ended = false
    }

    let name: String
    let client: WebSocketClient
    private let state: NIOLockedValueBox<State>
    private let reader: Task<Void, Never>

    private init(name: String, client: WebSocketClient) {
        self.name = name
        self.client = client
        let state = NIOLockedValueBox(State())
        self.state = state
        let frames = client.frames
        reader = Task {
            for await frame in frames {
                let bytes = Array(frame.unmaskedData.readableBytesView)
                state.withLockedValue { state in
                    switch frame.opcode {
                    case .text:
                        if frame.fin { state.texts.append(String(decoding: bytes, as: UTF8.self)) } else { state.partial = bytes }
                    case .continuation:
                        state.partial = (state.partial ?? []) + bytes
                        if frame.fin, let whole = state.partial {
                            state.texts.append(String(decoding: whole, as: UTF8.self))
                            state.partial = nil
                        }
                    case .connectionClose:
                        if bytes.count >= 2 {
                            state.closeCode = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
                            state.closeReason = String(decoding: bytes[2...], as: UTF8.self)
                        }
                    default:
                        break
                    }
                }
            }
            state.withLockedValue { $0.ended = true }
        }
    }

    deinit {
        reader.cancel()
    }

    /// Connects to `path` on the lab at `port`; throws ``Refused`` for anything but a 101.
    static func connect(port: Int, path: String, name: String? = nil) async throws -> JSONClient {
        let randomness = Randomness(.system)
        let outcome = try await WebSocketClient.connect(
            to: WebSocketTarget(host: "127.0.0.1", port: port, path: path), requestKey: randomness.requestKey(), randomness: randomness
        ) { _ in }
        switch outcome {
        case .open(let client): return JSONClient(name: name ?? path, client: client)
        case .refused(let status, let reason): throw Refused(status: status, reason: reason)
        }
    }

    func send(_ message: JSON) async throws {
        try await sendText(message.text)
    }

    func sendText(_ text: String) async throws {
        try await client.send(.text, payload: Array(text.utf8))
    }

    /// Every text message received so far, read or not.
    var received: [String] { state.withLockedValue { $0.texts } }
    var receivedCount: Int { state.withLockedValue { $0.texts.count } }
    /// The code of the close frame the server sent, if any.
    var closeCode: UInt16? { state.withLockedValue { $0.closeCode } }
    var closeReason: String { state.withLockedValue { $0.closeReason } }
    /// True once the TCP connection has ended.
    var hasEnded: Bool { state.withLockedValue { $0.ended } }

    /// The next unread text message, or an error after `timeout`.
    func nextText(timeout: Duration = .seconds(5)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let (text, ended) = state.withLockedValue { state -> (String?, Bool) in
                guard state.cursor < state.texts.count else { return (nil, state.ended) }
                defer { state.cursor += 1 }
                return (state.texts[state.cursor], false)
            }
            if let text { return text }
            if ended { throw WaitFailed(description: "\(name): the connection ended while waiting for a message (close code \(closeCode.map(String.init) ?? "none"))") }
            if ContinuousClock.now >= deadline {
                throw WaitFailed(description: "\(name): no message within \(timeout); received so far: \(received.map { String($0.prefix(200)) })")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// The next unread message, parsed as JSON.
    func next(timeout: Duration = .seconds(5)) async throws -> JSON {
        let text = try await nextText(timeout: timeout)
        do {
            return try JSON(parsing: text)
        } catch {
            throw WaitFailed(description: "\(name): the server sent text that is not JSON (\(error)): \(text)")
        }
    }

    /// Skips unread messages until one satisfies `condition`, and returns it.
    func next(timeout: Duration = .seconds(5), where condition: (JSON) -> Bool) async throws -> JSON {
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = deadline - ContinuousClock.now
            let message = try await next(timeout: remaining > .zero ? remaining : .zero)
            if condition(message) { return message }
        }
    }

    /// The next message whose `type` is `type`.
    func next(type: String, timeout: Duration = .seconds(5)) async throws -> JSON {
        try await next(timeout: timeout) { $0["type"]?.stringValue == type }
    }

    /// Waits `duration` and returns what arrived unread meanwhile (and marks it read).
    func unread(after duration: Duration) async throws -> [String] {
        try await Task.sleep(for: duration)
        return state.withLockedValue { state in
            defer { state.cursor = state.texts.count }
            return Array(state.texts[state.cursor...])
        }
    }

    /// Chat and room sessions subscribe a moment after the 101. An invalid message is answered
    /// with an error only once the session runs (it is subscribed by then), so waiting for that
    /// answer makes "subscribed" certain. - Returns: the error reply.
    @discardableResult
    func syncWithSession() async throws -> JSON {
        try await sendText("{\"sync\":true}")
        return try await next(type: "error")
    }

    /// Waits for the server's close frame; returns its code.
    func waitForClose(timeout: Duration = .seconds(5)) async -> UInt16? {
        await eventually(timeout: timeout) { self.closeCode != nil || self.hasEnded }
        return closeCode
    }

    /// A normal close: sends 1000 and waits until the connection has ended.
    func close() async {
        try? await client.close(code: 1000, reason: "bye")
        let ended = await eventually(timeout: .seconds(5)) { self.hasEnded }
        if !ended { await client.drop() }
    }
}

// MARK: - Raw HTTP

/// An HTTP response read off a raw socket.
struct HTTPAnswer: Sendable, CustomStringConvertible {
    let head: HTTPHead
    let body: String

    var status: Int { head.status ?? 0 }
    var statusLine: String { head.lines.first ?? "" }
    var contentType: String? { head.field("Content-Type") }
    var json: JSON? { try? JSON(parsing: body) }
    var description: String { "\(statusLine) \(body)" }
}

/// One HTTP request over a fresh raw TCP connection with `Connection: close`; waits for the whole
/// response (up to `timeout`).
func httpRequest(
    _ method: String, _ path: String, port: Int, headers: [(String, String)] = [], body: String? = nil,
    contentType: String = "application/json", timeout: Duration = .seconds(10)
) async throws -> HTTPAnswer {
    let connection = try await RawConnection(port: port)
    defer { Task { await connection.close() } }
    var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    for (name, value) in headers { request += "\(name): \(value)\r\n" }
    if let body {
        request += "Content-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    } else {
        request += "\r\n"
    }
    try await connection.write(request)
    let deadline = ContinuousClock.now + timeout
    while true {
        let bytes = connection.bytes
        if case .head(let head, let consumed) = HTTPHead.parse(bytes) {
            let rest = Array(bytes[consumed...])
            if let length = head.contentLength, rest.count >= length {
                return HTTPAnswer(head: head, body: String(decoding: rest.prefix(length), as: UTF8.self))
            }
            if connection.isClosed {
                let body = head.isChunked ? dechunk(rest) : rest
                return HTTPAnswer(head: head, body: String(decoding: body, as: UTF8.self))
            }
        } else if connection.isClosed {
            throw WaitFailed(description: "\(method) \(path): the connection closed without a response: \(String(decoding: bytes, as: UTF8.self))")
        }
        if ContinuousClock.now >= deadline {
            throw WaitFailed(description: "\(method) \(path): no whole response within \(timeout): \(String(decoding: bytes, as: UTF8.self))")
        }
        try await Task.sleep(for: .milliseconds(2))
    }
}

private func dechunk(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var index = 0
    while index < bytes.count {
        guard let lineEnd = (index..<bytes.count - 1).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 }),
            let size = Int(String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? "", radix: 16)
        else { break }
        if size == 0 { break }
        let start = lineEnd + 2
        out += bytes[start..<min(start + size, bytes.count)]
        index = start + size + 2
    }
    return out
}

/// Sends a valid upgrade request for `path` and returns the response's status line, e.g.
/// `HTTP/1.1 409 Conflict`, read as raw bytes.
func upgradeStatusLine(port: Int, path: String) async throws -> String? {
    let connection = try await RawConnection(port: port)
    defer { Task { await connection.close() } }
    return try await connection.upgrade(path)?.lines.first
}

// MARK: - A receiver that never reads

/// A WebSocket upgrade on a socket that never reads: autoRead off and a small receive buffer, so
/// the server's writes back up at once. It can be told to start reading, to see how it ended.
final class StalledConnection: Sendable {
    private final class Counter: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes: NIOLockedValueBox<Int>
        let ended: NIOLockedValueBox<Bool>
        init(bytes: NIOLockedValueBox<Int>, ended: NIOLockedValueBox<Bool>) {
            self.bytes = bytes
            self.ended = ended
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let count = unwrapInboundIn(data).readableBytes
            bytes.withLockedValue { $0 += count }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)  // a reset also counts as "the server ended it"
        }
        func channelInactive(context: ChannelHandlerContext) {
            ended.withLockedValue { $0 = true }
        }
    }

    private let channel: any Channel
    private let byteCount = NIOLockedValueBox(0)
    private let endedBox = NIOLockedValueBox(false)

    init(port: Int, path: String) async throws {
        let bytes = byteCount
        let ended = endedBox
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.so_rcvbuf), value: 4096)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Counter(bytes: bytes, ended: ended))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let request =
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(Handshake.sampleKey)\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request))
    }

    /// Bytes read so far (none until ``startReading()``).
    var bytesRead: Int { byteCount.withLockedValue { $0 } }
    /// True once the connection has ended (only noticed while reading).
    var hasEnded: Bool { endedBox.withLockedValue { $0 } }

    /// Turns reading on: whatever the kernel holds is read, then the end of the connection, if
    /// the server has closed it.
    func startReading() async throws {
        try await channel.setOption(.autoRead, value: true).get()
        channel.read()
    }

    func close() async {
        try? await channel.close()
    }
}

// MARK: - Python peers

/// The lines a peer printed, parsed: `{"received": "<text>"}` lines give the server's messages.
func receivedMessages(in output: String) -> [JSON] {
    output.split(separator: "\n").compactMap { line -> JSON? in
        guard let wrapper = try? JSON(parsing: String(line)), let text = wrapper["received"]?.stringValue else { return nil }
        return try? JSON(parsing: text)
    }
}
