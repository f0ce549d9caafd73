import WireProtocol

/// The guide's RxJS patterns on a client's incoming messages, as a pure state machine: messages
/// are offered with the time they arrived, timers are ticked with the time now, and what the UI
/// would receive comes out. Times are offsets from the start of the watch, so tests need no clock.
///
/// The order is the guide's pipe: `filter(type)` → `throttleTime` | `debounceTime` | `bufferTime`
/// → `scan` keeping the last N.
public struct StreamWatch: Sendable {
    public struct Options: Sendable, Equatable {
        /// Only messages whose `type` is this (the guide's `filter(m => m.type === …)`).
        public var type: String?
        /// The first message of each window passes; the rest of the window is dropped.
        public var throttle: Duration?
        /// A message passes once nothing newer has come for this long (the last one wins).
        public var debounce: Duration?
        /// Messages are collected and handed on together at the end of each window; empty
        /// windows are skipped (the guide's `filter(batch => batch.length > 0)`).
        public var buffer: Duration?
        /// The history handed on keeps only the newest N (`scan` + `slice(-N)`).
        public var last: Int?

        public init() {}

        public var summary: String {
            var parts: [String] = []
            if let type { parts.append("type \(type)") }
            if let throttle { parts.append("throttle \(throttle.spoken)") }
            if let debounce { parts.append("debounce \(debounce.spoken)") }
            if let buffer { parts.append("buffer \(buffer.spoken)") }
            if let last { parts.append("last \(last)") }
            return parts.isEmpty ? "every message" : parts.joined(separator: " · ")
        }
    }

    /// What the UI receives.
    public enum Output: Sendable, Equatable {
        case message(JSON)
        case batch([JSON])
    }

    public let options: Options
    public private(set) var received = 0
    /// Messages that passed the type filter.
    public private(set) var matched = 0
    /// Messages handed to the UI (each message of a batch counts).
    public private(set) var shown = 0
    /// With `last`: the newest N shown messages, oldest first.
    public private(set) var history: [JSON] = []

    private var throttleWindowEnd: Duration?
    private var debounced: (message: JSON, due: Duration)?
    private var batch: [JSON] = []
    private var batchEnd: Duration?

    public init(options: Options) {
        self.options = options
    }

    /// A message arrived at `time`. - Returns: what passes at once.
    public mutating func offer(_ message: JSON, at time: Duration) -> [Output] {
        received += 1
        if let type = options.type, message["type"]?.stringValue != type { return [] }
        matched += 1
        if let window = options.throttle {
            if let end = throttleWindowEnd, time < end { return tick(at: time) }
            throttleWindowEnd = time + window
            return tick(at: time) + emit(.message(message))
        }
        if let quiet = options.debounce {
            debounced = (message, time + quiet)
            return tick(at: time)
        }
        if let window = options.buffer {
            let outputs = tick(at: time)
            if batchEnd == nil { batchEnd = time + window }
            batch.append(message)
            return outputs
        }
        return emit(.message(message))
    }

    /// Time has passed: a debounced message whose quiet period is over, or a buffer window that
    /// has ended, comes out now.
    public mutating func tick(at time: Duration) -> [Output] {
        var outputs: [Output] = []
        if let pending = debounced, time >= pending.due {
            debounced = nil
            outputs += emit(.message(pending.message))
        }
        if let window = options.buffer, let end = batchEnd, time >= end {
            if !batch.isEmpty { outputs += emit(.batch(batch)) }
            batch = []
            // The next window starts where this one ended, as bufferTime's do.
            var next = end
            while next + window <= time { next += window }
            batchEnd = next + window
        }
        return outputs
    }

    private mutating func emit(_ output: Output) -> [Output] {
        let messages: [JSON] = switch output {
        case .message(let message): [message]
        case .batch(let batch): batch
        }
        shown += messages.count
        if let last = options.last {
            history.append(contentsOf: messages)
            if history.count > last { history.removeFirst(history.count - last) }
        }
        return [output]
    }
}

/// A terminal sparkline of the last values: ▁▂▃▄▅▆▇█ scaled between their minimum and maximum.
public enum Sparkline {
    static let levels: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    public static func render(_ values: [Double]) -> String {
        guard let low = values.min(), let high = values.max() else { return "" }
        guard high > low else { return String(repeating: levels[0], count: values.count) }
        return String(values.map { value in levels[min(levels.count - 1, Int((value - low) / (high - low) * Double(levels.count - 1) + 0.5))] })
    }
}
