import Foundation

extension Duration {
    /// This duration in (fractional) seconds.
    public var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }

    /// This duration in (fractional) milliseconds.
    public var milliseconds: Double { seconds * 1000 }

    /// As a person says it: `500 ms`, `4 s`, `2.5 s`.
    public var spoken: String {
        if self < .seconds(1) { return "\(Int(milliseconds.rounded())) ms" }
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : String(format: "%g s", (seconds * 1000).rounded() / 1000)
    }
}

/// `500ms`, `2s`, `1.5s`, or a plain number of seconds (as typed in the REPL).
public func parseDuration(_ text: String) -> Duration? {
    if text.hasSuffix("ms"), let value = Double(text.dropLast(2)), value >= 0 { return .milliseconds(value) }
    if text.hasSuffix("s"), let value = Double(text.dropLast()), value >= 0 { return .milliseconds(value * 1000) }
    if let value = Double(text), value >= 0 { return .milliseconds(value * 1000) }
    return nil
}
