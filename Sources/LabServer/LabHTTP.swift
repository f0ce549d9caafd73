import HTTPTypes
import Hummingbird
import NIOCore
import WireProtocol

/// Every plain HTTP request: the endpoints' HTTP twins, resolved with the same patterns and
/// switches as their WebSocket routes; otherwise a 404 that lists what is on, or a 426 when the
/// path is a WebSocket endpoint asked for without `Upgrade: websocket`.
struct LabHTTP: RouterMiddleware {
    typealias Context = LabRequestContext
    let registry: EndpointRegistry
    let lab: LabContext
    var limits: LabLimits { lab.limits }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let cors = CrossOrigin.decide(origin: request.headers[.origin], policy: registry.originPolicy)
        var response: Response
        if request.method == .options, let asked = request.headers[.accessControlRequestMethod] {
            response = preflight(request, asking: asked, cors: cors)
        } else {
            response = try await route(request, channel: context.channel)
            switch cors {
            case .notFromAPage: break
            case .allowed(let origin):
                response.headers[.accessControlAllowOrigin] = origin
                response.headers[.vary] = "Origin"
            case .refused(let origin, let reason):
                // The request has run: CORS only keeps the answer from the page.
                lab.announce("CORS: no Access-Control-Allow-Origin for \(request.method.rawValue) \(request.uri.path) from \(origin): \(reason); it ran, but the browser hides the answer from the page")
            }
        }
        // Every answer counts for the dashboard's error rate, whoever produced it.
        lab.metrics.record(error: response.status.code >= 400)
        // Query strings can carry tokens (`/events?token=…`): log lines never show them.
        lab.logger.info("\(request.method.rawValue) \(request.uri.description.redactingQuery) → \(response.status.code)")
        return response
    }

    /// A browser's preflight: may a page from `Origin` send `asking` (and the headers it lists)?
    /// Allowed: 204 with the CORS headers, and the browser sends the real request. Refused: 403
    /// without them, and the browser sends nothing.
    private func preflight(_ request: Request, asking method: String, cors: CrossOrigin.Decision) -> Response {
        let path = request.uri.path
        let methods = registry.httpMethods(path: path)
        let requested = request.headers[.accessControlRequestHeaders]
        let refusal: String?
        switch cors {
        case .notFromAPage: refusal = "a preflight needs an Origin header"
        case .refused(_, let reason): refusal = reason
        case .allowed:
            let unknown = CrossOrigin.unknownHeaders(in: requested)
            if methods.isEmpty {
                refusal = "nothing at \(path) takes HTTP requests"
            } else if !methods.contains(method.uppercased()) {
                refusal = "\(path) takes \(methods.joined(separator: ", ")), not \(method)"
            } else if !unknown.isEmpty {
                refusal = "the lab does not take the header\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")) (it takes \(CrossOrigin.allowedHeaders.joined(separator: ", ")))"
            } else {
                refusal = nil
            }
        }
        if let refusal {
            let origin = request.headers[.origin] ?? "(no Origin)"
            lab.announce("CORS: refused the preflight for \(method) \(path) from \(origin): \(refusal)")
            return Self.text(.forbidden, "Preflight refused: \(refusal). Without CORS headers in this answer the browser does not send the request.\n")
        }
        var headers = HTTPFields()
        headers[.accessControlAllowOrigin] = request.headers[.origin]
        headers[.accessControlAllowMethods] = (methods + ["OPTIONS"]).joined(separator: ", ")
        headers[.accessControlAllowHeaders] = CrossOrigin.allowedHeaders.joined(separator: ", ")
        headers[.accessControlMaxAge] = String(CrossOrigin.maxAge)
        headers[.vary] = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        return Response(status: .noContent, headers: headers, body: .init())
    }

    private func route(_ request: Request, channel: any Channel) async throws -> Response {
        let path = request.uri.path
        switch registry.resolveHTTP(method: request.method.rawValue, path: path) {
        case .route(_, let route, let parameters):
            return await answer(request, route: route, parameters: parameters, channel: channel)
        case .switchedOff(let endpoint):
            return Self.json(HTTPReply(.error("the \(endpoint.name) endpoint is switched off"), status: .serviceUnavailable))
        case .methodNotAllowed(let allowed):
            var response = Self.json(HTTPReply(.error("\(path) takes \(allowed.joined(separator: ", ")), not \(request.method.rawValue)"), status: .methodNotAllowed))
            response.headers[.allow] = allowed.joined(separator: ", ")
            return response
        case .notFound:
            return fallback(path: path, method: request.method)
        }
    }

    private func answer(_ request: Request, route: HTTPRoute, parameters: [String: String], channel: any Channel) async -> Response {
        do {
            let buffer = try await request.body.collect(upTo: limits.maxMessageSize)
            let text = String(buffer: buffer)
            var body: JSON?
            if !text.isEmpty {
                do {
                    body = try JSON(parsing: text)
                } catch {
                    body = nil
                    if route.takesText == false { throw HTTPReply.badRequest("the body is not valid JSON: \(error)") }
                }
            }
            var headers: [String: String] = [:]
            for field in request.headers where headers[field.name.canonicalName] == nil {
                headers[field.name.canonicalName] = field.value
            }
            let exchange = HTTPExchange(
                parameters: parameters, query: parseQuery(request.uri.query.map { Substring($0) }), body: body, text: text, headers: headers,
                peer: channel.remoteAddress?.ipAddress
            )
            let watch = try? await channel.pipeline.handler(type: PeerWatch.self).get()
            // A client that leaves while its request is held (a long poll) frees the handler at
            // once, rather than when the wait runs out, and gets no answer: nobody would read it.
            let handling = Task { try await route.handle(exchange) }
            let leaving = watch?.whenPeerGone {
                handling.cancel()
                channel.close(promise: nil)
            }
            let reply = try await withTaskCancellationHandler { try await handling.value } onCancel: { handling.cancel() }
            watch?.forget(leaving)
            if case .eventStream(_, let continuation) = reply.body, registry.isBlocked(.eventStream) {
                continuation.finish()
                return Self.json(HTTPReply(.error("event streams are blocked here, as by a proxy that does not pass them (in the wirelab REPL: unblock sse)"), status: .forbidden))
            }
            if case .eventStream(_, let continuation) = reply.body, let watch {
                // The client leaving ends the stream at once, not at the next heartbeat.
                watch.whenPeerGone { continuation.finish() }
            }
            return Self.json(reply, streams: lab.eventStreams)
        } catch let reply as HTTPReply {
            return Self.json(reply)
        } catch {
            return Self.json(HTTPReply(.error("the body is larger than \(limits.maxMessageSize) bytes"), status: .contentTooLarge))
        }
    }

    private func fallback(path: String, method: HTTPRequest.Method) -> Response {
        let listing = "Endpoints that are on:\n" + registry.describeEnabled().map { "  \($0)\n" }.joined()
        switch registry.resolveWebSocket(path: path) {
        case .route(let endpoint, _, _):
            return Self.text(
                .upgradeRequired,
                "\(path) is the \(endpoint.name) WebSocket endpoint: the request needs \"Upgrade: websocket\" and \"Connection: Upgrade\".\n",
                extra: [.upgrade: "websocket", .connection: "Upgrade"]
            )
        case .switchedOff(let endpoint):
            return Self.text(.serviceUnavailable, "The \(endpoint.name) endpoint is switched off.\n" + listing)
        case .notFound where path == "/", .methodNotAllowed where path == "/":
            guard method == .get || method == .head, let page = Playground.page else {
                return Self.text(.ok, "wirelab lab server.\n" + listing)
            }
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"], body: .init(byteBuffer: ByteBuffer(bytes: page))
            )
        case .notFound, .methodNotAllowed:
            return Self.text(.notFound, "Nothing at \(path).\n" + listing)
        }
    }

    static func json(_ reply: HTTPReply, streams: OpenEventStreams? = nil) -> Response {
        var extra = HTTPFields()
        for (name, value) in reply.headers {
            if let name = HTTPField.Name(name) { extra.append(HTTPField(name: name, value: value)) }
        }
        switch reply.body {
        case .json(let json):
            var headers: HTTPFields = [.contentType: "application/json"]
            headers.append(contentsOf: extra)
            return Response(status: reply.status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: json.text)))
        case .text(let text):
            return self.text(reply.status, text, extra: extra)
        case .eventStream(let stream, let continuation):
            let headers: HTTPFields = [
                .contentType: "text/event-stream",
                .cacheControl: "no-cache",
                // Tells nginx not to buffer: without it events arrive in bursts, or not at all.
                HTTPField.Name("X-Accel-Buffering")!: "no",
            ]
            return Response(status: reply.status, headers: headers, body: ResponseBody { writer in
                let id = streams?.track(continuation)
                defer { if let id { streams?.untrack(id) } }
                do {
                    for await chunk in stream {
                        try await writer.write(ByteBuffer(string: chunk))
                    }
                    try await writer.finish(nil)
                } catch {
                    continuation.finish()  // the client has gone: tell the producer
                    throw error
                }
            })
        }
    }

    static func text(_ status: HTTPResponse.Status, _ body: String, extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
