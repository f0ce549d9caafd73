import NIOCore

/// Joins the writes between two flushes into one buffer, for the TLS handler just below it.
///
/// NIO's WebSocket frame encoder writes a frame's header and its payload as two buffers, and
/// NIOSSL seals each write in a TLS record of its own: every frame would cost two records (two
/// record headers and two authentication tags, about 22 bytes each) where a browser, or Python's
/// `websockets`, sends one. Placed on the plaintext side of the TLS handler, this makes a
/// flush one record (as long as it fits in one), so what the taps count is what a careful peer
/// sends. Without TLS there is nothing to gain, and it is not used.
public final class WriteCoalescer: ChannelOutboundHandler, RemovableChannelHandler {
    public typealias OutboundIn = IOData
    public typealias OutboundOut = IOData

    private var pending: ByteBuffer?
    private var promise: EventLoopPromise<Void>?

    public init() {}

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .byteBuffer(var buffer) = unwrapOutboundIn(data) else {
            // A file region cannot be joined: what is held goes first, then it, in order.
            writePending(context: context)
            context.write(data, promise: promise)
            return
        }
        if pending == nil {
            pending = buffer
        } else {
            pending!.writeBuffer(&buffer)
        }
        if let promise {
            if let held = self.promise { held.futureResult.cascade(to: promise) } else { self.promise = promise }
        }
    }

    public func flush(context: ChannelHandlerContext) {
        writePending(context: context)
        context.flush()
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // Written but not flushed: passed on unflushed, as it would have been without this handler.
        writePending(context: context)
        context.close(mode: mode, promise: promise)
    }

    private func writePending(context: ChannelHandlerContext) {
        guard let buffer = pending else { return }
        let promise = self.promise
        pending = nil
        self.promise = nil
        context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
    }
}
