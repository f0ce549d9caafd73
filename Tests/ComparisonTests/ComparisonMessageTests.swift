import Testing

@testable import Comparison

@Suite("compare: messages that say what happened")
struct ComparisonMessageTests {
    func refusal(_ words: [String]) -> String {
        do {
            _ = try ComparisonRequest(parsing: words)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test("a duration out of range is called too short or too long, never offered as an example")
    func durationOutOfRange() {
        let short = refusal(["chat", "--duration", "500ms"])
        #expect(short.contains("--duration is from 1 s to 600 s; 500ms is shorter than 1 s"), "\(short)")
        let long = refusal(["chat", "--interval", "90s"])
        #expect(long.contains("90s is longer than 60 s"), "\(long)")
        let unreadable = refusal(["chat", "--duration", "soon"])
        #expect(unreadable.contains("such as 10s or 30s, not 'soon'"), "\(unreadable)")
    }

    @Test("after Ctrl-C the headline says what ran, not the plan as if it had been done")
    func interruptedHeadline() throws {
        let request = try ComparisonRequest(parsing: ["chat"])
        let deliveries = Deliveries.Summary(sent: 3, delivered: 3, repeated: 0, unrelated: 0, emptyResponses: 0, delays: [])
        let ran = TransportResult(
            transport: .webSocket, measured: Meter.Counts(), helpers: Meter.Counts(), deliveries: deliveries, elapsed: .milliseconds(3_420), failure: "interrupted"
        )
        var report = ComparisonReport(scenario: .chat, options: request.options, target: ComparisonTarget(host: "127.0.0.1", port: 8000), results: [ran])
        #expect(report.headline.hasPrefix("compare chat · 10 chat messages"))
        report.interrupted = true
        #expect(report.headline.hasPrefix("compare chat · stopped by Ctrl-C: measured WebSocket for 3.4 s (cut off) of the planned 10 chat messages"), "\(report.headline)")
    }
}
