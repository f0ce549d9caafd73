import Logging
import NIOCore
import NIOHTTP1
import WireProtocol

/// What the lab answers to a WebSocket upgrade request.
public enum UpgradeVerdict: Sendable, Equatable {
    case accept
    case refuse(HTTPResponseStatus, headers: [(String, String)] = [], body: String)

    public static func == (lhs: UpgradeVerdict, rhs: UpgradeVerdict) -> Bool {
        switch (lhs, rhs) {
        case (.accept, .accept): true
        case (.refuse(let a, let ah, let ab), .refuse(let b, let bh, let bb)):
            a == b && ab == bb && ah.map { "\($0.0): \($0.1)" } == bh.map { "\($0.0): \($0.1)" }
        default: false
        }
    }
}

extension EndpointRegistry {
    /// The checks of RFC 6455 §4.2.1, plus the lab's own: does the path exist, is it switched on.
    /// Hummingbird would answer every refusal with a bare `400`; a learner needs the real reason.
    public func verdict(method: HTTPMethod, uri: String, headers: HTTPHeaders, peer: String? = nil) async -> UpgradeVerdict {
        let path = String(uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        guard method == .GET else {
            return .refuse(.methodNotAllowed, headers: [("Allow", "GET")], body: "A WebSocket upgrade must be a GET request, not \(method.rawValue).\n")
        }
        if isBlocked(.webSocket) {
            return .refuse(
                .forbidden,
                body: "WebSocket upgrades are blocked here, as by a proxy or firewall that does not pass them (in the wirelab REPL: unblock ws).\n"
            )
        }
        let origin = headers["Origin"].first
        guard originPolicy.allows(origin) else {
            return .refuse(
                .forbidden,
                body: "Origin \(origin ?? "") may not open WebSockets here. Browsers do not apply the same-origin policy to WebSocket "
                    + "upgrades, so without this check any page could open one with the user's cookies (cross-site WebSocket hijacking). "
                    + "Start the lab with --allowed-origin \(origin ?? "") to allow it.\n"
            )
        }
        let route: WebSocketRoute
        let parameters: [String: String]
        switch resolveWebSocket(path: path) {
        case .notFound, .methodNotAllowed:
            return .refuse(.notFound, body: "No WebSocket endpoint at \(path).\n" + onPage())
        case .switchedOff(let endpoint):
            return .refuse(
                .serviceUnavailable,
                body: "The \(endpoint.name) endpoint is switched off (in the wirelab REPL: enable \(endpoint.name)).\n" + onPage()
            )
        case .route(_, let found, let captured):
            route = found
            parameters = captured
        }
        guard headers[canonicalForm: "Connection"].contains(where: { $0.lowercased() == "upgrade" }) else {
            return .refuse(.badRequest, body: "The Connection header must include \"Upgrade\".\n")
        }
        let versions = headers["Sec-WebSocket-Version"]
        guard versions == ["13"] else {
            let sent = versions.isEmpty ? "none" : versions.joined(separator: ", ")
            return .refuse(
                .upgradeRequired,
                // RFC 9110 §15.5.22: a 426 names the protocol to upgrade to.
                headers: [("Sec-WebSocket-Version", "13"), ("Upgrade", "websocket")],
                body: "This server speaks WebSocket version 13 (RFC 6455); the request asked for \(sent).\n"
            )
        }
        let keys = headers["Sec-WebSocket-Key"]
        guard keys.count == 1, let key = keys.first else {
            return .refuse(.badRequest, body: "The request needs exactly one Sec-WebSocket-Key header; it had \(keys.count).\n")
        }
        guard Handshake.isValidKey(key) else {
            return .refuse(.badRequest, body: "Sec-WebSocket-Key must be 16 bytes in base64 (24 characters); got \"\(key)\".\n")
        }
        // Last, the endpoint's own rules (a name already taken, a missing parameter, a token).
        return await route.admit(parameters, parseQuery(uri.split(separator: "?", maxSplits: 1).dropFirst().first), peer)
    }

    private func onPage() -> String {
        "Endpoints that are on:\n" + describeEnabled().map { "  " + $0 + "\n" }.joined()
    }
}

/// Sits between NIO's HTTP request decoder and its upgrade handler for a connection's first
/// request. An upgrade request the lab refuses is answered here, with the real status and a body
/// that says why; anything else passes through, and the gate steps out of the pipeline (after an
/// upgrade, raw WebSocket bytes must not reach it).
final class HandshakeGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: EndpointRegistry
    private let logger: Logger
    private let compression: CompressionSwitch?
    /// What the accepted upgrade agreed for permessage-deflate (read by the frame rules).
    private(set) var deflate: DeflateParameters?
    /// The endpoint and route of the accepted upgrade (read once it is done, to serve a replying
    /// route on the event loop).
    private(set) var accepted: (endpoint: Endpoint, route: WebSocketRoute)?

    private enum State {
        case waitingForHead
        /// The verdict is being worked out (an endpoint may check a token): parts are held.
        case deciding(held: [NIOAny])
        /// The parts of a refused request are dropped.
        case refusing
    }

    private var state = State.waitingForHead

    init(registry: EndpointRegistry, logger: Logger, compression: CompressionSwitch? = nil) {
        self.registry = registry
        self.logger = logger
        self.compression = compression
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .refusing:
            return
        case .deciding(let held):
            state = .deciding(held: held + [data])
            return
        case .waitingForHead:
            break
        }
        guard case .head(let head) = unwrapInboundIn(data),
            head.headers["Upgrade"].contains(where: { $0.lowercased() == "websocket" })
        else {
            passThrough(context: context, parts: [data])
            return
        }
        state = .deciding(held: [data])
        let registry = self.registry
        let peer = context.channel.remoteAddress?.ipAddress
        let decided = context.eventLoop.makeFutureWithTask {
            await registry.verdict(method: head.method, uri: head.uri, headers: head.headers, peer: peer)
        }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        decided.whenSuccess { verdict in
            let (gate, context) = loopBound.value
            gate.decide(verdict, uri: head.uri, context: context)
        }
    }

    private func decide(_ verdict: UpgradeVerdict, uri: String, context: ChannelHandlerContext) {
        guard case .deciding(let held) = state else { return }
        switch verdict {
        case .accept:
            logger.info("WebSocket upgrade accepted", metadata: ["path": "\(uri.redactingQuery)"])
            let path = String(uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            if case .route(let endpoint, let route, _) = registry.resolveWebSocket(path: path) { accepted = (endpoint, route) }
            var parts = held
            if let first = parts.first, case .head(var head) = unwrapInboundIn(first) {
                // Only the permessage-deflate offer the lab accepts reaches Hummingbird.
                deflate = LabCompression.choose(in: &head.headers, accepting: compression?.acceptsDeflate ?? false)
                parts[0] = wrapInboundOut(.head(head))
            }
            passThrough(context: context, parts: parts)
        case .refuse(let status, let extraHeaders, let body):
            logger.info("refused WebSocket upgrade", metadata: ["path": "\(uri.redactingQuery)", "status": "\(status.code)"])
            refuse(status, headers: extraHeaders, body: body, context: context)
        }
    }

    /// Answers with `status` and `body`, then ends the exchange: the upgrade handler hears that
    /// no more input comes, and closes the channel quietly.
    private func refuse(_ status: HTTPResponseStatus, headers extraHeaders: [(String, String)], body: String, context: ChannelHandlerContext) {
        state = .refusing
        var headers = HTTPHeaders(extraHeaders)
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        // A sender of Upgrade lists it in Connection too (RFC 9110 §7.8), so that proxies drop it.
        headers.add(name: "Connection", value: headers.contains(name: "Upgrade") ? "Upgrade, close" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            loopBoundContext.value.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
    }

    /// A first request that NIO cannot parse as HTTP/1.1 never reaches the upgrade handler, which
    /// would wait for it for ever: Hummingbird answers parse errors only once that handler has
    /// let a request through. The gate answers 400 and says why.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError, case .waitingForHead = state else {
            context.fireErrorCaught(error)
            return
        }
        logger.info("refused a request that is not HTTP/1.1", metadata: ["parser": "\(parseError)"])
        refuse(
            .badRequest, headers: [],
            body: "The request could not be read as HTTP/1.1 (NIO's parser: \(parseError)). A request starts with a line such as "
                + "\"GET /ws/echo HTTP/1.1\", then header lines, then an empty line; every line ends in CR LF.\n",
            context: context
        )
    }
}

extension HandshakeGate {
    private func passThrough(context: ChannelHandlerContext, parts: [NIOAny]) {
        for part in parts { context.fireChannelRead(part) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

extension String {
    /// The path with any query string replaced, so tokens in URLs never reach a log line.
    var redactingQuery: String {
        guard let question = firstIndex(of: "?") else { return self }
        return String(self[..<question]) + "?[redacted]"
    }
}
