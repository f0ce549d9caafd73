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
        if case .byteBuffer(let buffer) = unwrapOutboundIn(data) {
            sink(.bytes(.up, Array(buffer.readableBytesView)))
        }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        sink(.closed)
        context.fireChannelInactive()
    }
}
