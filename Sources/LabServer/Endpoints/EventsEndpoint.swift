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
                    let lastEventID = try exchange.headers["last-event-id"].map { value -> Int in
                        guard let id = Int(value.trimmingCharacters(in: " ")), id >= 0 else {
                            throw HTTPReply.badRequest("Last-Event-ID must be an event id from this stream, not \"\(value)\"")
                        }
                        return id
                    }
                    let stream = EventStreamReceiver(name: user.name)
                    stream.write("retry: \(lab.limits.sseRetry)\n\n")
                    let topic = lab.notifications.topic(for: user.name)
                    for entry in topic.add(stream, catchingUpAfter: lastEventID) {
                        await stream.deliver(entry, mode: lab.broadcastMode)
                    }
                    let interval = lab.limits.heartbeatInterval
                    let heartbeat = Task {
                        while !Task.isCancelled {
                            try await Task.sleep(for: interval)
                            stream.write(SSEEvent.comment("heartbeat"))
                        }
                    }
                    stream.whenGone {
                        heartbeat.cancel()
                        topic.remove(stream)
                    }
                    return stream.reply
                }
            ]
        )
    }
}

extension String {
    func trimmingCharacters(in character: Character) -> String {
        String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
