import Hummingbird

/// What the lab answers to plain HTTP requests that no route takes: a 404 that lists what is on,
/// or a 426 when the path is a WebSocket endpoint asked for without `Upgrade: websocket`.
struct LabFallback<Context: RequestContext>: RouterMiddleware {
    let registry: EndpointRegistry

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let path = request.uri.path
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
            case .notFound where path == "/":
                return Self.text(.ok, "wirelab lab server.\n" + listing)
            case .notFound:
                return Self.text(.notFound, "Nothing at \(path).\n" + listing)
            }
        }
    }

    static func text(_ status: HTTPResponse.Status, _ body: String, extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
