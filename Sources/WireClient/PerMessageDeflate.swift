import CompressNIO
import NIOCore
import NIOWebSocket
import WireProtocol

/// What a client offers for permessage-deflate (RFC 7692) in its upgrade request.
public struct DeflateOffer: Sendable, Equatable {
    /// Ask both sides to compress each message on its own (`client_no_context_takeover;
    /// server_no_context_takeover`): less memory per connection, less compression.
    public var noContextTakeover: Bool
    /// Ask for windows of 2^bits bytes both ways (9-15); nil offers `client_max_window_bits` bare,
    /// as browsers do.
    public var windowBits: Int?

    /// The window sizes zlib compresses with (its raw deflate takes no 8).
    public static let windowBitsRange = 9...15

    public init(noContextTakeover: Bool = false, windowBits: Int? = nil) {
        self.noContextTakeover = noContextTakeover
        self.windowBits = windowBits
    }

    /// The `Sec-WebSocket-Extensions` value.
    public var headerValue: String {
        var value = DeflateParameters.extensionName
        if let windowBits {
            value += "; client_max_window_bits=\(windowBits); server_max_window_bits=\(windowBits)"
        } else {
            value += "; client_max_window_bits"
        }
        if noContextTakeover { value += "; client_no_context_takeover; server_no_context_takeover" }
        return value
    }
}

/// Inflates one direction's compressed messages with zlib (compress-nio), keeping the window
/// between messages unless told to reset. Used by one dissector at a time, serially.
public final class ZlibMessageInflater: MessageInflater, @unchecked Sendable {
    private let decompressor: ZlibDecompressor

    public init(windowBits: Int) throws {
        decompressor = try ZlibDecompressor(algorithm: .deflate, windowSize: Int32(windowBits))
    }

    /// For ``WireDissector/init(inflaters:)``.
    public static let maker: InflaterMaker = { try ZlibMessageInflater(windowBits: $0) }

    public func inflate(_ compressed: [UInt8], limit: Int) throws -> [UInt8] {
        var input = ByteBuffer(bytes: compressed)
        let output = try input.decompressStream(with: decompressor, maxSize: limit, allocator: ByteBufferAllocator())
        return Array(output.readableBytesView)
    }

    public func reset() throws {
        try decompressor.reset()
    }
}

/// Compresses the data messages a client sends, once the server has accepted permessage-deflate:
/// the first frame of a message gets RSV1, every frame's payload goes through one deflate stream
/// flushed at the frame's end, and the last frame drops the `00 00 ff ff` that flush leaves
/// (RFC 7692 §7.2.1). Control frames pass unchanged. Sits on the tail side of NIO's frame encoder.
final class FrameDeflater: ChannelOutboundHandler {
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let compressor: ZlibCompressor
    private let resetsContext: Bool
    private var inMessage = false

    init(parameters: DeflateParameters) throws {
        compressor = try ZlibCompressor(
            algorithm: .deflate,
            configuration: ZlibConfiguration(windowSize: Int32(max(9, parameters.windowBits(of: .client))), compressionLevel: -1, memoryLevel: 8)
        )
        resetsContext = parameters.resetsContext(of: .client)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var frame = unwrapOutboundIn(data)
        // An empty message goes uncompressed (RSV1=0 is allowed; compress-nio cannot compress zero bytes).
        let emptyMessage = !inMessage && frame.fin && frame.data.readableBytes == 0
        guard frame.opcode == .text || frame.opcode == .binary || frame.opcode == .continuation, !emptyMessage else {
            context.write(data, promise: promise)
            return
        }
        do {
            if !inMessage { frame.rsv1 = true }
            var payload = frame.data  // not yet masked: NIO's encoder masks on the way out
            var compressed = try payload.compressStream(with: compressor, flush: .sync, allocator: context.channel.allocator)
            if frame.fin {
                compressed = compressed.getSlice(at: compressed.readerIndex, length: compressed.readableBytes - 4) ?? compressed
                if resetsContext { try compressor.reset() }
            }
            inMessage = !frame.fin
            frame.data = compressed
            context.write(wrapOutboundOut(frame), promise: promise)
        } catch {
            promise?.fail(error)
        }
    }
}

/// Inflates the compressed messages a client receives, so that ``WebSocketClient/frames`` carries
/// what the server's application sent (the tap still sees the compressed bytes).
final class FrameInflater: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    private let inflater: ZlibMessageInflater
    private let resetsContext: Bool
    /// The compressed message in progress: its opcode and bytes so far.
    private var pending: (opcode: WebSocketOpcode, bytes: [UInt8])?

    init(parameters: DeflateParameters) throws {
        inflater = try ZlibMessageInflater(windowBits: parameters.windowBits(of: .server))
        resetsContext = parameters.resetsContext(of: .server)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .binary:
            pending = frame.rsv1 ? (frame.opcode, []) : nil
        case .continuation:
            break
        default:
            context.fireChannelRead(data)
            return
        }
        guard var message = pending else {
            context.fireChannelRead(data)
            return
        }
        message.bytes += frame.unmaskedData.readableBytesView
        guard frame.fin else {
            pending = message
            return  // the message is passed on whole, inflated, as one frame
        }
        pending = nil
        do {
            let inflated = try inflater.inflate(message.bytes + [0x00, 0x00, 0xFF, 0xFF], limit: WebSocketClient.maxFrameSize)
            if resetsContext { try inflater.reset() }
            frame.rsv1 = false
            frame.opcode = message.opcode
            frame.data = ByteBuffer(bytes: inflated)
            frame.maskKey = nil
            context.fireChannelRead(wrapInboundOut(frame))
        } catch {
            context.fireErrorCaught(error)
        }
    }
}
