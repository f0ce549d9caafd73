import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import WireProtocol

/// A WebSocket client on SwiftNIO's own codecs, with a ``WireTap`` first in its pipeline.
///
/// It does what a correct client must and nothing more: masks every frame, answers pings with
/// pongs, answers a close with a close. Everything it sends or receives is reported to the tap
/// sink as raw bytes; explaining them is the ``WireProtocol`` module's job.
public final class WebSocketClient: Sendable {
    public enum ConnectOutcome: Sendable {
        case open(WebSocketClient)
        /// The server answered the upgrade request with something other than 101.
        case refused(status: UInt, reason: String)
    }

    public struct HandshakeFailed: Error, CustomStringConvertible {
        public let description: String
        /// Set when the server's 101 broke the extension negotiation rules and the client failed
        /// the connection (the tap has seen the 101 and the close).
        public var extensionProblem: ExtensionAnswer.Problem?

        public init(description: String, extensionProblem: ExtensionAnswer.Problem? = nil) {
            self.description = description
            self.extensionProblem = extensionProblem
        }
    }

    public let target: WebSocketTarget
    public let requestKey: String
    private let channel: any Channel
    private let randomness: Randomness
    private let state: ConnectionState
    /// Decoded frames as they arrive (for code that wants messages rather than bytes).
    public let frames: AsyncStream<WebSocketFrame>
    /// The permessage-deflate the handshake agreed (nil: none); frames go through it both ways.
    public let deflate: DeflateParameters?

    /// The largest frame the client accepts; far above what the lab sends.
    public static let maxFrameSize = 1 << 26

    private init(
        target: WebSocketTarget, requestKey: String, channel: any Channel, randomness: Randomness, state: ConnectionState,
        frames: AsyncStream<WebSocketFrame>, deflate: DeflateParameters?
    ) {
        self.deflate = deflate
        self.target = target
        self.requestKey = requestKey
        self.channel = channel
        self.randomness = randomness
        self.state = state
        self.frames = frames
    }

    public static func connect(
        to target: WebSocketTarget,
        requestKey: String,
        randomness: Randomness,
        origin: String? = nil,
        deflate: DeflateOffer? = nil,
        tls: ClientTLS? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        tap: @escaping TapSink
    ) async throws -> ConnectOutcome {
        let state = ConnectionState()
        let tlsHandshake = NIOLockedValueBox<EventLoopFuture<Void>?>(nil)
        let (frames, framesContinuation) = AsyncStream<WebSocketFrame>.makeStream()
        let upgradeResult: EventLoopFuture<UpgradeResult> = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // A server may half-close right after its close frame (swift-websocket does): the
            // client still answers that close before it closes the connection itself.
            .channelOption(.allowRemoteHalfClosure, value: true)
            .connectTimeout(.seconds(5))
            .connect(host: target.host, port: target.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrade = try configurePipeline(
                        channel, target: target, requestKey: requestKey, origin: origin, deflate: deflate,
                        makeResponder: { FrameResponder(state: state, randomness: randomness, frames: framesContinuation) }, tap: tap
                    )
                    // In front of the plain tap, which then sees the decrypted bytes.
                    if let tls {
                        let handshake = try tls.addHandlers(to: channel, host: target.host)
                        tlsHandshake.withLockedValue { $0 = handshake }
                    }
                    return upgrade
                }
            }
        let result: UpgradeResult
        do {
            result = try await upgradeResult.get()
        } catch {
            framesContinuation.finish()
            // A TLS failure closes the connection before any HTTP: its own error says why.
            if let handshake = tlsHandshake.withLockedValue({ $0 }) {
                do { try await handshake.get() } catch { throw HandshakeFailed(description: ClientTLS.explain(error) ?? "the TLS handshake failed: \(error)") }
            }
            if let failed = error as? HandshakeFailed { throw failed }
            throw HandshakeFailed(description: describe(upgradeError: error))
        }
        switch result {
        case .upgraded(let channel, let agreed):
            return .open(
                WebSocketClient(
                    target: target, requestKey: requestKey, channel: channel, randomness: randomness, state: state, frames: frames, deflate: agreed
                ))
        case .notUpgraded(let response):
            framesContinuation.finish()
            let head = try await response.get()
            return .refused(status: head.status.code, reason: head.status.reasonPhrase)
        }
    }

    /// Builds a client pipeline on `channel`: the tap, the end-of-input hold, NIO's HTTP codec and
    /// upgrade handler, and, once upgraded, NIO's frame codec and a responder. Separate from
    /// ``connect(to:requestKey:randomness:origin:group:tap:)`` so a test can run it on an
    /// `EmbeddedChannel` and deliver bytes and the end of input exactly when it wants.
    static func configurePipeline(
        _ channel: any Channel, target: WebSocketTarget, requestKey: String, origin: String?, deflate: DeflateOffer? = nil,
        makeResponder: @escaping @Sendable () -> FrameResponder, tap: @escaping TapSink
    ) throws -> EventLoopFuture<UpgradeResult> {
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(WireTap(sink: tap), position: .first)
        let hold = EndOfInputHold()
        try operations.addHandler(hold)
        let upgrader = HoldingUpgrader(
            inner: NIOTypedWebSocketClientUpgrader<UpgradeResult>(
                requestKey: requestKey,
                maxFrameSize: maxFrameSize,
                upgradePipelineHandler: { channel, response in
                    channel.eventLoop.makeCompletedFuture {
                        // An answer that breaks the negotiation rules fails the connection
                        // (RFC 6455 §4.1): closed once NIO has seen the upgrade fail.
                        let agreed: DeflateParameters?
                        do throws(ExtensionAnswer.Problem) {
                            agreed = try ExtensionAnswer.agreedDeflate(
                                offered: deflate.map { [$0.headerValue] } ?? [], answered: response.headers["Sec-WebSocket-Extensions"],
                                clientWindowBits: DeflateOffer.windowBitsRange
                            )
                        } catch {
                            channel.eventLoop.execute { channel.close(promise: nil) }
                            throw HandshakeFailed(description: error.description, extensionProblem: error)
                        }
                        // permessage-deflate, if offered and accepted: compress what goes out,
                        // inflate what comes in (the tap sees both compressed).
                        if let agreed {
                            try channel.pipeline.syncOperations.addHandler(FrameInflater(parameters: agreed))
                            try channel.pipeline.syncOperations.addHandler(FrameDeflater(parameters: agreed))
                        }
                        try channel.pipeline.syncOperations.addHandler(makeResponder())
                        return UpgradeResult.upgraded(channel, agreed)
                    }
                }
            ),
            hold: NIOLoopBound(hold, eventLoop: channel.eventLoop)
        )
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.hostHeader)
        // What a browser adds to every upgrade: the page's origin.
        if let origin { headers.add(name: "Origin", value: origin) }
        if let deflate { headers.add(name: "Sec-WebSocket-Extensions", value: deflate.headerValue) }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target.path, headers: headers)
        let upgrade = NIOTypedHTTPClientUpgradeConfiguration<UpgradeResult>(
            upgradeRequestHead: head,
            upgraders: [upgrader],
            notUpgradingCompletionHandler: { channel in
                channel.eventLoop.makeCompletedFuture {
                    let drain = ResponseDrain(promise: channel.eventLoop.makePromise())
                    try channel.pipeline.syncOperations.addHandler(drain)
                    return UpgradeResult.notUpgraded(drain.promise.futureResult)
                }
            }
        )
        var configuration = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: upgrade)
        // A server may send its first frame in the same segment as the 101: keep those bytes.
        configuration.leftOverBytesStrategy = .forwardBytes
        return try operations.configureUpgradableHTTPClientPipeline(configuration: configuration)
    }

    /// Stops or resumes reading from the socket (NIO's autoRead). While off, the kernel's receive
    /// buffer fills and TCP's window closes: the server sees a peer that takes nothing.
    public func setReading(_ on: Bool) async throws {
        try await channel.setOption(.autoRead, value: on).get()
        if on { channel.read() }
    }

    /// Sends one frame, masked with a fresh key, and returns once it is handed to the socket.
    public func send(_ opcode: WebSocketOpcode, payload: [UInt8], fin: Bool = true) async throws {
        if opcode == .connectionClose { state.closeSent() }
        let frame = WebSocketFrame(fin: fin, opcode: opcode, maskKey: randomness.maskingKey(), data: ByteBuffer(bytes: payload))
        try await channel.writeAndFlush(frame)
    }

    /// Sends several text messages, one frame each, in one flush: they leave together, before
    /// any answer to the first can be read (a reconnected client emptying its queue).
    public func sendTexts(_ messages: [String]) async throws {
        guard !messages.isEmpty else { return }
        for message in messages.dropLast() {
            channel.write(WebSocketFrame(fin: true, opcode: .text, maskKey: randomness.maskingKey(), data: ByteBuffer(string: message)), promise: nil)
        }
        let last = WebSocketFrame(fin: true, opcode: .text, maskKey: randomness.maskingKey(), data: ByteBuffer(string: messages.last!))
        try await channel.writeAndFlush(last)
    }

    /// Starts the closing handshake: a close frame with `code` and `reason`, or an empty one.
    /// Once a close frame has gone out (ours, or our answer to the server's), nothing more may
    /// follow (RFC 6455 §5.5.1), so a second call does nothing.
    public func close(code: UInt16?, reason: String = "") async throws {
        guard !state.hasSentClose else { return }
        var payload: [UInt8] = []
        if let code { payload = [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8) }
        try await send(.connectionClose, payload: payload)
    }

    /// Drops the TCP connection without a close frame (what a crashed client does).
    public func drop() async {
        try? await channel.close()
    }

    public var isOpen: Bool { channel.isActive }

    /// Completes when the TCP connection has closed.
    public func waitUntilClosed() async {
        try? await channel.closeFuture.get()
    }

    private static func describe(upgradeError error: any Error) -> String {
        if let error = error as? NIOHTTPClientUpgradeError, error == .upgraderDeniedUpgrade {
            return "the server answered 101 but its Sec-WebSocket-Accept does not match the key, so the client refused the upgrade"
        }
        return "the handshake failed: \(error)"
    }
}

enum UpgradeResult: Sendable {
    case upgraded(any Channel, DeflateParameters?)
    case notUpgraded(EventLoopFuture<HTTPResponseHead>)
}

/// Whether this side has sent its close frame, shared by the client and its pipeline.
final class ConnectionState: Sendable {
    private let sent = NIOLockedValueBox(false)
    func closeSent() { sent.withLockedValue { $0 = true } }
    var hasSentClose: Bool { sent.withLockedValue { $0 } }
}

/// The client's duties towards the server: pong every ping, answer a close, and hand decoded
/// frames on.
final class FrameResponder: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let state: ConnectionState
    private let randomness: Randomness
    private let frames: AsyncStream<WebSocketFrame>.Continuation

    init(state: ConnectionState, randomness: Randomness, frames: AsyncStream<WebSocketFrame>.Continuation) {
        self.state = state
        self.randomness = randomness
        self.frames = frames
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        frames.yield(frame)
        switch frame.opcode {
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: randomness.maskingKey(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            if state.hasSentClose {
                context.close(promise: nil)  // our close was answered: the handshake is complete
            } else {
                // Echo the status code (RFC 6455 §5.5.1), then close the TCP connection.
                state.closeSent()
                var body = frame.unmaskedData
                let code = body.readableBytes >= 2 ? body.readSlice(length: 2) : nil
                let reply = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: randomness.maskingKey(), data: code ?? ByteBuffer())
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in loopBound.value.close(promise: nil) }
            }
        default:
            break
        }
    }

    /// The server has ended its side (a FIN). Whatever it sent before is read; answers already
    /// written (a close answered) have gone out with the flush that wrote them, so close now.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        frames.finish()
        context.fireChannelInactive()
    }
}

/// Reads a refused upgrade's response to its end, so the tap has seen the whole body.
final class ResponseDrain: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    let promise: EventLoopPromise<HTTPResponseHead>
    private var head: HTTPResponseHead?
    private var completed = false

    init(promise: EventLoopPromise<HTTPResponseHead>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let received): head = received
        case .body: break
        case .end:
            complete()
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete()
        context.fireChannelInactive()
    }

    private func complete() {
        guard !completed else { return }
        completed = true
        if let head { promise.succeed(head) } else { promise.fail(ChannelError.inputClosed) }
    }
}
