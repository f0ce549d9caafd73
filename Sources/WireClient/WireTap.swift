import NIOCore
import WireProtocol

/// What the tap saw: bytes in one direction, or the end of the TCP connection.
public enum TapEvent: Sendable, Equatable {
    case bytes(Direction, [UInt8])
    case closed
}

/// Receives every tap event, in order, on the connection's event loop. Keep it quick.
public typealias TapSink = @Sendable (TapEvent) -> Void

/// The first handler in a client pipeline: it sees every byte exactly as the socket does, before
/// any codec has touched it, and reports it to a sink.
final class WireTap: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let sink: TapSink

    init(sink: @escaping TapSink) {
        self.sink = sink
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        sink(.bytes(.down, Array(buffer.readableBytesView)))
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // NIO writes a frame's header and payload as separate buffers: the sink sees both, in order.
        guard case .byteBuffer(let buffer) = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        // Reported once the socket has taken them: a write to a connection that has just closed
        // fails, and bytes that never left must not be counted.
        let bytes = Array(buffer.readableBytesView)
        let written = promise ?? context.eventLoop.makePromise()
        let sink = self.sink
        written.futureResult.whenSuccess { sink(.bytes(.up, bytes)) }
        context.write(data, promise: written)
    }

    func channelInactive(context: ChannelHandlerContext) {
        sink(.closed)
        context.fireChannelInactive()
    }
}
