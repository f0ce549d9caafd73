import WireProtocol

/// What a simple model predicts for a run, shown beside what was measured: where they agree the
/// learner sees the theory hold; where they do not, the notes say why.
public struct Expectation: Sendable, Equatable {
    public var requests: Int?
    public var emptyResponses: Int?
    public var delayMedian: Duration?
    public var delayMax: Duration?
    /// WebSocket frame headers, both ways: 2 bytes per server frame, 6 per (masked) client frame,
    /// when every payload is under 126 bytes.
    public var frameHeaders: Int?

    /// The model for `transport` in `scenario`, given the run's options and the counts it saw.
    public static func model(
        _ scenario: Scenario, _ transport: Transport, options: ComparisonOptions, measured: Meter.Counts
    ) -> Expectation {
        var expectation = Expectation()
        let count = options.count(for: scenario)
        let oneTrip = Duration.zero
        switch transport {
        case .webSocket:
            expectation.requests = 1
            expectation.frameHeaders = 2 * measured.ledger.down.frames + 6 * measured.ledger.up.frames
            if !scenario.measuresRoundTrips { (expectation.delayMedian, expectation.delayMax) = (oneTrip, oneTrip) }
        case .eventStream:
            expectation.requests = 1
            (expectation.delayMedian, expectation.delayMax) = (oneTrip, oneTrip)
        case .requestResponse:
            expectation.requests = count
        case .longPolling:
            // Each event ends the poll that was waiting for it, and one more is waiting at the end.
            if scenario == .chat || scenario == .notifications {
                expectation.requests = count + 1
                // Empty only if nothing happens for a whole wait (30 s by default).
                expectation.emptyResponses = 0
            }
            (expectation.delayMedian, expectation.delayMax) = (oneTrip, oneTrip)
        case .shortPolling:
            let interval = options.interval.milliseconds
            let polls = Int((options.duration.milliseconds / interval).rounded(.down)) + 1
            switch scenario {
            case .chat, .notifications:
                // Polls go out at 0, I, 2I, …: an event at time t waits for the next one.
                let arrivals = options.arrivals(for: scenario).map { $0.milliseconds }
                let waits = arrivals.map { t in Duration.milliseconds(Int64(((t / interval).rounded(.up) * interval - t).rounded())) }.sorted()
                let answered = Set(arrivals.map { ($0 / interval).rounded(.up) }).count
                expectation.requests = polls
                expectation.emptyResponses = polls - answered
                expectation.delayMedian = waits.percentile(50)
                expectation.delayMax = waits.last
            case .job:
                // Progress comes every tenth of a second: on average half an interval old.
                expectation.delayMedian = options.interval / 2
                expectation.delayMax = options.interval
            case .dashboard:
                // Each poll gets a snapshot made for it: one trip old, however rarely it asks.
                expectation.requests = Int((options.duration.milliseconds / interval).rounded(.up))
                (expectation.delayMedian, expectation.delayMax) = (oneTrip, oneTrip)
            case .echo, .predict:
                break
            }
        }
        return expectation
    }
}
