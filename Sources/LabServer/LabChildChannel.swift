import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import NIOWebSocket
import WireTransport

/// Hummingbird's HTTP/1.1 + WebSocket child channel with five lab handlers added: the
/// ``ServerWireTap`` first (raw bytes for `tap`); the ``ConnectionGuard`` below everything else (connection limit, slow request heads); the
/// ``HandshakeGate`` in front of the upgrade handler, so refused upgrades carry their real status
/// on the wire; a ``PeerWatch``, so that an event stream notices its client leave; and, once a
/// connection is upgraded, the ``ClientFrameRules`` right after NIO's frame decoder. It also caps
/// the socket's send buffer (``LabLimits/socketSendBuffer``).
struct LabChildChannel: ServerChildChannel {
    struct Value: ServerChildChannelValue {
        let inner: HTTP1WebSocketUpgradeChannel.Value
        /// True once the connection is served on its event loop by a ``ReplyingSession``: then no
        /// task waits for it.
        let servedOnLoop: EventLoopFuture<Bool>
        var channel: any Channel { inner.channel }
    }

    let inner: HTTP1WebSocketUpgradeChannel
    let registry: EndpointRegistry
    /// SO_SNDBUF for each connection (``LabLimits/socketSendBuffer``).
    let sendBuffer: Int?
    let maxMessageSize: Int
    let lab: LabContext
    /// Set on the TLS listener: NIOSSL's server handler goes in front of the tap, so `tap` shows
    /// the decrypted HTTP and frames, as on the plain port.
    var tls: NIOSSLContext? = nil

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            if let sendBuffer { try channel.syncOptions?.setOption(.socketOption(.so_sndbuf), value: SocketOptionValue(sendBuffer)) }
            try operations.addHandler(PeerWatch(), position: .first)
            let lab = self.lab
            try operations.addHandler(
                ConnectionGuard(count: lab.openConnections, headTimeout: lab.limits.requestHeadTimeout) { lab.announce($0) },
                position: .first
            )
            // Outside everything, so that it sees the bytes as the socket does (even a 503 turning a
            // connection away).
            try operations.addHandler(ServerWireTap(taps: lab.taps, tls: tls != nil), position: .first)
            if let tls {
                // A frame's header and payload in one TLS record, not two.
                try operations.addHandler(WriteCoalescer(), position: .first)
                try operations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
            }
            let upgrader = try operations.handler(type: NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>.self)
            let gate = HandshakeGate(registry: registry, logger: logger, compression: lab.compression)
            try operations.addHandler(gate, position: .before(upgrader))
            // The upgrade handler completes this future after the WebSocket handlers are in place
            // and before it passes on any bytes that arrived meanwhile (its callbacks run at once,
            // on this event loop), so the rules see every frame, even one sent with the request.
            let maxMessageSize = self.maxMessageSize
            let servedOnLoop = channel.eventLoop.makePromise(of: Bool.self)
            upgrader.upgradeResultFuture.assumeIsolated().whenComplete { outcome in
                guard case .success(.websocket(let asyncChannel, _, _)) = outcome else {
                    servedOnLoop.succeed(false)
                    return
                }
                do {
                    let operations = channel.pipeline.syncOperations
                    let decoder = try operations.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
                    let rules = ClientFrameRules(maxMessageSize: maxMessageSize, deflate: gate.deflate)
                    try operations.addHandler(rules, position: .after(decoder))
                    // A replying route (the echo) is served right here, unless the connection
                    // compresses: the WebSocket library's session does that.
                    guard gate.deflate == nil, let (endpoint, route) = gate.accepted, let reply = route.reply else {
                        servedOnLoop.succeed(false)
                        return
                    }
                    let name = endpoint.name
                    let session = ReplyingSession(
                        reply: reply, endpoint: name, connections: registry.connections, lifecycle: rules.lifecycle,
                        takeFault: { registry.takeFault(name) }, pingInterval: lab.limits.pingInterval, asyncView: asyncChannel
                    )
                    try operations.addHandler(session, position: .after(rules))
                    servedOnLoop.succeed(true)
                } catch {
                    logger.error("could not add the WebSocket frame rules; closing", metadata: ["error": "\(error)"])
                    servedOnLoop.succeed(false)
                    channel.close(promise: nil)
                }
            }
            return Value(inner: value, servedOnLoop: servedOnLoop.futureResult)
        }
    }

    func handle(value: Value, logger: Logger) async {
        // A connection a ReplyingSession serves needs no task of its own.
        if (try? await value.servedOnLoop.get()) == true { return }
        guard tls != nil else {
            await inner.handle(value: value.inner, logger: logger)
            return
        }
        var logger = logger
        logger.handler = HandshakeEndNotice(base: logger.handler, lab: lab)
        await inner.handle(value: value.inner, logger: logger)
    }
}

/// On the TLS port, a connection that ends before its first request is a client that gave up in
/// the TLS handshake (one that does not trust the certificate: a browser's first visit, curl
/// without --cacert). Hummingbird logs that as an error about an upgrade; this says what it is,
/// as a lab notice, and passes every other record on.
private struct HandshakeEndNotice: LogHandler {
    var base: any LogHandler
    let lab: LabContext

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        guard event.message.description == "Error handling upgrade result" else {
            base.log(event: event)
            return
        }
        lab.announce("a TLS connection ended before its first request: a client that does not trust the lab's self-signed certificate stops in the handshake")
    }
}
