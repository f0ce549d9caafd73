import CompressNIO
import NIOCore
import NIOWebSocket
import WireProtocol

/// The rules of RFC 6455 for what a client sends, checked on each decoded frame before
/// Hummingbird's WebSocket handler sees it, so that every broken rule is answered with a close
/// frame carrying the right code, never with a bare dropped connection.
///
/// NIO's decoder checks frame sizes and the form of control frames; Hummingbird checks RSV bits
/// on data frames, opcodes and fragment order, but not masking nor RSV bits on pings and pongs,
/// checks UTF-8 only once a whole message has arrived, and answers every valid close with 1000.
/// Here:
///
/// - A broken rule **fails the connection** with 1002 (protocol error), 1007 (invalid UTF-8) or
///   1009 (too big) and a short reason. The close goes out *in turn*: the frame is not passed on;
///   in its place Hummingbird gets a frame with a reserved opcode, which it answers with a close
///   after it has dealt with everything before it, and that close frame's body is replaced with
///   the real code and reason. So a message sent just before the bad frame is still answered.
///   After its close the lab stops sending (TCP FIN) and reads on until the client closes too, or
///   ``lingerTime`` passes: closing at once could reset the connection while a large frame is
///   still arriving, and a reset can destroy the close frame before the client reads it.
/// - Text is checked for UTF-8 as it arrives, fragment by fragment: the first bad byte fails the
///   connection, without waiting for the rest of the message.
/// - A client's close is answered in turn too, by Hummingbird; the reply's body is decided here:
///   the client's own code echoed (RFC 6455 §5.5.1), 1000 for an empty close, 1002 for a code no
///   one may send or a one-byte payload, 1007 for a reason that is not UTF-8.
/// - Work the session accepted before a close or a broken rule is answered first: the client's
///   close (or the frame that stands for a broken rule) is held until the session's
///   ``ConnectionLifecycle`` has nothing in hand, at most ``answerTime``.
/// - After a close frame has gone out, nothing more does (§5.5.1), and the lifecycle says so.
final class ClientFrameRules: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// How long a failed connection waits, after its close frame, for the client to close.
    static let lingerTime: TimeAmount = .seconds(2)
    /// How long Hummingbird has to send the close of a failed connection (a session busy for
    /// longer than this gets it sent by this handler, out of turn).
    static let closeDeadline: TimeAmount = .seconds(5)
    /// How long a close waits for the answers to requests accepted before it.
    static let answerTime: TimeAmount = .seconds(2)

    /// What a close frame of the lab's carries: a code, and a reason short enough (≤ 123 bytes).
    struct CloseBody: Equatable {
        let code: CloseCode
        let reason: String

        init(_ code: CloseCode, _ reason: String) {
            self.code = code
            self.reason = reason
        }
    }

    private enum Message {
        case none
        case text(UTF8Validator, size: Int)
        case binary(size: Int)
        /// A permessage-deflate message (RSV1 on its first frame): checked as it inflates, its
        /// size counted inflated; the validator for text, nil for binary.
        case compressed(UTF8Validator?, size: Int)
    }

    private let maxMessageSize: Int
    /// What the handshake agreed for permessage-deflate; nil: RSV1 is as reserved as RSV2 and 3.
    private let deflate: DeflateParameters?
    /// Inflates the client's compressed messages as they arrive, to check them (UTF-8, size,
    /// data that does not inflate) in turn and with the right code: swift-websocket, which
    /// inflates them again for the session, closes with 1011 on any inflate error.
    private var inflater: ZlibDecompressor?
    private var message = Message.none
    /// The client's close has arrived; later frames from it are ignored.
    private var closeReceived = false
    /// What the lab's reply to the client's close must carry.
    private var closeReply: CloseBody?
    /// The rule the client broke: the connection is failing, and its close must carry this.
    private var failure: CloseBody?
    private var closeSent = false
    private var timer: Scheduled<Void>?
    /// Shared with the session: see ``ConnectionLifecycle``.
    let lifecycle = ConnectionLifecycle()
    /// permessage-deflate was agreed for this connection.
    var compresses: Bool { deflate != nil }

    init(maxMessageSize: Int, deflate: DeflateParameters? = nil) {
        self.maxMessageSize = maxMessageSize
        self.deflate = deflate
        self.inflater = deflate.flatMap { try? ZlibDecompressor(algorithm: .deflate, windowSize: Int32($0.windowBits(of: .client))) }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if failure != nil {
            // Only the client's answer to the close goes on, so that Hummingbird ends the session.
            if frame.opcode == .connectionClose && !closeReceived {
                closeReceived = true
                context.fireChannelRead(data)
            }
            return
        }
        guard !closeReceived else { return }
        if let violation = check(frame) {
            fail(violation, context: context)
            return
        }
        if frame.opcode == .connectionClose {
            closeReceived = true
            if !closeSent { closeReply = Self.reply(toClosePayload: frame.unmaskedData) }
            passWhenAnswered(frame, context: context, deadline: .now() + Self.answerTime)
            return
        }
        if frame.fin, frame.opcode == .text || frame.opcode == .binary || frame.opcode == .continuation {
            lifecycle.passedOn()
        }
        context.fireChannelRead(data)
    }

    /// Passes a frame that ends the session (the client's close, or the stand-in for a broken
    /// rule) on once the session has answered what it accepted before it, or at `deadline`.
    private func passWhenAnswered(_ frame: WebSocketFrame, context: ChannelHandlerContext, deadline: NIODeadline) {
        guard lifecycle.isIdle || NIODeadline.now() >= deadline else {
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(1)) {
                let (rules, context) = loopBound.value
                rules.passWhenAnswered(frame, context: context, deadline: deadline)
            }
            return
        }
        context.fireChannelRead(wrapInboundOut(frame))
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if failure != nil { return }  // e.g. the decoder refusing bytes after its own error
        guard let decoderError = error as? NIOWebSocketError else {
            context.fireErrorCaught(error)
            return
        }
        // Not passed on: NIO's WebSocketProtocolErrorHandler would close at once, out of turn.
        switch decoderError {
        case .invalidFrameLength:
            fail(.init(.messageTooBig, "a frame larger than this lab's limit of \(maxMessageSize) bytes"), context: context)
        case .fragmentedControlFrame:
            fail(.init(.protocolError, "control frames must not be fragmented"), context: context)
        case .multiByteControlFrameLength:
            fail(.init(.protocolError, "control frame payloads are at most 125 bytes"), context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if failure != nil, closeSent, let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)  // the client has closed too: nothing to wait for
            return
        }
        // Before the lab's close is out, Hummingbird learns of it, ends the session, and sends
        // its close (which gets the failure's body) before closing.
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !closeSent else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        let frame = unwrapOutboundIn(data)
        guard frame.opcode == .connectionClose else {
            context.write(data, promise: promise)
            return
        }
        closeSent = true
        lifecycle.markCloseSent()
        // Hummingbird's close in answer to the reserved opcode, or to the client's close: it
        // carries 1000 or 1002 whatever the cause, so it gets the decided body instead.
        if let body = failure ?? closeReply {
            context.write(wrapOutboundOut(Self.closeFrame(body, allocator: context.channel.allocator)), promise: promise)
        } else {
            context.write(data, promise: promise)
        }
        if failure != nil { linger(context: context) }
    }

    // MARK: The rules

    /// The first rule `frame` breaks, given the message in progress; updates that message.
    private func check(_ frame: WebSocketFrame) -> CloseBody? {
        guard frame.maskKey != nil else { return .init(.protocolError, "client frames must be masked") }
        if let violation = checkReservedBits(frame) { return violation }
        switch frame.opcode {
        case .continuation:
            switch message {
            case .none:
                return .init(.protocolError, "a continuation frame with no fragmented message to continue")
            case .compressed(let validator, let size):
                return continueCompressed(frame, validator: validator, size: size)
            case .text(let validator, let size):
                return continueText(frame, validator: validator, size: size)
            case .binary(let size):
                let total = size + frame.data.readableBytes
                guard total <= maxMessageSize else { return tooBig() }
                message = frame.fin ? .none : .binary(size: total)
                return nil
            }
        case .text, .binary:
            guard case .none = message else {
                return .init(.protocolError, "a new \(frame.opcode == .text ? "text" : "binary") frame inside an unfinished fragmented message")
            }
            guard frame.data.readableBytes <= maxMessageSize else { return tooBig() }
            if frame.reservedBits.contains(.rsv1) {
                return continueCompressed(frame, validator: frame.opcode == .text ? UTF8Validator() : nil, size: 0)
            }
            if frame.opcode == .text { return continueText(frame, validator: UTF8Validator(), size: 0) }
            message = frame.fin ? .none : .binary(size: frame.data.readableBytes)
            return nil
        case .ping, .pong, .connectionClose:
            return nil  // their size and FIN were checked by the decoder; a close's payload by `reply`
        default:
            return .init(.protocolError, "opcode \(Opcode(rawValue: UInt8(webSocketOpcode: frame.opcode)).hex) is reserved")
        }
    }

    /// RSV1 means "compressed" on a message's first frame when permessage-deflate was agreed
    /// (RFC 7692 §6.1); anywhere else, and RSV2 and RSV3 always, it breaks the protocol.
    private func checkReservedBits(_ frame: WebSocketFrame) -> CloseBody? {
        guard !frame.reservedBits.isEmpty else { return nil }
        guard deflate != nil, frame.reservedBits == .rsv1 else {
            return .init(.protocolError, "RSV bits set, but no extension was negotiated")
        }
        switch frame.opcode {
        case .text, .binary: return nil
        case .continuation:
            return .init(.protocolError, "RSV1 on a continuation frame: only a message's first frame says it is compressed")
        case .ping, .pong, .connectionClose:
            return .init(.protocolError, "RSV1 on a control frame: permessage-deflate compresses data messages only")
        default:
            return nil  // a reserved opcode, refused as such
        }
    }

    /// Inflates one frame of a compressed message (the last with `00 00 ff ff` put back, RFC 7692
    /// §7.2.2) and checks what comes out.
    private func continueCompressed(_ frame: WebSocketFrame, validator: UTF8Validator?, size: Int) -> CloseBody? {
        guard let inflater, let deflate else { return .init(.internalError, "no inflater for permessage-deflate") }
        var compressed = frame.unmaskedData
        if frame.fin { compressed.writeBytes([0x00, 0x00, 0xFF, 0xFF]) }
        let inflated: ByteBuffer
        do {
            inflated = try compressed.decompressStream(with: inflater, maxSize: maxMessageSize - size + 1, allocator: ByteBufferAllocator())
        } catch let error as CompressNIOError where error == .bufferOverflow {
            return .init(.messageTooBig, "a compressed message that inflates past this lab's limit of \(maxMessageSize) bytes")
        } catch {
            return .init(.protocolError, "compressed data that does not inflate (\(error))")
        }
        let total = size + inflated.readableBytes
        guard total <= maxMessageSize else { return .init(.messageTooBig, "a compressed message that inflates past this lab's limit of \(maxMessageSize) bytes") }
        var validator = validator
        if validator != nil {
            let valid = inflated.withUnsafeReadableBytes { validator!.accept($0) }
            guard valid else { return .init(.invalidPayloadData, "text is not valid UTF-8 (byte \(validator!.byteCount) of the message, inflated)") }
        }
        if frame.fin {
            if let validator, !validator.endsOnCharacterBoundary { return .init(.invalidPayloadData, "text ends inside a UTF-8 character") }
            message = .none
            if deflate.resetsContext(of: .client) { try? inflater.reset() }
        } else {
            message = .compressed(validator, size: total)
        }
        return nil
    }

    private func continueText(_ frame: WebSocketFrame, validator: UTF8Validator, size: Int) -> CloseBody? {
        let total = size + frame.data.readableBytes
        guard total <= maxMessageSize else { return tooBig() }
        var validator = validator
        let valid = frame.data.withUnsafeReadableBytes { Self.accept(masked: $0, key: frame.maskKey!, into: &validator) }
        guard valid else { return .init(.invalidPayloadData, "text is not valid UTF-8 (byte \(validator.byteCount) of the message)") }
        if frame.fin {
            guard validator.endsOnCharacterBoundary else { return .init(.invalidPayloadData, "text ends inside a UTF-8 character") }
            message = .none
        } else {
            message = .text(validator, size: total)
        }
        return nil
    }

    /// Unmasks a frame's payload a block at a time and checks each block: no copy of the whole
    /// payload (NIO's `unmaskedData` makes one, slowly in a debug build, on the event loop).
    private static func accept(masked: UnsafeRawBufferPointer, key: WebSocketMaskingKey, into validator: inout UTF8Validator) -> Bool {
        let keyBytes = Array(key)
        let wideKey = (keyBytes + keyBytes).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let blockSize = 4096  // a multiple of 4, so every block starts at key[0]
        return withUnsafeTemporaryAllocation(byteCount: blockSize, alignment: 8) { block in
            var offset = 0
            while offset < masked.count {
                let count = min(blockSize, masked.count - offset)
                var index = 0
                while index + 8 <= count {
                    block.storeBytes(of: masked.loadUnaligned(fromByteOffset: offset + index, as: UInt64.self) ^ wideKey, toByteOffset: index, as: UInt64.self)
                    index += 8
                }
                while index < count {
                    block[index] = masked[offset + index] ^ keyBytes[index % 4]
                    index += 1
                }
                guard validator.accept(UnsafeRawBufferPointer(rebasing: block[0..<count])) else { return false }
                offset += count
            }
            return true
        }
    }

    private func tooBig() -> CloseBody {
        .init(.messageTooBig, "a message larger than this lab's limit of \(maxMessageSize) bytes")
    }

    /// What the answer to a client's close carries, decided from its payload.
    static func reply(toClosePayload payload: ByteBuffer) -> CloseBody {
        let bytes = payload.readableBytesView
        guard let first = bytes.first else { return .init(.normalClosure, "") }
        guard bytes.count >= 2 else { return .init(.protocolError, "a close payload of one byte cannot hold a status code") }
        let code = CloseCode(code: UInt16(first) << 8 | UInt16(bytes[bytes.startIndex + 1]))
        guard code.mayAppearOnWire else { return .init(.protocolError, "close code \(code.code) may not be sent") }
        var validator = UTF8Validator()
        guard validator.accept(bytes.dropFirst(2)), validator.endsOnCharacterBoundary else {
            return .init(.invalidPayloadData, "the close reason is not valid UTF-8")
        }
        return .init(code, "")
    }

    // MARK: Failing

    private func fail(_ violation: CloseBody, context: ChannelHandlerContext) {
        failure = violation
        message = .none
        guard !closeSent else {
            linger(context: context)  // the lab was closing already; its close stands
            return
        }
        let reserved = WebSocketOpcode(encodedWebSocketOpcode: 0x3)!
        passWhenAnswered(WebSocketFrame(fin: true, opcode: reserved, data: ByteBuffer()), context: context, deadline: .now() + Self.answerTime)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: Self.closeDeadline) {
            let (rules, context) = loopBound.value
            guard !rules.closeSent, let failure = rules.failure else { return }
            rules.closeSent = true
            rules.lifecycle.markCloseSent()
            context.writeAndFlush(rules.wrapOutboundOut(Self.closeFrame(failure, allocator: context.channel.allocator)), promise: nil)
            context.close(mode: .output, promise: nil)
            rules.linger(context: context)
        }
    }

    /// Closes the connection ``lingerTime`` from now, unless the client closes it first.
    private func linger(context: ChannelHandlerContext) {
        timer?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: Self.lingerTime) {
            loopBound.value.close(promise: nil)
        }
    }

    private static func closeFrame(_ body: CloseBody, allocator: ByteBufferAllocator) -> WebSocketFrame {
        var payload = allocator.buffer(capacity: 2 + body.reason.utf8.count)
        payload.writeInteger(body.code.code)
        payload.writeString(body.reason)
        return WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)
    }
}
