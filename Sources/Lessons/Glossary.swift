/// The words the lessons and the REPL use, each explained in a few lines: `explain TERM`.
public enum Glossary {
    public struct Entry: Sendable {
        public var term: String
        /// Other ways a learner may type it.
        public var aliases: [String]
        public var text: String
    }

    public static let entries: [Entry] = [
        Entry(term: "tap", aliases: ["wire tap"], text: "A recorder of raw bytes. Each REPL client has one, first in its pipeline: it sees every byte the client sends and receives, before anything decodes it, and everything the REPL shows and counts comes from it. The lab has one on its side of every connection too: the tap command shows connections the REPL did not open (a browser's, a script's) from those bytes."),
        Entry(term: "twin", aliases: ["http twin"], text: "An endpoint's plain-HTTP counterpart in the lab: /http/echo for /ws/echo, /http/chat/… for the chat. The same work as request and response (or polling), so the two can be compared byte for byte."),
        Entry(term: "RSV", aliases: ["rsv1", "rsv2", "rsv3", "reserved bits"], text: "Three bits of a frame's first byte after FIN, reserved for extensions. They must be 0 unless an extension agreed in the handshake gives them a meaning (permessage-deflate uses RSV1 for a compressed message); a set bit without one is a protocol error (1002)."),
        Entry(term: "opcode", aliases: [], text: "The low four bits of a frame's first byte: what the frame is. 0x1 text, 0x2 binary, 0x0 continuation of a fragmented message, 0x8 close, 0x9 ping, 0xA pong; the other values are reserved, and a frame with one fails the connection (1002)."),
        Entry(term: "FIN", aliases: [], text: "The first bit of a frame: 1 when this frame ends its message. A message sent in pieces (fragments) has FIN=0 on every frame but the last."),
        Entry(term: "mask", aliases: ["masking", "masking key"], text: "Every frame a client sends has MASK=1 and a fresh random four-byte key; each payload byte goes out XOR the key byte at its position modulo 4. It keeps a page's script from choosing the bytes a confused proxy would read as HTTP. Servers never mask."),
        Entry(term: "fragment", aliases: ["fragmentation", "continuation"], text: "One message sent as several frames: the first with its opcode and FIN=0, then continuation frames (opcode 0x0), the last with FIN=1. Control frames (ping, pong, close) may come between fragments, and are never fragmented themselves."),
        Entry(term: "close code", aliases: ["1000", "1001", "1002", "1005", "1006", "1007", "1008", "1009", "1011"], text: "The two bytes at the start of a close frame's body. 1000 normal, 1001 going away, 1002 protocol error, 1007 invalid data (e.g. text that is not UTF-8), 1008 policy violation, 1009 message too big, 1011 server error. 1005 (no code) and 1006 (no close frame at all) are only reported, never sent."),
        Entry(term: "jitter", aliases: [], text: "A random part added to each wait between reconnection attempts (±20 % here), so that clients cut off at the same moment do not all come back at the same moment and knock the server over again."),
        Entry(term: "backoff", aliases: ["exponential backoff"], text: "Waiting longer after each failed attempt: 1 s, 2 s, 4 s … up to a cap, then giving up after a number of tries. It spares a server that is down or overloaded."),
        Entry(term: "heartbeat", aliases: ["keepalive"], text: "A message that must be answered, sent every interval (a ping frame, or an application 'ping' text): no answer in time and the connection counts as dead. TCP alone may take many minutes to notice a vanished peer, or never notice on an idle connection."),
        Entry(term: "event loop", aliases: ["loop"], text: "The one thread (or few) that runs every connection's code in an async server, taking turns. Code that computes for long on it, instead of handing the work to another task, stalls every connection until it returns."),
        Entry(term: "EventSource", aliases: ["sse", "server-sent events"], text: "The browser's client for Server-Sent Events: one GET whose response (text/event-stream) never ends; it parses data:, id:, event: and retry: lines, reconnects by itself sending Last-Event-ID, and cannot send headers of its own (so no Authorization header)."),
        Entry(term: "p50", aliases: ["p95", "percentile", "median"], text: "Percentiles of measured delays: p50 (the median) is the delay half the messages beat; p95 is the one 95 of 100 beat. Averages hide the slow tail; p95 and the maximum show it."),
        Entry(term: "JWT", aliases: ["token"], text: "A JSON Web Token: header.claims.signature, each part base64url. Anyone can read the claims (decode the middle part): it is signed, not encrypted. The signature lets the server check it issued the token and that nothing was changed; exp says until when it holds."),
        Entry(term: "long polling", aliases: ["short polling", "polling"], text: "Short polling asks every interval, answered at once even when there is nothing new. Long polling asks once and the server holds the request until there is news (or a timeout), then the client asks again at once: fast, but a whole request and response per message, and an event between two polls waits at least a round trip."),
        Entry(term: "upgrade", aliases: ["handshake", "101"], text: "How a WebSocket starts: an HTTP GET with Upgrade: websocket and Connection: Upgrade, answered 101 Switching Protocols; from then on the TCP connection carries frames, not HTTP."),
        Entry(term: "guide", aliases: ["the guide", "reference guide"], text: "The tutorial wirelab follows: a FastAPI (Python) server and Angular (RxJS) clients for echo, chat, rooms, SSE, notifications, a live dashboard, ML predictions and auth. The lab serves the same URL paths and JSON shapes, so its clients work here unchanged; the lessons quote its code, and lesson 15 reads it critically."),
    ]

    /// The entry for `word`, by its term or an alias, ignoring case.
    public static func lookup(_ word: String) -> Entry? {
        let wanted = word.lowercased()
        return entries.first { $0.term.lowercased() == wanted || $0.aliases.contains { $0.lowercased() == wanted } }
    }
}
