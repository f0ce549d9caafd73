import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// Hummingbird's HTTP/1.1 + WebSocket child channel with three lab handlers added: the
/// ``HandshakeGate`` in front of the upgrade handler, so refused upgrades carry their real status
/// on the wire; the ``ClientMaskingRule`` on the raw bytes; and a ``PeerWatch``, so that an event
/// stream notices its client leave. It also caps the socket's send buffer (``LabLimits/socketSendBuffer``).
struct LabChildChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let inner: HTTP1WebSocketUpgradeChannel
    let registry: EndpointRegistry
    /// SO_SNDBUF for each connection (``LabLimits/socketSendBuffer``).
    let sendBuffer: Int?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            if let sendBuffer { try channel.syncOptions?.setOption(.socketOption(.so_sndbuf), value: SocketOptionValue(sendBuffer)) }
            try operations.addHandler(ClientMaskingRule(), position: .first)
            try operations.addHandler(PeerWatch(), position: .first)
            let upgrader = try operations.handler(type: NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>.self)
            try operations.addHandler(HandshakeGate(registry: registry, logger: logger), position: .before(upgrader))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
