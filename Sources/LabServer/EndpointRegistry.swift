import NIOConcurrencyHelpers
import NIOWebSocket
import WireProtocol

/// The endpoints a lab hosts, which of them are switched on, and their live connections.
///
/// Routes are fixed once the server is built, so switching happens here, checked on every
/// upgrade, rather than by rebuilding the router.
public final class EndpointRegistry: Sendable {
    public let endpoints: [Endpoint]
    private let enabled: NIOLockedValueBox<Set<String>>
    private let blockedTransports = NIOLockedValueBox<Set<BlockedTransport>>([])

    /// What a proxy or firewall on the way might not pass (`block ws`, `block sse` in the REPL),
    /// so that a client's fallback to another transport can be seen on demand.
    public enum BlockedTransport: String, Sendable, CaseIterable {
        case webSocket = "ws"
        case eventStream = "sse"
    }

    public func setBlocked(_ transport: BlockedTransport, _ blocked: Bool) {
        blockedTransports.withLockedValue { set in
            if blocked { set.insert(transport) } else { set.remove(transport) }
        }
    }

    public func isBlocked(_ transport: BlockedTransport) -> Bool {
        blockedTransports.withLockedValue { $0.contains(transport) }
    }
    public let connections: LiveConnections

    /// Endpoints whose handler is to fail on the next message it reads (`fault NAME` in the
    /// REPL): a bug made on demand, so that 1011 "internal error" can be seen on the wire.
    private let faults = NIOLockedValueBox<Set<String>>([])

    /// Arms one failure of `name`'s handler: the next message any of its connections reads makes
    /// the handler throw, and the server closes that connection with 1011.
    public func armFault(_ name: String) throws {
        guard endpoint(named: name) != nil else { throw UnknownEndpoint(name: name, known: endpoints.map(\.name)) }
        faults.withLockedValue { _ = $0.insert(name) }
    }

    /// The endpoints with a failure armed.
    public var armedFaults: [String] { faults.withLockedValue { $0.sorted() } }

    /// True once, after ``armFault(_:)``: the failure is used up by the message that meets it.
    func takeFault(_ name: String) -> Bool {
        faults.withLockedValue { $0.remove(name) != nil }
    }

    public struct UnknownEndpoint: Error, CustomStringConvertible {
        public let name: String
        public let known: [String]
        public var description: String {
            "no endpoint named '\(name)'; the endpoints are: \(known.joined(separator: ", "))"
        }
    }

    /// Which pages may open WebSockets (checked on every upgrade).
    public let originPolicy: OriginPolicy

    /// - Parameter only: the names to switch on; nil switches all on.
    public init(
        endpoints: [Endpoint], connections: LiveConnections = LiveConnections(), only: [String]? = nil, originPolicy: OriginPolicy = OriginPolicy()
    ) throws {
        self.endpoints = endpoints
        self.connections = connections
        self.originPolicy = originPolicy
        let names = endpoints.map(\.name)
        for name in only ?? [] where !names.contains(name) {
            throw UnknownEndpoint(name: name, known: names)
        }
        enabled = NIOLockedValueBox(Set(only ?? names))
    }

    public func endpoint(named name: String) -> Endpoint? {
        endpoints.first { $0.name == name }
    }

    public func isEnabled(_ name: String) -> Bool {
        enabled.withLockedValue { $0.contains(name) }
    }

    public var enabledEndpoints: [Endpoint] {
        endpoints.filter { isEnabled($0.name) }
    }

    /// Switches an endpoint on or off; from now on upgrades to it are accepted or refused.
    /// Live connections are left alone: see ``disable(_:)``.
    public func setEnabled(_ name: String, _ on: Bool) throws {
        guard endpoint(named: name) != nil else { throw UnknownEndpoint(name: name, known: endpoints.map(\.name)) }
        enabled.withLockedValue { set in
            if on { set.insert(name) } else { set.remove(name) }
        }
    }

    /// Switches an endpoint off and closes its live connections with 1001 "going away".
    /// - Returns: how many connections were closed.
    @discardableResult
    public func disable(_ name: String) async throws -> Int {
        try setEnabled(name, false)
        return await connections.closeAll(endpoint: name, code: .goingAway, reason: Self.switchedOffReason(name))
    }

    public static func switchedOffReason(_ name: String) -> String { "endpoint \(name) switched off" }

    public enum Resolution<Route: Sendable>: Sendable {
        case route(Endpoint, Route, parameters: [String: String])
        case switchedOff(Endpoint)
        /// The path exists, but not for this method; the methods it takes.
        case methodNotAllowed([String])
        case notFound
    }

    /// Finds the WebSocket route for a path (its query is ignored); the most specific pattern wins.
    public func resolveWebSocket(path: String) -> Resolution<WebSocketRoute> {
        resolve(path: path, routes: endpoints.flatMap { endpoint in endpoint.webSocketRoutes.map { (endpoint, $0, $0.pattern) } })
    }

    /// Finds the HTTP twin for a method and path; the most specific pattern wins.
    public func resolveHTTP(method: String, path: String) -> Resolution<HTTPRoute> {
        let all = endpoints.flatMap { endpoint in endpoint.httpRoutes.map { (endpoint, $0, $0.pattern) } }
        let forMethod = all.filter { $0.1.method.rawValue == method }
        let found = resolve(path: path, routes: forMethod)
        guard case .notFound = found else { return found }
        let allowed = httpMethods(path: path)
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed)
    }

    /// The endpoint a request target belongs to, WebSocket route or HTTP twin, on or off; `/` is
    /// the playground page.
    public func endpointName(target: String) -> String? {
        let path = Self.stripQuery(target)
        if path == "/" { return "playground" }
        switch resolveWebSocket(path: path) {
        case .route(let endpoint, _, _), .switchedOff(let endpoint): return endpoint.name
        default: break
        }
        // The most specific pattern, whatever the method: /http/dashboard is the dashboard's, not /http/{client_id}.
        let twins = endpoints.flatMap { endpoint in endpoint.httpRoutes.filter { $0.pattern.match(path) != nil }.map { (endpoint.name, $0.pattern.specificity) } }
        return twins.max { $0.1 < $1.1 }?.0
    }

    /// The methods the HTTP twins at `path` take (switched on or not), sorted; empty when none is there.
    public func httpMethods(path: String) -> [String] {
        let path = Self.stripQuery(path)
        let all = endpoints.flatMap { endpoint in endpoint.httpRoutes.filter { $0.pattern.match(path) != nil }.map(\.method.rawValue) }
        return Array(Set(all)).sorted()
    }

    private func resolve<Route>(path: String, routes: [(Endpoint, Route, PathPattern)]) -> Resolution<Route> {
        let path = Self.stripQuery(path)
        var best: (endpoint: Endpoint, route: Route, pattern: PathPattern, parameters: [String: String])?
        for (endpoint, route, pattern) in routes {
            guard let parameters = pattern.match(path) else { continue }
            if best == nil || pattern.specificity > best!.pattern.specificity {
                best = (endpoint, route, pattern, parameters)
            }
        }
        guard let best else { return .notFound }
        return isEnabled(best.endpoint.name) ? .route(best.endpoint, best.route, parameters: best.parameters) : .switchedOff(best.endpoint)
    }

    static func stripQuery(_ path: String) -> String {
        path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
    }

    /// The lines that list what is on, for 404 pages.
    public func describeEnabled() -> [String] {
        let on = enabledEndpoints
        guard !on.isEmpty else { return ["(no endpoint is switched on)"] }
        let width = on.map(\.name.count).max() ?? 0
        return on.flatMap { endpoint in
            endpoint.webSocketRoutes.map { endpoint.name.padding(width) + "  WS        " + $0.pattern.description }
                + endpoint.httpRoutes.map { endpoint.name.padding(width) + "  " + $0.method.rawValue.padding(8) + "  " + $0.pattern.description }
        }
    }
}


/// Live server-side WebSocket connections, so that switching an endpoint off or stopping the
/// server can close them with a proper close frame instead of dropping them.
public final class LiveConnections: Sendable {
    struct Connection: Sendable {
        let endpoint: String
        /// Sends a close frame.
        let close: @Sendable (CloseCode, String) async -> Void
        /// Drops the TCP connection: for a peer that does not answer the close.
        let drop: @Sendable () async -> Void
        let finished: SessionEnd
        /// Served by a ``ReplyingSession`` on its event loop, with no session task.
        var onEventLoop = false
    }

    private let state = NIOLockedValueBox<(next: Int, open: [Int: Connection])>((0, [:]))

    public init() {}

    public var count: Int { state.withLockedValue { $0.open.count } }

    public func count(endpoint: String) -> Int {
        state.withLockedValue { $0.open.values.filter { $0.endpoint == endpoint }.count }
    }

    /// How many of `endpoint`'s connections are served on their event loop (``ReplyingSession``).
    public func countOnEventLoop(endpoint: String) -> Int {
        state.withLockedValue { $0.open.values.filter { $0.endpoint == endpoint && $0.onEventLoop }.count }
    }

    /// Runs `session` as a registered connection; it is removed when the session ends.
    func run(
        endpoint: String,
        close: @escaping @Sendable (CloseCode, String) async -> Void,
        drop: @escaping @Sendable () async -> Void,
        session: () async throws -> Void
    ) async rethrows {
        let id = register(endpoint: endpoint, close: close, drop: drop, onEventLoop: false)
        defer { unregister(id) }
        try await session()
    }

    /// Registers a connection; ``unregister(_:)`` once it has closed. - Returns: its id here.
    func register(
        endpoint: String, close: @escaping @Sendable (CloseCode, String) async -> Void, drop: @escaping @Sendable () async -> Void,
        onEventLoop: Bool
    ) -> Int {
        state.withLockedValue { state in
            let id = state.next
            state.next += 1
            state.open[id] = Connection(endpoint: endpoint, close: close, drop: drop, finished: SessionEnd(), onEventLoop: onEventLoop)
            return id
        }
    }

    func unregister(_ id: Int) {
        state.withLockedValue { $0.open.removeValue(forKey: id) }?.finished.finish()
    }

    /// Sends a close frame on every matching connection and waits (up to `timeout`) for their
    /// sessions to end; a connection still open then is dropped. - Returns: how many were closed.
    @discardableResult
    public func closeAll(endpoint: String? = nil, code: CloseCode, reason: String, timeout: Duration = .seconds(3)) async -> Int {
        let targets = state.withLockedValue { state in
            state.open.values.filter { endpoint == nil || $0.endpoint == endpoint }
        }
        await withTaskGroup(of: Void.self) { group in
            for connection in targets {
                group.addTask {
                    await finish(within: timeout) { await connection.close(code, reason) }
                    await connection.finished.wait(timeout: timeout)
                    if !connection.finished.isFinished { await connection.drop() }
                }
            }
        }
        return targets.count
    }
}

/// A one-shot "this session has ended" signal that any number of tasks can wait on.
final class SessionEnd: Sendable {
    private struct State {
        var done = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = NIOLockedValueBox(State())

    var isFinished: Bool { state.withLockedValue { $0.done } }

    func finish() {
        let waiters = state.withLockedValue { state in
            state.done = true
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        waiters.forEach { $0.resume() }
    }

    /// Returns when the session has ended or `timeout` has passed, whichever is first.
    func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitUntilFinished() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitUntilFinished() async {
        let id = state.withLockedValue { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLockedValue { state in
                    if state.done || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
