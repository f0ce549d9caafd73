import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A reverse proxy on loopback that buffers responses, as nginx does by default
/// (`proxy_buffering on`): a response's head goes through at once, its body is held until
/// `bufferSize` bytes have collected or the upstream response ends. Requests pass straight through.
///
/// Unlike nginx it ignores `X-Accel-Buffering: no`, as a CDN or a corporate proxy that has never
/// heard of that header would: an event stream behind it arrives late and in clumps, which is the
/// point of showing it.
public final class BufferingProxy: Sendable {
    /// What the proxy is doing with a response body, for the UI.
    public enum Report: Sendable {
        /// `held` bytes are waiting, out of the `bufferSize` that make it pass them on.
        case holding(held: Int, bufferSize: Int)
        /// `bytes` went on to the client in one piece.
        case passedOn(bytes: Int)
    }

    public let host: String
    public let port: Int
    private let listener: any Channel

    private init(host: String, port: Int, listener: any Channel) {
        self.host = host
        self.port = port
        self.listener = listener
    }

    /// Listens on an ephemeral loopback port and proxies every connection to `upstream`.
    public static func start(
        upstreamHost: String, upstreamPort: Int, bufferSize: Int = 4096,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        report: @escaping @Sendable (Report) -> Void
    ) async throws -> BufferingProxy {
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { client in
                ClientBootstrap(group: client.eventLoop)
                    .connect(host: upstreamHost, port: upstreamPort)
                    .flatMap { upstream in
                        // The upstream connection was made on the client's event loop: one thread for both.
                        client.eventLoop.makeCompletedFuture {
                            try client.pipeline.syncOperations.addHandler(PassThrough(peer: upstream))
                            try upstream.pipeline.syncOperations.addHandler(HoldingBody(client: client, bufferSize: bufferSize, report: report))
                        }
                        // Only now may the client's bytes be read: they have somewhere to go.
                        .flatMap { client.setOption(.autoRead, value: true) }
                    }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return BufferingProxy(host: "127.0.0.1", port: listener.localAddress?.port ?? 0, listener: listener)
    }

    public func stop() async {
        try? await listener.close()
    }

    /// Client to upstream: every byte at once; either side closing closes the other.
    private final class PassThrough: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let peer: any Channel

        init(peer: any Channel) { self.peer = peer }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            peer.writeAndFlush(unwrapInboundIn(data), promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            peer.close(promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    /// Upstream to client: the head (up to the blank line) at once, the body in `bufferSize` pieces.
    private final class HoldingBody: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let client: any Channel
        let bufferSize: Int
        let report: @Sendable (Report) -> Void
        /// The head's bytes seen so far; nil once the head has gone through.
        var head: [UInt8]? = []
        var held = ByteBuffer()

        init(client: any Channel, bufferSize: Int, report: @escaping @Sendable (Report) -> Void) {
            self.client = client
            self.bufferSize = bufferSize
            self.report = report
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            if var seen = head {
                // Pass the head on as soon as its blank line is in; the rest is body.
                let start = seen.count
                seen += bytes.readableBytesView
                guard let end = Self.endOfHead(seen) else {
                    head = seen
                    return
                }
                head = nil
                client.writeAndFlush(ByteBuffer(bytes: seen[..<end]), promise: nil)
                bytes.moveReaderIndex(forwardBy: end - start)
            }
            guard bytes.readableBytes > 0 else { return }
            held.writeBuffer(&bytes)
            if held.readableBytes >= bufferSize {
                passOn()
            } else {
                report(.holding(held: held.readableBytes, bufferSize: bufferSize))
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            // The response is over: what is held goes on, then the client's connection ends too
            // (unless the client left first, and closing it is what ended this side).
            guard client.isActive else { return }
            if let head, !head.isEmpty { client.write(ByteBuffer(bytes: head), promise: nil) }
            if held.readableBytes > 0 { passOn() }
            client.close(promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }

        private func passOn() {
            report(.passedOn(bytes: held.readableBytes))
            client.writeAndFlush(held, promise: nil)
            held = ByteBuffer()
        }

        /// The index just past `\r\n\r\n`, if the bytes hold it.
        static func endOfHead(_ bytes: [UInt8]) -> Int? {
            guard bytes.count >= 4 else { return nil }
            for index in 3..<bytes.count where bytes[index - 3] == 13 && bytes[index - 2] == 10 && bytes[index - 1] == 13 && bytes[index] == 10 {
                return index + 1
            }
            return nil
        }
    }
}
