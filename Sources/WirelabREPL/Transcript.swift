/// A recorded REPL session: Markdown prose with fenced `wirelab` blocks. Inside a block a line
/// starting with `wirelab> ` is typed input; the lines after it are the output it must produce.
///
/// Expected output may use `[PORT]` (the lab's port, which changes each run), `[TLS-PORT]` (its
/// TLS port), `[..]` (any text
/// within one line) and a line of just `...` (any number of lines).
struct Transcript {
    static let fence = "```wirelab"
    static let inputMarker = "wirelab> "

    /// One input line and the output expected after it. The step with `input == nil` holds the
    /// output expected before the first input: the banner.
    struct Step {
        var input: String?
        var expected: [String]
    }

    enum Part {
        case prose([String])
        case block([Step])
    }

    var parts: [Part]

    struct FormatError: Error, CustomStringConvertible {
        let description: String
    }

    init(parsing text: String) throws {
        var parts: [Part] = []
        var prose: [String] = []
        var steps: [Step]?
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        for (number, line) in lines.enumerated() {
            if var current = steps {
                if line == "```" {
                    parts.append(.block(current))
                    steps = nil
                } else if line.hasPrefix(Self.inputMarker) {
                    current.append(Step(input: String(line.dropFirst(Self.inputMarker.count)), expected: []))
                    steps = current
                } else {
                    if current.isEmpty { current.append(Step(input: nil, expected: [])) }
                    current[current.count - 1].expected.append(line)
                    steps = current
                }
            } else if line == Self.fence {
                parts.append(.prose(prose))
                prose = []
                steps = []
            } else {
                prose.append(line)
                if line.hasPrefix("```wirelab") { throw FormatError(description: "line \(number + 1): a wirelab block opens with exactly ```wirelab") }
            }
        }
        if steps != nil { throw FormatError(description: "a ```wirelab block is not closed") }
        parts.append(.prose(prose))
        self.parts = parts
    }

    var steps: [Step] {
        parts.flatMap { part -> [Step] in
            if case .block(let steps) = part { return steps }
            return []
        }
    }

    /// The transcript's text, with each step's expected output taken from `outputs` (in order).
    func rendered(outputs: [[String]]) -> String {
        var remaining = outputs[...]
        var lines: [String] = []
        for part in parts {
            switch part {
            case .prose(let prose): lines += prose
            case .block(let steps):
                lines.append(Self.fence)
                for step in steps {
                    if let input = step.input { lines.append(Self.inputMarker + input) }
                    lines += remaining.popFirst() ?? step.expected
                }
                lines.append("```")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Line matching with the transcript placeholders.
enum TranscriptMatch {
    /// Whether `actual` fits `expected`, where `expected` may contain `[..]` wildcards.
    static func line(_ expected: String, _ actual: String) -> Bool {
        guard expected.contains("[..]") else { return expected == actual }
        let pieces = expected.components(separatedBy: "[..]")
        var rest = Substring(actual)
        guard rest.hasPrefix(pieces[0]) else { return false }
        rest = rest.dropFirst(pieces[0].count)
        for (index, piece) in pieces.enumerated().dropFirst() {
            if index == pieces.count - 1 { return piece.isEmpty || rest.hasSuffix(piece) }
            guard let range = rest.range(of: piece) else { return false }
            rest = rest[range.upperBound...]
        }
        return true
    }

    /// Whether all of `actual` fits `expected`, where a line `...` stands for any lines.
    static func lines(_ expected: [String], _ actual: [String]) -> Bool {
        var memo: [Int: Bool] = [:]
        func match(_ i: Int, _ j: Int) -> Bool {
            let key = i * (actual.count + 1) + j
            if let known = memo[key] { return known }
            let result: Bool
            if i == expected.count {
                result = j == actual.count
            } else if expected[i] == "..." {
                result = match(i + 1, j) || (j < actual.count && match(i, j + 1))
            } else {
                result = j < actual.count && line(expected[i], actual[j]) && match(i + 1, j + 1)
            }
            memo[key] = result
            return result
        }
        return match(0, 0)
    }
}

/// A unified diff (one hunk with three lines of context per change), wildcard-aware.
enum UnifiedDiff {
    static func make(expected: [String], actual: [String], expectedName: String, actualName: String) -> [String] {
        // Longest common subsequence, where a line matches when it fits the expected pattern.
        let n = expected.count, m = actual.count
        var table = Array(repeating: Array(repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                table[i][j] = TranscriptMatch.line(expected[i], actual[j]) ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
            }
        }
        var operations: [(Character, String)] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n, j < m, TranscriptMatch.line(expected[i], actual[j]) {
                operations.append((" ", actual[j])); i += 1; j += 1
            } else if i < n, j == m || table[i + 1][j] >= table[i][j + 1] {
                operations.append(("-", expected[i])); i += 1
            } else {
                operations.append(("+", actual[j])); j += 1
            }
        }
        var output = ["--- \(expectedName)", "+++ \(actualName)"]
        var index = 0
        while index < operations.count {
            guard operations[index].0 != " " else { index += 1; continue }
            let start = max(0, index - 3)
            var end = index
            var quiet = 0
            while end < operations.count && quiet <= 6 {
                quiet = operations[end].0 == " " ? quiet + 1 : 0
                end += 1
            }
            end = min(operations.count, end - max(0, quiet - 3))
            let oldStart = operations[..<start].filter { $0.0 != "+" }.count + 1
            let newStart = operations[..<start].filter { $0.0 != "-" }.count + 1
            let hunk = operations[start..<end]
            output.append("@@ -\(oldStart),\(hunk.filter { $0.0 != "+" }.count) +\(newStart),\(hunk.filter { $0.0 != "-" }.count) @@")
            output += hunk.map { String($0.0) + $0.1 }
            index = end
        }
        return output
    }
}
