import Foundation
import WireProtocol

extension ComparisonReport {
    /// The options in words, for the table's title.
    public var headline: String {
        let count = options.count(for: scenario)
        let seconds = options.duration.spoken
        let arrivals = options.randomArrivals ? "at random times (seed \(options.seed))" : "evenly spread"
        let work: String = switch scenario {
        case .echo: "\(count) echo exchanges"
        case .predict: "\(count) predictions"
        case .chat: "\(count) chat messages from another client over \(seconds), \(arrivals)"
        case .notifications: "\(count) orders shipped over \(seconds), \(arrivals)"
        case .dashboard: "metrics for \(seconds)"
        case .job: "a training job of \(count) epochs"
        }
        let polling = scenario.transports.contains(.shortPolling) ? "; short polling every \(options.interval.spoken)" : ""
            + (options.deflate ? "; WebSocket with permessage-deflate" : "") + (options.tls ? "; over TLS (wss://, https://)" : "")
        guard interrupted else { return "compare \(scenario.rawValue) · \(work)\(polling) · \(target)" }
        // Stopped: the planned work was not done; say what ran, and for how long.
        let ran = results.map { result in
            let seconds = Duration.milliseconds((result.elapsed.seconds * 10).rounded() * 100).spoken
            return "\(result.transport.title) for \(seconds)" + (result.failure == nil ? "" : " (cut off)")
        }
        return "compare \(scenario.rawValue) · stopped by Ctrl-C: measured \(ran.isEmpty ? "nothing" : ran.joined(separator: ", "))"
            + " of the planned \(work)\(polling) · \(target)"
    }

    /// The table, transports side by side when `width` allows, one after another otherwise.
    public func table(width: Int = 100) -> [String] {
        let rows = self.rows
        // Fixed widths, so that a delay that takes a digit more does not move every column.
        let labelWidth = 19
        let columnWidth = 15
        var lines = [headline]
        if labelWidth + columnWidth * results.count <= width {
            lines.append("".padding(labelWidth) + results.map { $0.transport.title.padding(columnWidth) }.joined().trimmingTrailingSpaces)
            for row in rows {
                lines.append((row.label.padding(labelWidth) + row.cells.map { $0.padding(columnWidth) }.joined()).trimmingTrailingSpaces)
            }
        } else {
            for (index, result) in results.enumerated() {
                lines.append(result.transport.title)
                for row in rows where !row.cells[index].isEmpty {
                    lines.append("  " + row.label.padding(labelWidth) + row.cells[index])
                }
            }
        }
        return lines + notes.flatMap { wrapWords($0, width: width) }
    }

    struct Row {
        var label: String
        var cells: [String]
    }

    /// Every row: one cell per transport, with the model's value beside the measured one.
    var rows: [Row] {
        allRows.filter { row in !row.cells.allSatisfy { $0 == "–" } }
    }

    private var allRows: [Row] {
        let expectations = results.map { Expectation.model(scenario, $0.transport, options: options, measured: $0.measured) }
        func row(_ label: String, _ cell: (TransportResult, Expectation) -> String) -> Row {
            Row(label: label, cells: zip(results, expectations).map(cell))
        }
        func withModel(_ measured: String, _ model: String?) -> String {
            model.map { "\(measured) (≈ \($0))" } ?? measured
        }
        func delay(_ p: Double) -> (TransportResult, Expectation) -> String {
            { result, _ in result.deliveries.delays.percentile(p).map(formatDelay) ?? "–" }
        }
        /// The model's delay, on a row of its own under the measured one.
        func model(_ value: KeyPath<Expectation, Duration?>) -> [Row] {
            let cells = expectations.map { $0[keyPath: value].map { "≈ " + formatDelay($0) } ?? "" }
            return cells.allSatisfy(\.isEmpty) ? [] : [Row(label: "  model", cells: cells)]
        }
        /// With --deflate: the payload had its compressed messages gone as they were (measured:
        /// the dissector inflated them); equal to the payload where nothing was compressed.
        func inflatedRow(_ direction: Direction) -> Row {
            row("  inflated") { result, _ in options.deflate ? String(result.measured.payloadInflated(direction)) : "–" }
        }
        let delayName = scenario.measuresRoundTrips ? "round trip" : "delay"
        return [
            row("TCP connections") { result, _ in String(result.measured.connections) },
            row("HTTP requests") { result, expectation in withModel(String(result.measured.requests), expectation.requests.map(String.init)) },
            row("bytes up") { result, _ in String(result.measured.ledger.up.total) },
            row("  overhead") { result, _ in String(result.measured.overhead(.up)) },
            row("  payload") { result, _ in String(result.measured.payload(.up)) },
            inflatedRow(.up),
            row("bytes down") { result, _ in String(result.measured.ledger.down.total) },
            row("  overhead") { result, _ in String(result.measured.overhead(.down)) },
            row("  payload") { result, _ in String(result.measured.payload(.down)) },
            inflatedRow(.down),
            // Over TLS: what the sockets carried, measured under the TLS handler, beside the decrypted rows above.
            row("TLS on the wire") { result, _ in
                guard let up = result.measured.tlsUp, let down = result.measured.tlsDown else { return "–" }
                return String(up.bytes + down.bytes)
            },
            row("  TLS overhead") { result, _ in result.measured.tlsAdded.map { "+\($0)" } ?? "–" },
            row("  TLS records") { result, _ in
                guard let up = result.measured.tlsUp, let down = result.measured.tlsDown else { return "–" }
                return String(up.records + down.records)
            },
            row("overhead share") { result, _ in
                let total = result.measured.ledger.total
                let overhead = result.measured.overhead(.up) + result.measured.overhead(.down)
                return total > 0 ? String(format: "%.0f%%", 100 * Double(overhead) / Double(total)) : "–"
            },
            row("bytes per message") { result, _ in
                result.deliveries.delivered > 0 ? String(result.measured.ledger.total / result.deliveries.delivered) : "–"
            },
            row("empty responses") { result, expectation in
                [.shortPolling, .longPolling].contains(result.transport)
                    ? withModel(String(result.deliveries.emptyResponses), expectation.emptyResponses.map(String.init)) : "–"
            },
        ] + [row("\(delayName) p50", delay(50))] + model(\.delayMedian) + [
            row("\(delayName) p95", delay(95)),
            row("\(delayName) max", delay(100)),
        ] + model(\.delayMax) + [
            row(scenario == .dashboard ? "updates received" : "delivered / sent") { result, _ in
                scenario == .dashboard ? String(result.deliveries.delivered) : "\(result.deliveries.delivered)/\(result.deliveries.sent)"
            },
        ]
    }

    /// What the numbers are, and anything that went wrong.
    var notes: [String] {
        var notes = [
            "overhead = HTTP heads, chunk framing, WebSocket frame headers, SSE field names and line ends; payload = bodies, frame payloads, SSE data values",
            "\(scenario.measuresRoundTrips ? "round trip" : "delay") = \(scenario.delayOrigin.replacingOccurrences(of: "round trip: ", with: ""))",
            "(≈ …) and model: what a simple model predicts. "
                + (scenario.measuresRoundTrips
                    ? "Each exchange is one request and one response, on one kept-alive connection."
                    : "A push arrives at once (≈ 0: what is measured is the server's own work and loopback); a short poll leaves an event waiting for the next tick; a long poll answers at once, then is asked again."),
        ]
        if options.tls {
            notes.append(
                "over TLS: bytes up and down are the decrypted HTTP and WebSocket bytes; TLS on the wire is what the sockets carried (every record, measured by a tap under the TLS handler), "
                    + "TLS overhead the difference: each connection's TLS handshake with the certificate, then 5-byte record headers and 16-byte tags; overhead share leaves TLS out"
            )
        }
        for result in results where result.transport == .webSocket {
            let model = Expectation.model(scenario, .webSocket, options: options, measured: result.measured).frameHeaders ?? 0
            let measured = result.measured.ledger.up.frameHeaders + result.measured.ledger.down.frameHeaders
            let compressedLengths = options.deflate ? " (compressed, with permessage-deflate)" : ""
            notes.append(
                "WebSocket frame headers: \(measured) B measured; model: 2 B × \(frames(result.measured.ledger.down.frames, "server")) + 6 B × \(frames(result.measured.ledger.up.frames, "masked client")) = \(model) B"
                    + (measured == model ? "" : " (a payload\(compressedLengths) of 126 bytes or more needs 2 more length bytes, of 64 KiB or more 8)")
            )
            if options.deflate {
                let counts = result.measured
                func share(_ direction: Direction) -> String {
                    let (wire, messages) = (counts.compressed(direction), counts.inflated(direction))
                    return "\(direction == .up ? "up" : "down") \(wire) B on the wire carried \(messages) B of messages (\(Int((Double(wire) * 100 / Double(messages)).rounded())) %)"
                }
                notes.append(
                    counts.inflatedPayload == 0
                        ? "WebSocket: permessage-deflate offered, no compressed message (declined, or nothing sent)"
                        : "WebSocket payload with permessage-deflate, measured: " + [Direction.up, .down].filter { counts.inflated($0) > 0 }.map(share).joined(separator: ", ")
                            + "; the payload rows count the wire's bytes, the inflated rows what the messages weighed before compression (both measured). "
                            + "The model predicts frame headers only: RSV1 is a bit of the same header, so compression leaves their size as modelled; it has no figure for payloads, compressed or not"
                )
            }
        }
        if let helpers = results.first?.helpers, helpers.connections > 0 {
            let each = results.map { "\($0.helpers.requests) requests, \($0.helpers.ledger.total) B" }
            let same = Set(each).count == 1
            notes.append("not in the table, the helpers' connections (\(helperRole)): " + (same ? each[0] + " per run" : each.joined(separator: " · ")))
        }
        for result in results {
            if result.deliveries.repeated > 0 { notes.append("\(result.transport.title): \(result.deliveries.repeated) messages arrived twice") }
            if result.deliveries.delivered < result.deliveries.sent {
                notes.append("\(result.transport.title): \(result.deliveries.sent - result.deliveries.delivered) of \(result.deliveries.sent) messages never arrived")
            }
            if let failure = result.failure { notes.append("\(result.transport.title) stopped early: \(failure)") }
        }
        if interrupted { notes.append("interrupted: the transports not shown did not run") }
        return notes
    }

    private func frames(_ count: Int, _ kind: String) -> String {
        "\(count) \(kind) frame\(count == 1 ? "" : "s")"
    }

    private var helperRole: String {
        switch scenario {
        case .chat: "the sender's POSTs and a GET for the last id"
        case .notifications: "logins, creating and shipping orders"
        case .job: "POST /jobs/train"
        case .echo, .predict, .dashboard: "none"
        }
    }

    // MARK: JSON

    /// Machine-readable results: every measured number, and the model's where it has one.
    public var json: JSON {
        let expectations = results.map { Expectation.model(scenario, $0.transport, options: options, measured: $0.measured) }
        func milliseconds(_ duration: Duration?) -> JSON {
            duration.map { .number(($0.milliseconds * 1000).rounded() / 1000) } ?? .null
        }
        func counts(_ counts: Meter.Counts) -> JSON {
            func side(_ direction: Direction) -> JSON {
                .object([
                    ("total", .number(Double(counts.ledger[direction].total))), ("overhead", .number(Double(counts.overhead(direction)))),
                    ("payload", .number(Double(counts.payload(direction)))),
                ])
            }
            return .object([
                ("tcp_connections", .number(Double(counts.connections))), ("http_requests", .number(Double(counts.requests))),
                ("bytes_up", side(.up)), ("bytes_down", side(.down)),
            ])
        }
        /// Over TLS, the wire's bytes and records each way and what TLS added; null over plain TCP.
        func tls(_ counts: Meter.Counts) -> JSON {
            guard let up = counts.tlsUp, let down = counts.tlsDown, let added = counts.tlsAdded else { return .null }
            return .object([
                ("wire_bytes_up", .number(Double(up.bytes))), ("wire_bytes_down", .number(Double(down.bytes))),
                ("records_up", .number(Double(up.records))), ("records_down", .number(Double(down.records))),
                ("overhead", .number(Double(added))),
            ])
        }
        /// With --deflate, the compressed messages' payload each way as the wire carried it and as
        /// it inflated; null without --deflate.
        func deflate(_ counts: Meter.Counts) -> JSON {
            guard options.deflate else { return .null }
            return .object([
                ("compressed_up", .number(Double(counts.compressedUp))), ("inflated_up", .number(Double(counts.inflatedUp))),
                ("compressed_down", .number(Double(counts.compressedDown))), ("inflated_down", .number(Double(counts.inflatedDown))),
            ])
        }
        let transports: [JSON] = zip(results, expectations).map { result, expectation in
            let delays = result.deliveries.delays
            var members: [(String, JSON)] = [("transport", .string(result.transport.rawValue))]
            if case .object(let measured) = counts(result.measured) { members += measured }
            members.append(("tls", tls(result.measured)))
            members.append(("deflate", deflate(result.measured)))
            members += [
                ("empty_responses", .number(Double(result.deliveries.emptyResponses))),
                ("delay_ms", .object([("p50", milliseconds(delays.percentile(50))), ("p95", milliseconds(delays.percentile(95))), ("max", milliseconds(delays.last))])),
                ("delivered", .number(Double(result.deliveries.delivered))), ("sent", .number(Double(result.deliveries.sent))),
                ("repeated", .number(Double(result.deliveries.repeated))),
                ("elapsed_ms", milliseconds(result.elapsed)),
                ("expected", .object([
                    ("http_requests", expectation.requests.map { .number(Double($0)) } ?? .null),
                    ("empty_responses", expectation.emptyResponses.map { .number(Double($0)) } ?? .null),
                    ("delay_ms_p50", milliseconds(expectation.delayMedian)), ("delay_ms_max", milliseconds(expectation.delayMax)),
                    ("frame_header_bytes", expectation.frameHeaders.map { .number(Double($0)) } ?? .null),
                ])),
                ("helpers", counts(result.helpers)),
                ("failure", result.failure.map { .string($0) } ?? .null),
            ]
            return .object(members)
        }
        return .object([
            ("scenario", .string(scenario.rawValue)), ("target", .string(target.description)),
            ("duration_s", .number(options.duration.milliseconds / 1000)), ("interval_s", .number(options.interval.milliseconds / 1000)),
            ("count", .number(Double(options.count(for: scenario)))), ("delay_measured", .string(scenario.delayOrigin)),
            ("tls", .bool(options.tls)),
            ("interrupted", .bool(interrupted)), ("results", .array(transports)),
        ])
    }
}

/// Milliseconds with the precision that matters: 0.42 ms on loopback, 480 ms for a poll.
func formatDelay(_ duration: Duration) -> String {
    let ms = duration.milliseconds
    if ms == 0 { return "0" }
    if ms < 10 { return String(format: "%.2f ms", ms) }
    if ms < 100 { return String(format: "%.1f ms", ms) }
    return String(format: "%.0f ms", ms)
}

extension String {
    var trimmingTrailingSpaces: String {
        String(reversed().drop { $0 == " " }.reversed())
    }
}
