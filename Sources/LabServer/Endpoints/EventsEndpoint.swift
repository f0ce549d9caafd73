import WireProtocol

extension Endpoint {
    /// The guide's SSE endpoint: `GET /events` streams the user's notifications as Server-Sent
    /// Events — one-way, plain HTTP, reconnecting by itself.
    ///
    /// - The user comes from the token: `?token=…` or `Authorization: Bearer …`. (A browser's
    ///   `EventSource` cannot set headers, so browsers use the query parameter.)
    /// - `retry:` is sent once; each notification is one event with an `id:`; a `: heartbeat`
    ///   comment goes out every 15 s so that proxies and dead connections are noticed.
    /// - Reconnecting with `Last-Event-ID: N` delivers every notification after N, none twice;
    ///   without it, the stream starts with whatever the user has not had yet.
    /// - `Cache-Control: no-cache` and `X-Accel-Buffering: no` stop proxies from holding events.
    static func events(_ lab: LabContext) -> Endpoint {
        Endpoint(
            name: "events",
            summary: "Server-Sent Events: your notifications as they happen, resumable with Last-Event-ID",
            guideSection: "Server-Side Push Notifications (SSE)",
            webSocketRoutes: [],
            httpRoutes: [
                HTTPRoute(.get, "/events") { exchange in
                    let user = try await lab.requireUser(exchange)
                    // Without Last-Event-ID: whatever the user has not had yet.
                    return await lab.notifications.topic(for: user.name).eventStream(for: user.name, after: try exchange.lastEventID(), lab: lab)
                }
            ]
        )
    }
}

extension Topic {
    /// Follows this topic as Server-Sent Events: `retry:` once, the entries after `after` (nil:
    /// those no receiver has had yet), then each new one with its id, and a `: heartbeat` comment
    /// every ``LabLimits/heartbeatInterval`` so that proxies and dead connections are noticed.
    func eventStream(for name: String, after: Int?, lab: LabContext) async -> HTTPReply {
        let stream = EventStreamReceiver(name: name)
        stream.write("retry: \(lab.limits.sseRetry)\n\n")
        for entry in add(stream, catchingUpAfter: after) {
            await stream.deliver(entry, mode: lab.broadcastMode)
        }
        let heartbeat = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: lab.limits.heartbeatInterval)
                stream.write(SSEEvent.comment("heartbeat"))
            }
        }
        stream.whenGone {
            heartbeat.cancel()
            self.remove(stream)
        }
        return stream.reply
    }
}

extension String {
    func trimmingCharacters(in character: Character) -> String {
        String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
