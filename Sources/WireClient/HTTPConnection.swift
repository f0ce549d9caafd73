import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import WireProtocol

/// An HTTP/1.1 connection kept alive across requests, on SwiftNIO's codec, with a ``WireTap``
/// first in the pipeline. One request at a time (no pipelining), as browsers do per connection.
public final class HTTPConnection: Sendable {
    public struct Response: Sendable {
        public let status: UInt
        public let reason: String
        public let headers: [(String, String)]
        public let body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let host: String
    public let port: Int
    /// Over TLS (https://).
    public let secure: Bool
    private let channel: any Channel
    private let collector: ResponseCollector
    /// Serialises requests: a second one waits for the first response to end.
    private let turn = NIOLockedValueBox<EventLoopFuture<Void>?>(nil)

    private init(host: String, port: Int, secure: Bool, channel: any Channel, collector: ResponseCollector) {
        self.host = host
        self.port = port
        self.secure = secure
        self.channel = channel
        self.collector = collector
    }

    public static func connect(
        host: String, port: Int, tls: ClientTLS? = nil, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, tap: @escaping TapSink
    ) async throws -> HTTPConnection {
        let collector = ResponseCollector()
        let tlsHandshake = NIOLockedValueBox<EventLoopFuture<Void>?>(nil)
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(WireTap(sink: tap), position: .first)
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(collector)
                    if let tls {
                        let handshake = try tls.addHandlers(to: channel, host: host)
                        tlsHandshake.withLockedValue { $0 = handshake }
                    }
                }
            }
            .connect(host: host, port: port).get()
        // The first request goes out once the keys are agreed; a failure is reported as itself.
        if let handshake = tlsHandshake.withLockedValue({ $0 }) {
            do {
                try await handshake.get()
            } catch {
                try? await channel.close()
                throw Failure(description: ClientTLS.explain(error) ?? "the TLS handshake failed: \(error)")
            }
        }
        return HTTPConnection(host: host, port: port, secure: tls != nil, channel: channel, collector: collector)
    }

    public var isOpen: Bool { channel.isActive }

    /// Sends one request and returns the whole response. `onBody` sees each piece of the body as
    /// it arrives (an event stream never ends by itself: close the connection to stop it).
    public func request(
        method: String, path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        onBody: (@Sendable ([UInt8]) -> Void)? = nil
    ) async throws -> Response {
        guard channel.isActive else { throw Failure(description: "the connection is closed") }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path)
        head.headers.add(name: "Host", value: port == (secure ? 443 : 80) ? host : "\(host):\(port)")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if let body {
            head.headers.add(name: "Content-Length", value: String(body.count))
        } else if ["POST", "PUT", "PATCH"].contains(method) {
            // Without it NIO would announce a chunked body, and send an empty one.
            head.headers.add(name: "Content-Length", value: "0")
        }
        let promise = channel.eventLoop.makePromise(of: Response.self)
        collector.expect(promise, onBody: onBody)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body, !body.isEmpty {
            channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
        }
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil))
        return try await promise.futureResult.get()
    }

    /// Closes gracefully: first our sending side only, so the server sees that no request will
    /// follow, finishes what it was sending (an event stream's last chunk) and closes its side.
    /// Every byte it put on the wire is then read, and counted, before the connection is gone. A
    /// server that keeps sending is cut off after `grace`.
    public func close(grace: Duration = .seconds(1)) async {
        let channel = self.channel
        do {
            try await channel.close(mode: .output)
        } catch {
            try? await channel.close()
            return
        }
        let cutOff = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(grace.seconds * 1e9))) {
            channel.close(promise: nil)
        }
        try? await channel.closeFuture.get()
        cutOff.cancel()
    }

    public func waitUntilClosed() async {
        try? await channel.closeFuture.get()
    }
}

/// Gathers the parts of each response and completes the waiting request.
final class ResponseCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart

    private struct Pending {
        var promise: EventLoopPromise<HTTPConnection.Response>
        var onBody: (@Sendable ([UInt8]) -> Void)?
        var head: HTTPResponseHead?
        var body: [UInt8] = []
    }

    private let pending = NIOLockedValueBox<Pending?>(nil)

    func expect(_ promise: EventLoopPromise<HTTPConnection.Response>, onBody: (@Sendable ([UInt8]) -> Void)?) {
        pending.withLockedValue { $0 = Pending(promise: promise, onBody: onBody) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            pending.withLockedValue { $0?.head = head }
        case .body(let buffer):
            let bytes = Array(buffer.readableBytesView)
            let onBody = pending.withLockedValue { pending -> (@Sendable ([UInt8]) -> Void)? in
                pending?.body += bytes
                return pending?.onBody
            }
            onBody?(bytes)
        case .end:
            complete()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let done = pending.withLockedValue({ pending in defer { pending = nil }; return pending }) {
            done.promise.fail(error)
        }
        context.close(promise: nil)
    }

    private func complete() {
        guard let done = pending.withLockedValue({ pending in defer { pending = nil }; return pending }) else { return }
        guard let head = done.head else {
            done.promise.fail(HTTPConnection.Failure(description: "the connection closed before a response arrived"))
            return
        }
        done.promise.succeed(
            HTTPConnection.Response(
                status: head.status.code, reason: head.status.reasonPhrase, headers: head.headers.map { ($0.name, $0.value) }, body: done.body
            )
        )
    }
}
