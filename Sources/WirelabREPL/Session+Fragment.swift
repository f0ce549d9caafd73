import NIOWebSocket
import WireProtocol

/// `send --fragment N [--ping] MESSAGE`: one text message as N frames (RFC 6455 §5.4), the first
/// with opcode text and FIN=0, then continuations, FIN=1 on the last; `--ping` puts a ping between
/// the first two, as control frames may come between a message's fragments, and waits for its
/// pong before the rest.
extension Session {
    func sendFragmented(_ text: String, on connection: ClientConnection) async throws {
        let usage = "send --fragment N [--ping] MESSAGE"
        var words = text.dropFirst("--fragment".count).drop { $0 == " " }.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard let count = words.first.flatMap({ Int($0) }), (2...64).contains(count), words.count == 2 else {
            throw UsageError("--fragment takes a number of frames from 2 to 64, then the message, e.g. send --fragment 3 hello there", usage: usage)
        }
        var message = Substring(words[1])
        var ping = false
        if message.hasPrefix("--ping") {
            ping = true
            words = message.dropFirst("--ping".count).drop { $0 == " " }.split(separator: " ", maxSplits: 0)
            message = words.first ?? ""
        }
        let payload = Array(message.utf8)
        guard payload.count >= count else {
            throw UsageError("\(count) fragments need at least \(count) bytes of message; that one has \(payload.count)", usage: usage)
        }
        let client = try requireOpen(connection)
        // Pieces of nearly equal size, cut at byte boundaries: a character may be split, and the
        // receiver checks UTF-8 across the fragments, not per frame.
        let size = payload.count / count
        let pieces = (0..<count).map { index in
            Array(payload[(index * size)..<(index == count - 1 ? payload.count : (index + 1) * size)])
        }
        let before = connection.framesDown
        let expected = before + (ping ? 1 : 0)
        for (index, piece) in pieces.enumerated() {
            try await client.send(index == 0 ? .text : .continuation, payload: piece, fin: index == count - 1)
            if ping && index == 0 {
                try await client.send(.ping, payload: Array("between fragments".utf8))
                // The pong comes back while the message is still unfinished; waiting for it keeps
                // that visible (and the output in one order).
                await connection.wait(upTo: .seconds(1)) { $0.framesDown > before || $0.isClosed }
            }
        }
        if !interactive {
            await connection.wait(upTo: .seconds(3)) { $0.framesDown > expected || $0.isClosed }
        }
    }
}
