import WireProtocol

/// A `compare` command line, read the same way in the REPL and by `wirelab compare`.
public struct ComparisonRequest: Sendable, Equatable {
    public var scenario: Scenario
    public var options = ComparisonOptions()
    /// Print machine-readable results instead of the table.
    public var json = false
    /// Another wirelab to run against, instead of the lab in this process.
    public var target: ComparisonTarget?

    public static let usage =
        "compare echo|chat|dashboard|notifications|predict|job [--duration 10s] [--interval 1s] [--count N] [--random|--steady] [--seed N] [--deflate] [--tls] [--json] [--url http://HOST:PORT]"

    public init(scenario: Scenario) {
        self.scenario = scenario
    }

    public init(parsing words: [String]) throws(ComparisonError) {
        var words = words[...]
        guard let name = words.popFirst() else {
            throw ComparisonError("compare needs a scenario: \(Scenario.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let scenario = Scenario(rawValue: name.lowercased()) else {
            throw ComparisonError("no scenario '\(name)'; the scenarios are: \(Scenario.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.init(scenario: scenario)
        func value(_ option: String) throws(ComparisonError) -> String {
            guard let value = words.popFirst() else { throw ComparisonError("\(option) needs a value") }
            return value
        }
        /// - Parameter examples: durations inside the range, so that the message never offers
        ///   one it would refuse.
        func duration(_ option: String, _ range: ClosedRange<Duration>, examples: String) throws(ComparisonError) -> Duration {
            let text = try value(option)
            guard let duration = parseDuration(text) else {
                throw ComparisonError("\(option) takes a duration such as \(examples), not '\(text)'")
            }
            guard range.contains(duration) else {
                let side = duration < range.lowerBound ? "shorter than \(range.lowerBound.spoken)" : "longer than \(range.upperBound.spoken)"
                throw ComparisonError("\(option) is from \(range.lowerBound.spoken) to \(range.upperBound.spoken); \(text) is \(side)")
            }
            return duration
        }
        while let word = words.popFirst() {
            switch word {
            case "--duration": options.duration = try duration(word, .seconds(1)...(.seconds(600)), examples: "10s or 30s")
            case "--interval": options.interval = try duration(word, .milliseconds(50)...(.seconds(60)), examples: "1s or 500ms")
            case "--count":
                let text = try value(word)
                guard let count = Int(text), (1...1000).contains(count) else { throw ComparisonError("--count takes a whole number from 1 to 1000, not '\(text)'") }
                if scenario == .job, count > 300 { throw ComparisonError("a training job has at most 300 epochs") }
                options.count = count
            case "--random": options.randomArrivals = true
            case "--steady": options.randomArrivals = false
            case "--seed":
                let text = try value(word)
                guard let seed = UInt64(text) else { throw ComparisonError("--seed takes a whole number, not '\(text)'") }
                options.seed = seed
            case "--deflate": options.deflate = true
            case "--tls": options.tls = true
            case "--json": json = true
            case "--url": target = try ComparisonTarget(url: try value(word))
            default: throw ComparisonError("unexpected '\(word)'")
            }
        }
        if options.tls, target != nil {
            // Its certificate is one this process made and so can trust; another's is not.
            throw ComparisonError("--tls runs against a lab of its own, whose certificate it trusts; leave out --url")
        }
    }
}
