import LabServer
import WireProtocol

/// `tap` and `untap`: the lab's side of connections, whoever opened them (see ``ServerTap``).
extension Session {
    func tap(_ words: [String]) throws {
        let usage = CommandHelp.named("tap")!.usage
        guard let lab else { throw UsageError("tap shows the in-process lab's connections; this session has none (started with --no-lab?)") }
        guard let first = words.first else { return listTapped(lab.context.taps) }
        let selection: ServerTap.Selection
        switch first {
        case "all" where words.count == 1: selection = .all
        case "--endpoint" where words.count == 2:
            let name = words[1]
            guard lab.registry.endpoint(named: name) != nil || name == "playground" else {
                throw UsageError("no endpoint named '\(name)'; the endpoints are: \(lab.registry.endpoints.map(\.name).joined(separator: ", "))", usage: usage)
            }
            selection = .endpoint(name)
        default:
            guard words.count == 1, let id = Int(first.hasPrefix("tap") ? String(first.dropFirst(3)) : first) else {
                throw UsageError("tap takes a connection id (see tap), all, or --endpoint NAME", usage: usage)
            }
            guard lab.context.taps.summary(id) != nil else {
                throw UsageError("no open connection \(id); tap lists those open now (tap all also follows those to come)")
            }
            selection = .connection(id)
        }
        let tap = serverTap ?? ServerTap(taps: lab.context.taps, style: style, settings: settings) { [weak self] name in
            guard let self else { return { _ in } }
            return self.emitter(for: name)
        }
        serverTap = tap
        let open = tap.follow(selection)
        switch selection {
        case .connection: break
        case .all, .endpoint:
            console.line("tapping \(selection): \(open) open now" + (open == 0 ? "" : ", shown from their start") + ", and those to come · untap to stop")
        }
    }

    func untap() {
        guard let tap = serverTap, !tap.selections.isEmpty else {
            console.line("nothing is tapped")
            return
        }
        let stopped = tap.stop()
        console.line("untapped " + stopped.map(\.description).joined(separator: ", "))
    }

    private func listTapped(_ taps: ConnectionTaps) {
        let live = taps.live
        guard !live.isEmpty else {
            console.line("no connections to the lab are open")
            return
        }
        console.line("connections to the lab, as its sockets see them (tap ID to watch one, tap all for every one):")
        for summary in live {
            let endpoint = summary.endpoint ?? "-"
            let request = summary.request ?? "(no request head yet)"
            console.line("  \(String(summary.id).leftPadded(3))  \(summary.peer.padding(21)) \(endpoint.padding(13)) \(request)")
            console.line("       ↑ \(summary.bytesUp) B from the client · ↓ \(summary.bytesDown) B to it" + (summary.userAgent.map { " · User-Agent: \($0)" } ?? ""))
        }
    }
}
