import Foundation
import Comparison
import Testing
import WireProtocol

@Suite("compare: the simple model")
struct ExpectationTests {
    @Test("short polling: an event waits for the next tick; the first poll finds nothing")
    func shortPolling() {
        var options = ComparisonOptions()
        options.duration = .seconds(10)
        options.interval = .seconds(1)
        options.count = 10
        options.randomArrivals = false
        let model = Expectation.model(.chat, .shortPolling, options: options, measured: Meter.Counts())
        // Messages at 0.5, 1.5, … 9.5 s; polls at 0, 1, … 10 s.
        #expect(model.requests == 11)
        #expect(model.emptyResponses == 1)
        #expect(model.delayMedian == .milliseconds(500))
        #expect(model.delayMax == .milliseconds(500))
    }

    @Test("short polling slower than the events: several share a poll, fewer are empty")
    func slowPolling() {
        var options = ComparisonOptions()
        options.duration = .seconds(10)
        options.interval = .seconds(5)
        options.count = 10
        options.randomArrivals = false
        let model = Expectation.model(.chat, .shortPolling, options: options, measured: Meter.Counts())
        #expect(model.requests == 3)  // at 0, 5 and 10 s
        #expect(model.emptyResponses == 1)
        #expect(model.delayMax == .milliseconds(4500))
    }

    @Test("long polling: one request per event, and one still held at the end")
    func longPolling() {
        var options = ComparisonOptions()
        options.count = 6
        let model = Expectation.model(.notifications, .longPolling, options: options, measured: Meter.Counts())
        #expect(model.requests == 7)
        #expect(model.delayMedian == .zero)
    }

    @Test("WebSocket: 2 header bytes a server frame, 6 a masked client frame")
    func frameHeaders() {
        var counts = Meter.Counts()
        counts.ledger.down.frames = 10
        counts.ledger.up.frames = 3
        let model = Expectation.model(.chat, .webSocket, options: ComparisonOptions(), measured: counts)
        let expected = 2 * 10 + 6 * 3
        #expect(model.frameHeaders == expected)
        #expect(model.requests == 1)
    }

    @Test("request/response: one request per exchange")
    func requestResponse() {
        var options = ComparisonOptions()
        options.count = 12
        #expect(Expectation.model(.echo, .requestResponse, options: options, measured: Meter.Counts()).requests == 12)
    }

    @Test("percentiles by nearest rank")
    func percentiles() {
        let delays: [Duration] = (1...20).map { .milliseconds($0) }
        #expect(delays.percentile(50) == .milliseconds(10))
        #expect(delays.percentile(95) == .milliseconds(19))
        #expect(delays.percentile(100) == .milliseconds(20))
        #expect([Duration]().percentile(50) == nil)
    }

    @Test("deliveries: first arrival counts, a repeat is reported, a missing one is not delivered")
    func deliveries() {
        let deliveries = Deliveries()
        let start = Date(timeIntervalSince1970: 0)
        deliveries.sent("a", at: start)
        deliveries.sent("b", at: start)
        deliveries.received("a", at: start.addingTimeInterval(0.25))
        deliveries.received("a", at: start.addingTimeInterval(0.5))
        deliveries.expect(["c"])
        let summary = deliveries.summary
        #expect(summary.sent == 3)
        #expect(summary.delivered == 1)
        #expect(summary.repeated == 1)
        #expect(summary.delays == [.milliseconds(250)])
        #expect(!deliveries.hasReceivedAll())
    }
}
