/// What a lesson step asks to have happened, in a small language:
///
/// ```
/// refused status=404
/// closed client=c1 code=1009 by=server
/// received client=bob type=message from=alice
/// received client=ann type=message chars=500
/// sent form>=16 count=2
/// not received client=ann from=cy
/// ```
///
/// A kind (``Observation/Kind``), then conditions on its parameters: `name=value` (equal),
/// `name~value` (contains), `name>=N` and `name<=N` (numbers). `count=N` asks for at least N
/// such observations; `not` in front asks for none. A value with spaces goes in double quotes.
public struct Check: Sendable, Equatable, CustomStringConvertible {
    public var negated: Bool
    public var kind: Observation.Kind
    public var conditions: [Condition]
    /// At least this many observations must match (1 unless `count=` says otherwise).
    public var count: Int

    public struct Condition: Sendable, Equatable, CustomStringConvertible {
        public enum Comparison: String, Sendable, CaseIterable {
            case equal = "="
            case contains = "~"
            case atLeast = ">="
            case atMost = "<="
        }

        public var name: String
        public var comparison: Comparison
        public var value: String

        public func holds(for observation: Observation) -> Bool {
            guard let actual = observation[name] else { return false }
            switch comparison {
            case .equal: return actual == value
            case .contains: return actual.contains(value)
            case .atLeast, .atMost:
                guard let number = Double(actual), let bound = Double(value) else { return false }
                return comparison == .atLeast ? number >= bound : number <= bound
            }
        }

        public var description: String { name + comparison.rawValue + Check.quoted(value) }

        /// In words, for a learner: "status is 404".
        public var spoken: String {
            switch comparison {
            case .equal: "\(name) is \(value)"
            case .contains: "\(name) contains \"\(value)\""
            case .atLeast: "\(name) is at least \(value)"
            case .atMost: "\(name) is at most \(value)"
            }
        }
    }

    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public init(negated: Bool = false, kind: Observation.Kind, conditions: [Condition] = [], count: Int = 1) {
        self.negated = negated
        self.kind = kind
        self.conditions = conditions
        self.count = count
    }

    /// Reads one check; an unknown kind, an unknown parameter or a malformed condition is a
    /// problem that names what is allowed.
    public static func parse(_ text: String) throws(Problem) -> Check {
        var words = try split(text)[...]
        var negated = false
        if words.first == "not" {
            negated = true
            words = words.dropFirst()
        }
        guard let first = words.popFirst() else { throw Problem(message: "an empty check") }
        guard let kind = Observation.Kind(rawValue: first) else {
            throw Problem(message: "no check named \(first); the checks are: \(Observation.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var check = Check(negated: negated, kind: kind)
        for word in words {
            guard let (name, comparison, value) = condition(in: word) else {
                throw Problem(message: "\(word) is not a condition: write name=value, name~value, name>=N or name<=N")
            }
            if name == "count" {
                guard comparison == .equal, let count = Int(value), count >= 1 else {
                    throw Problem(message: "count takes a whole number of at least 1 (count=3); for none, put not in front of the check")
                }
                guard !negated else { throw Problem(message: "a not check asks for none; count does not go with it") }
                check.count = count
                continue
            }
            guard kind.parameterNames.contains(name) else {
                throw Problem(message: "\(kind.rawValue) has no parameter \(name); it has: \((kind.parameterNames + ["count"]).joined(separator: ", "))")
            }
            if comparison == .atLeast || comparison == .atMost, Double(value) == nil {
                throw Problem(message: "\(word): \(comparison.rawValue) compares numbers, and \(value) is not one")
            }
            check.conditions.append(Condition(name: name, comparison: comparison, value: value))
        }
        return check
    }

    public func matches(_ observation: Observation) -> Bool {
        observation.kind == kind && conditions.allSatisfy { $0.holds(for: observation) }
    }

    public func holds(for observations: some BidirectionalCollection<Observation>) -> Bool {
        let matching = observations.filter(matches).count
        return negated ? matching == 0 : matching >= count
    }

    /// Why it does not hold, in words, with the nearest miss among `observations`: the last one of
    /// the same kind, and the first of its conditions that failed.
    public func shortfall(in observations: some BidirectionalCollection<Observation>) -> String {
        if negated {
            let offending = observations.filter(matches)
            return "this should not have happened, but did: " + (offending.last.map { "\($0)" } ?? "")
        }
        let matching = observations.filter(matches).count
        if matching > 0 { return "happened \(matching) of the \(count) times asked" }
        // The nearest miss: the observation of the kind that fails the fewest conditions (the latest of those).
        let misses = observations.filter { $0.kind == kind }.map { observation in (observation, conditions.count { !$0.holds(for: observation) }) }
        guard let fewest = misses.map(\.1).min(), let near = misses.last(where: { $0.1 == fewest })?.0 else {
            return "nothing of the kind yet: \(kind.explanation)"
        }
        let failed = conditions.first { !$0.holds(for: near) }!
        let actual = near[failed.name].map { "\(failed.name) was \($0)" } ?? "it had no \(failed.name)"
        return "nearest: \(near) · \(actual), wanted \(failed.spoken)"
    }

    public var description: String {
        ((negated ? ["not"] : []) + [kind.rawValue] + conditions.map(\.description) + (count > 1 ? ["count=\(count)"] : [])).joined(separator: " ")
    }

    /// In words, for `check`: "the server refuses a WebSocket upgrade (…) with status is 404".
    public var spoken: String {
        let what = conditions.isEmpty ? "" : ", where " + conditions.map(\.spoken).joined(separator: ", ")
        let times = count > 1 ? " (at least \(count) times)" : ""
        return (negated ? "none of this: " : "") + kind.explanation + what + times
    }

    static func quoted(_ value: String) -> String {
        value.isEmpty || value.contains(" ") || value.contains("\"") ? "\"" + value.replacingOccurrences(of: "\"", with: "\\\"") + "\"" : value
    }

    /// Words split at spaces; double quotes keep spaces in (`text="hi bob"`), `\"` is a quote.
    private static func split(_ text: String) throws(Problem) -> [String] {
        var words: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        var started = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
            } else if quoted && character == "\\" {
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
                started = true
            } else if character == " " && !quoted {
                if started { words.append(current) }
                current = ""
                started = false
            } else {
                current.append(character)
                started = true
            }
        }
        guard !quoted else { throw Problem(message: "a quote is not closed in: \(text)") }
        if started { words.append(current) }
        return words
    }

    private static func condition(in word: String) -> (String, Condition.Comparison, String)? {
        for comparison in [Condition.Comparison.atLeast, .atMost, .contains, .equal] {
            if let range = word.range(of: comparison.rawValue) {
                let name = String(word[..<range.lowerBound])
                guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else { continue }
                return (name, comparison, String(word[range.upperBound...]))
            }
        }
        return nil
    }
}
