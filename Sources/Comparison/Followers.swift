import Foundation
import NIOConcurrencyHelpers
import WireClient
import WireProtocol

/// The measured client's side of a push scenario: it hears about new entries over one transport
/// and hands each decoded message on with the time it arrived. The same log, four ways.
struct Follower: Sendable {
    var meter: Meter
    var headers: [(String, String)] = []
    /// Called for every message the server sends (poll answers are unwrapped first).
    var onMessage: @Sendable (JSON, Date) -> Void
    var deliveries: Deliveries

    /// Reads text frames from a WebSocket until it closes (or the run closes it).
    func webSocket(_ path: String) async throws -> Task<Void, Never> {
        let client = try await meter.webSocket(path)
        return Task {
            for await frame in client.frames where frame.opcode == .text {
                let text = String(decoding: frame.unmaskedData.readableBytesView, as: UTF8.self)
                if let message = try? JSON(parsing: text) { onMessage(message, Date()) }
            }
        }
    }

    /// Reads an event stream until it ends (or the run closes its connection). The stream's events
    /// are reported as they are parsed from each piece of body the tap saw.
    func eventStream(_ path: String, lastEventID: Int? = nil) async throws -> Task<Void, Never> {
        let connection = try await meter.http(eventStream: true)
        var headers = self.headers + [("Accept", "text/event-stream")]
        if let lastEventID { headers.append(("Last-Event-ID", String(lastEventID))) }
        let parser = NIOLockedValueBox(SSEParser())
        let onMessage = self.onMessage
        return Task { [headers] in
            _ = try? await connection.request(method: "GET", path: path, headers: headers) { body in
                let now = Date()
                for case .event(let event) in parser.withLockedValue({ $0.feed(body) }) {
                    if let message = try? JSON(parsing: event.data) { onMessage(message, now) }
                }
            }
        }
    }

    /// Polls `path?since=N` at fixed ticks (`start`, `start + interval`, …, up to and including
    /// `last`) until `stop` says so. `wait` makes each poll a long poll: `&wait=SECONDS`, and the
    /// next one goes out at once. Ticks, not "an interval after the answer", so that the number of
    /// polls does not depend on how long answers take.
    func poll(
        _ path: String, since first: Int, every interval: Duration?, wait: Duration?,
        start: ContinuousClock.Instant = .now, last: ContinuousClock.Instant? = nil, stop: @escaping @Sendable () -> Bool
    ) async throws {
        let connection = try await meter.http()
        var since = first
        var tick = start
        try await Task.sleep(until: start)
        while !stop() && !Task.isCancelled && tick <= (last ?? tick) {
            var query = "\(path)\(path.contains("?") ? "&" : "?")since=\(since)"
            if let wait { query += "&wait=\(Int(wait.milliseconds / 1000))" }
            let response = try await connection.request(method: "GET", path: query, headers: headers)
            let now = Date()
            guard response.status == 200, let answer = try? JSON(parsing: String(decoding: response.body, as: UTF8.self)) else {
                throw ComparisonError("GET \(query) answered \(response.status) \(response.reason)")
            }
            guard case .array(let messages)? = answer["messages"] ?? answer["entries"] else {
                throw ComparisonError("GET \(query) answered without a \"messages\" list")
            }
            if messages.isEmpty { deliveries.emptyResponse() }
            for message in messages { onMessage(message, now) }
            since = answer["last_id"]?.numberValue.map { Int($0) } ?? since
            if let interval {
                tick += interval
                try await Task.sleep(until: tick)
            }
        }
    }
}
