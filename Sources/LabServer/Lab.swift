#if canImport(Glibc)
import Glibc
#endif
import WireProtocol
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import NIOWebSocket
import ServiceLifecycle

/// How to run a lab server.
public struct LabConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 asks the system for a free port.
    public var port = 8000
    /// The endpoint names to switch on; nil switches all on.
    public var only: [String]?
    /// Web origins allowed to open WebSockets besides loopback pages (``OriginPolicy``); `*` allows all.
    public var allowedOrigins: [String] = []
    public var limits = LabLimits()
    public var clock = LabClock.system
    public var broadcastMode = BroadcastMode.queued
    /// The key tokens are signed with; nil picks 32 random bytes at start.
    public var tokenSecret: [UInt8]?
    /// Accept permessage-deflate when a client offers it (uvicorn does); `--no-deflate` refuses.
    public var acceptsDeflate = true
    /// A second listener speaking TLS (wss://, https://) to the same endpoints; nil for none.
    public var tls: LabTLSConfiguration?
    public var logger = Logger(label: "wirelab.server")

    public init() {}
}

public enum LabError: Error, CustomStringConvertible {
    case addressInUse(host: String, port: Int)
    case tlsPortInUse(host: String, port: Int)
    case cannotBind(host: String, port: Int, reason: String)
    case stoppedBeforeStarting

    public var description: String {
        switch self {
        case .addressInUse(let host, let port):
            "port \(port) on \(host) is already in use; pick another with --port (e.g. --port \(port + 1), or --port 0 for any free port)"
        case .tlsPortInUse(let host, let port):
            "the TLS port \(port) on \(host) is already in use; pick another with --tls-port (0 for any free port), or --no-tls"
        case .cannotBind(let host, let port, let reason): "cannot listen on \(host):\(port): \(reason)"
        case .stoppedBeforeStarting: "the server stopped before it started listening"
        }
    }
}

/// The in-process server that hosts the guide's endpoints.
public final class Lab: Sendable {
    public let registry: EndpointRegistry
    public let context: LabContext
    public let configuration: LabConfiguration
    /// The plain listener's service group, and the TLS listener's.
    private let running = NIOLockedValueBox<[(group: ServiceGroup, task: Task<Void, Never>)]>([])
    private let listeningTLSPort = NIOLockedValueBox<Int?>(nil)
    /// The certificate and key of the TLS listener (made or read in `init`); nil without TLS.
    public let tlsIdentity: LabTLSIdentity?

    /// The port the TLS listener took, once ``start()`` has returned; nil without TLS.
    public var tlsPort: Int? { listeningTLSPort.withLockedValue { $0 } }

    public init(configuration: LabConfiguration) throws {
        self.configuration = configuration
        self.tlsIdentity = try configuration.tls?.makeIdentity()
        self.context = LabContext(
            clock: configuration.clock, limits: configuration.limits, broadcastMode: configuration.broadcastMode, logger: configuration.logger,
            tokenSecret: configuration.tokenSecret
        )
        self.registry = try EndpointRegistry(
            endpoints: Endpoint.makeAll(context), connections: context.connections, only: configuration.only,
            originPolicy: OriginPolicy(allowed: configuration.allowedOrigins)
        )
        context.compression.acceptsDeflate = configuration.acceptsDeflate
        let registry = self.registry
        context.taps.nameEndpoints { target in registry.endpointName(target: target) }
    }

    /// Starts listening in the background (and on the TLS port, if configured; see ``tlsPort``).
    /// - Returns: the plain port it is listening on.
    public func start() async throws -> Int {
        let port = try await launch(port: configuration.port, tls: nil)
        if let tls = configuration.tls, let identity = tlsIdentity {
            // The same routes, switches and taps behind a TLS handler: a second listener of one
            // lab, started once the first listens (so a busy plain port is one clear error).
            do {
                let tlsPort = try await launch(port: tls.port, tls: try identity.makeServerContext())
                listeningTLSPort.withLockedValue { $0 = tlsPort }
            } catch LabError.addressInUse(let host, let port) {
                await stop()
                throw LabError.tlsPortInUse(host: host, port: port)
            } catch {
                await stop()
                throw error
            }
        }
        return port
    }

    /// Runs one listener in a service group of its own. - Returns: the port it listens on, once it does.
    private func launch(port: Int, tls: NIOSSLContext?) async throws -> Int {
        let (events, continuation) = AsyncStream<Result<Int, any Error>>.makeStream()
        let app = Application(
            router: makeRouter(),
            server: makeServerBuilder(tls: tls),
            configuration: .init(address: .hostname(configuration.host, port: port), serverName: nil),
            onServerRunning: { channel in continuation.yield(.success(channel.localAddress?.port ?? 0)) },
            logger: configuration.logger
        )
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: configuration.logger))
        var configuration = self.configuration
        configuration.port = port
        let task = Task { [configuration] in
            do {
                try await group.run()
                continuation.yield(.failure(LabError.stoppedBeforeStarting))
            } catch {
                continuation.yield(.failure(Self.explain(error, configuration)))
            }
            continuation.finish()
        }
        running.withLockedValue { $0.append((group, task)) }
        for await event in events {
            return try event.get()
        }
        throw LabError.stoppedBeforeStarting
    }

    /// Closes every live WebSocket with 1001 "going away" (after the messages already accepted
    /// for it), ends the event streams, then stops listening.
    public func stop() async {
        let listeners = running.withLockedValue { state in defer { state = [] }; return state }
        guard !listeners.isEmpty else { return }
        // No more messages are taken, those taken are handled, and each connection's queue drains
        // before its 1001.
        await context.stopAccepting()
        await registry.connections.closeAll(code: .goingAway, reason: "server shutting down")
        // Event streams end too (a reconnecting EventSource will find the next server).
        context.eventStreams.finishAll()
        for (group, _) in listeners { await group.triggerGracefulShutdown() }
        for (_, task) in listeners { await task.value }
    }

    /// For `wirelab serve`: runs until SIGINT or SIGTERM, then stops cleanly.
    public func runUntilSignalled(onListening: @Sendable (Int) -> Void) async throws {
        let port = try await start()
        onListening(port)
        let signals = ServiceGroup(
            configuration: .init(services: [UntilShutdown()], gracefulShutdownSignals: [.sigint, .sigterm], logger: configuration.logger)
        )
        try? await signals.run()
        configuration.logger.info("shutting down: closing WebSockets with 1001")
        await stop()
    }

    private func makeRouter() -> Router<LabRequestContext> {
        let router = Router(context: LabRequestContext.self)
        router.add(middleware: LabHTTP(registry: registry, lab: context))
        return router
    }

    /// - Parameter tls: the TLS context of the TLS listener; nil for the plain one.
    private func makeServerBuilder(tls: NIOSSLContext?) -> HTTPServerBuilder {
        let registry = self.registry
        let lab = self.context
        let limits = configuration.limits
        let webSocket = WebSocketServerConfiguration(
            maxFrameSize: limits.maxMessageSize,
            extensions: [LabCompression.extensionFactory(maxMessageSize: limits.maxMessageSize)],
            autoPing: limits.pingInterval.map { .enabled(timePeriod: $0) } ?? .disabled,
            validateUTF8: true
        )
        return HTTPServerBuilder { responder in
            let inner = HTTP1WebSocketUpgradeChannel(
                responder: responder,
                configuration: .init(http1: .init(idleTimeout: limits.idleTimeout.map(TimeAmount.init)), ws: webSocket)
            ) { request, channel, _ in
                let target = request.path ?? ""
                guard case .route(let endpoint, let route, let parameters) = registry.resolveWebSocket(path: target) else {
                    return .dontUpgrade  // the HandshakeGate has already answered with the reason
                }
                let query = parseQuery(target.split(separator: "?", maxSplits: 1).dropFirst().first)
                return .upgrade([:]) { inbound, outbound, context in
                    let beforeClose = BeforeClose()
                    let close: @Sendable (CloseCode, String) async -> Void = { code, reason in
                        await beforeClose.run()
                        try? await outbound.close(WebSocketErrorCode(codeNumber: Int(code.code)), reason: reason)
                    }
                    // Made with the frame rules, which were in place before the upgrade finished.
                    let (lifecycle, compresses) = try await channel.eventLoop.submit {
                        let rules = try channel.pipeline.syncOperations.handler(type: ClientFrameRules.self)
                        return (rules.lifecycle, rules.compresses)
                    }.get()
                    try await registry.connections.run(endpoint: endpoint.name, close: close, drop: { try? await channel.close() }) {
                        let session = WebSocketSession(
                            parameters: parameters, query: query, inbound: inbound, outbound: outbound, channel: channel, lab: lab,
                            logger: context.logger, beforeClose: beforeClose, lifecycle: lifecycle,
                            takeFault: { registry.takeFault(endpoint.name) }, compresses: compresses
                        )
                        try await route.session(session)
                        if let ending = session.closing.withLockedValue({ $0 }) {
                            try? await outbound.close(ending.code, reason: ending.reason)
                        }
                    }
                }
            }
            return LabChildChannel(
                inner: inner, registry: registry, sendBuffer: lab.limits.socketSendBuffer, maxMessageSize: limits.maxMessageSize, lab: lab, tls: tls
            )
        }
    }

    private static func explain(_ error: any Error, _ configuration: LabConfiguration) -> any Error {
        guard let ioError = error as? IOError else { return error }
        if ioError.errnoCode == EADDRINUSE {
            return LabError.addressInUse(host: configuration.host, port: configuration.port)
        }
        return LabError.cannotBind(host: configuration.host, port: configuration.port, reason: "\(ioError)")
    }
}

/// A service that only waits for graceful shutdown: with signal handling on, it turns SIGINT or
/// SIGTERM into "return".
private struct UntilShutdown: Service {
    func run() async throws {
        try? await gracefulShutdown()
    }
}
