import NIOConcurrencyHelpers

/// Output for scripts and transcripts, where the order must be the same on every run.
///
/// Frames for different clients arrive on different threads, in an order the network decides.
/// So each client's lines are held in wire order, and released when the command's output is
/// complete: the client the command acted on first, then the others in the order they were
/// opened. Command output of its own releases what is held first.
final class OutputCollator: Console {
    private struct State {
        var held: [String: [String]] = [:]
        var openingOrder: [String] = []
    }

    private let base: any Console
    private let state = NIOLockedValueBox(State())

    init(base: any Console) {
        self.base = base
    }

    func write(_ text: String) {
        release(focus: nil)
        base.write(text)
    }

    /// Holds a client's lines until the next release.
    func hold(_ lines: [String], client: String) {
        state.withLockedValue { state in
            if !state.openingOrder.contains(client) { state.openingOrder.append(client) }
            state.held[client, default: []] += lines
        }
    }

    /// Prints what is held: `focus` first, then the other clients in opening order.
    func release(focus: String?) {
        let text = state.withLockedValue { state -> String in
            let order = (focus.map { [$0] } ?? []) + state.openingOrder.filter { $0 != focus }
            let lines = order.flatMap { state.held[$0] ?? [] }
            state.held = [:]
            return lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        }
        if !text.isEmpty { base.write(text) }
    }
}
