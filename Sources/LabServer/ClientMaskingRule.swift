import NIOCore
import WireProtocol

/// RFC 6455 §5.1: a server must close the connection when a client sends an unmasked frame.
/// Neither NIO's frame decoder nor Hummingbird's WebSocket handler checks it, so the lab does, on
/// the raw bytes: first in the pipeline, it walks frame headers from the first byte after the
/// request head of an upgraded connection (payloads are skipped, never copied) and answers an
/// unmasked frame with close 1002.
final class ClientMaskingRule: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private enum State {
        /// Reading the request head; bytes after its end are kept until the response is known.
        case requestHead(seen: [UInt8])
        case awaitingResponse(pending: [UInt8])
        /// Walking frames: collecting a header, or skipping `skip` payload bytes.
        case frames(header: [UInt8], skip: UInt64)
        /// Not a WebSocket connection, or already closed: stay out of the way.
        case off
    }

    private var state = State.requestHead(seen: [])

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data).readableBytesView
        switch state {
        case .requestHead(let seen):
            let all = seen + bytes
            if let end = HTTPHead.headLength(in: all) {
                state = .awaitingResponse(pending: Array(all[end...]))
            } else {
                state = all.count > HTTPHead.maximumSize ? .off : .requestHead(seen: all)
            }
        case .awaitingResponse(let pending):
            state = .awaitingResponse(pending: pending + bytes)
        case .frames:
            if !walk(bytes, context: context) { return }
        case .off:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .awaitingResponse(let pending) = state, case .byteBuffer(let buffer) = unwrapOutboundIn(data) {
            if buffer.readableBytesView.starts(with: Array("HTTP/1.1 101".utf8)) {
                state = .frames(header: [], skip: 0)
                context.write(data, promise: promise)
                _ = walk(pending[...], context: context)
                return
            }
            state = .off
        }
        context.write(data, promise: promise)
    }

    /// - Returns: false when the connection was closed for a violation.
    private func walk(_ bytes: some Collection<UInt8>, context: ChannelHandlerContext) -> Bool {
        guard case .frames(var header, var skip) = state else { return true }
        var index = bytes.startIndex
        while index != bytes.endIndex {
            if skip > 0 {
                let step = Int(min(skip, UInt64(bytes.distance(from: index, to: bytes.endIndex))))
                index = bytes.index(index, offsetBy: step)
                skip -= UInt64(step)
                continue
            }
            header.append(bytes[index])
            index = bytes.index(after: index)
            switch FrameHeader.parse(header) {
            case .needMoreBytes:
                continue
            case .unreadable:
                state = .off  // the frame decoder reports this one itself
                return true
            case .header(let parsed):
                guard parsed.maskingKey != nil else {
                    refuse(context: context)
                    return false
                }
                header = []
                skip = parsed.payloadLength
            }
        }
        state = .frames(header: header, skip: skip)
        return true
    }

    private func refuse(context: ChannelHandlerContext) {
        state = .off
        let reason = Array("client frames must be masked".utf8)
        let close: [UInt8] = [0x88, UInt8(2 + reason.count), 0x03, 0xEA] + reason  // 1002 protocol error
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(ByteBuffer(bytes: close)))).whenComplete { _ in
            loopBound.value.close(promise: nil)
        }
    }
}
