import Foundation

/// The lab's timestamps: ISO 8601 in UTC with microseconds, e.g. `2026-11-29T23:51:02.123456Z`
/// (Python's `isoformat()` precision, as in the guide). Fine enough to time a push on loopback,
/// which is why the comparison reads them back.
public enum Timestamp {
    public static func format(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        let micros = min(999_999, Int(((date.timeIntervalSince1970 - seconds) * 1_000_000).rounded()))
        let whole = Date(timeIntervalSince1970: seconds).formatted(Date.ISO8601FormatStyle())  // …T23:51:02Z
        let fraction = String(micros)
        return whole.dropLast() + "." + String(repeating: "0", count: 6 - fraction.count) + fraction + "Z"
    }

    /// Reads a timestamp with any number of fraction digits (or none); nil if it is not one.
    public static func parse(_ text: String) -> Date? {
        guard text.hasSuffix("Z") else { return nil }
        let body = text.dropLast()
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = try? Date.ISO8601FormatStyle().parse(parts[0] + "Z") else { return nil }
        guard parts.count == 2 else { return whole }
        let digits = parts[1]
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy(\.isASCII), let value = Int(digits) else { return nil }
        var scale = 1.0
        for _ in 0..<digits.count { scale *= 10 }
        return whole.addingTimeInterval(Double(value) / scale)
    }
}
