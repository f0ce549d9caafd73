import Comparison
/// The REPL's commands: their names, usage and help text. Execution lives in ``Session``.
struct CommandHelp: Sendable {
    let name: String
    let usage: String
    let summary: String
    let details: [String]

    static let all: [CommandHelp] = [
        .init(name: "open", usage: "open [sse|auto] PATH|ws[s]://HOST:PORT/PATH [as NAME] [--key KEY] [--token T] [--reconnect] [--origin URL] [--buffering-proxy] [--tls] [--insecure] [--deflate [--no-context-takeover] [--window-bits N]]",
              summary: "open a WebSocket client and show its handshake",
              details: [
                "A path such as /ws/echo goes to the lab server in this process; a full ws:// URL goes anywhere.",
                "Clients are named c1, c2, … unless you say `as NAME`; the newest becomes the current client.",
                "--key sets the Sec-WebSocket-Key, e.g. the RFC 6455 sample dGhlIHNhbXBsZSBub25jZQ==.",
                "open sse /events opens a Server-Sent Events client instead: every line of the stream is shown.",
                "open sse /events --buffering-proxy goes through a proxy that holds response bodies 4096 bytes at a time, as nginx does unless told X-Accel-Buffering: no.",
                "After login, /ws and /ws/notifications get ?token=…, and /ws/secure gets the token as its first message.",
                "open auto /chat/NAME (or /room/ROOM/NAME) tries a WebSocket, then SSE + POST, then long polling + POST, and says why each failed; send works the same on whichever it lands.",
                "--origin https://evil.example sends that Origin header, as a page from that site would: the lab refuses origins other than localhost pages and those it was started with (--allowed-origin).",
                "--deflate offers permessage-deflate (RFC 7692) as every browser does: Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits. If the server accepts, data frames carry RSV1=1 and compressed payloads; each is shown on the wire and inflated, with the ratio. --no-context-takeover asks both sides to compress each message on its own; --window-bits N (9-15) asks for 2^N-byte windows.",
                "--reconnect: when the connection ends (1001, a drop, a refused upgrade), reconnect with backoff 1, 2, 4 … 30 s, and queue what you send meanwhile; a ping frame every 30 s checks the connection is alive. See set reconnect, set heartbeat.",
                "--tls /ws/echo (or wss://HOST:PORT/PATH) speaks TLS: it shows the records a network observer sees (type, version, length, the ClientHello's SNI and ALPN) and, decrypted, the same handshake and frames as over ws://. The lab's own certificate is trusted; --insecure skips the check for other servers.",
              ]),
        .init(name: "http", usage: "http [--token T | --no-token] [--raw] [--origin URL] [--header NAME:VALUE] [--tls] [--insecure] GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS PATH|URL [BODY]",
              summary: "send one HTTP/1.1 request on a kept-alive connection and show both messages byte for byte",
              details: [
                "The body is the rest of the line; one that starts with { or [ is checked as JSON (--raw skips the check) and sent as application/json.",
                "After login, the token goes along as Authorization: Bearer …; --token sets another, --no-token none.",
                "http waits for the whole response: for an event stream, use open sse PATH.",
                "--origin URL sends Origin as a page from URL would, so the CORS headers show; a preflight is OPTIONS PATH with --header Access-Control-Request-Method:POST (and --header Access-Control-Request-Headers:content-type).",
                "--tls GET /orders (or an https:// URL) goes over TLS: the records on the wire, then the decrypted request and response. --insecure skips the certificate check.",
              ]),
        .init(name: "tls", usage: "tls [--save FILE]",
              summary: "the lab's TLS port and its certificate: SHA-256 fingerprint, validity; --save writes it as PEM for curl --cacert",
              details: [
                "The lab listens with TLS next to its plain port (wss://, https://), with a self-signed certificate made at start (or --cert/--key).",
                "A network observer sees TLS records only: their type, version and length, and the ClientHello's SNI and ALPN. The path, the headers, a ?token= and every frame are encrypted; sizes and timing are not hidden.",
              ]),
        .init(name: "login", usage: "login NAME [PASSWORD] [--expires D]",
              summary: "get a token (POST /auth/token) for later open and http commands",
              details: [
                "The demo users are alice, bob and admin; their passwords are in the README, and filled in for you.",
                "--expires 5s asks for a token that lasts 5 s (default 1 hour): a WebSocket opened with it is closed with 1008 when it expires.",
              ]),
        .init(name: "logout", usage: "logout", summary: "forget the token", details: []),
        .init(name: "predict", usage: "predict F1 F2 F3 F4",
              summary: "on a /ws/predict client: send {\"features\":[…],\"request_id\":N}", details: []),
        .init(name: "send", usage: "send [--repeat N [--every D]] [--binary HEX | --text-bytes HEX | --fill N [{JSON}] | --raw | --compare | --fragment N [--ping]] MESSAGE",
              summary: "send a text frame (or binary) on the current client",
              details: [
                "Everything after `send ` is the message, spaces included: send hello world",
                "A message that starts with { or [ is checked as JSON first; --raw sends it unchecked.",
                "--binary 01ff sends the bytes 0x01 0xff in a binary frame; --text-bytes c328 sends them in a text frame, unchecked (c3 28 is not UTF-8).",
                "--fragment 3 hello there sends one text message as 3 frames (FIN=0, continuations, FIN=1 on the last); --fragment 3 --ping … puts a ping between the first two and waits for its pong before the rest.",
                "--fill 70000 sends a text message of that many bytes, to see the 16- and 64-bit length forms.",
                "--fill 600 {\"type\":\"message\"} sets the JSON object's \"text\" to 600 letters (what chat endpoints read).",
                "--repeat 20 sends the message 20 times, back to back; with --fill {…} each text starts with its number (1:, 2:, …); --every 50ms spaces them out.",
                "NAME: MESSAGE sends on the client NAME without switching to it.",
                "--compare also does the same exchange over the endpoint's HTTP twin and measures both (echo, per-client; in a chat or room: the POST and the poll that reads it back).",
                "On a client opened with --deflate every data frame is compressed (RSV1=1 on a message's first frame), fragments included, and --compare counts the compressed bytes the wire carried.",
              ]),
        .init(name: "compare", usage: ComparisonRequest.usage,
              summary: "run the same work over WebSocket, SSE, short and long polling (or request/response) and measure each",
              details: [
                "echo, predict: N exchanges over a WebSocket and as HTTP requests on one kept-alive connection.",
                "chat, notifications: another client posts (an admin ships orders) while the measured client receives over each transport in turn.",
                "dashboard: the metrics pushed every second, or polled; job: a training job's progress.",
                "Every number comes from the taps and the clock; (≈ …) beside one is what a simple model predicts.",
                "--duration (default 10s) is how long each push run lasts; --interval (default 1s) is the short-polling interval.",
                "--json prints the results for a program; --url runs against another wirelab. Ctrl-C stops the run and keeps what was measured.",
                "--deflate: the WebSocket client offers permessage-deflate, as browsers do; its payload rows count the compressed bytes, an inflated row under each the same payload at the messages' inflated size (measured), and a note says what each way carried; the model predicts frame headers only.",
                "--tls: every connection goes over TLS (wss://, https://) to the comparison's lab, with this lab's certificate; the byte rows stay the decrypted layer, and TLS on the wire, its overhead and its records are rows of their own, measured from a second tap under TLS.",
              ]),
        .init(name: "ping", usage: "ping [TEXT]",
              summary: "send a ping frame; the server must answer with a pong carrying the same bytes",
              details: ["A ping carries at most 125 bytes (control frames are small by rule)."]),
        .init(name: "close", usage: "close [CODE [REASON]]",
              summary: "start the closing handshake (default code 1000)",
              details: [
                "The server answers with its own close frame, then the TCP connection ends.",
                "Try a code that may not be sent, such as 1005, to see the server's answer.",
              ]),
        .init(name: "drop", usage: "drop",
              summary: "cut the TCP connection without a close frame (what a crash looks like)",
              details: ["The other side sees 1006 abnormal closure: no close frame ever arrived."]),
        .init(name: "clients", usage: "clients",
              summary: "list clients with their state and the bytes each has moved",
              details: ["Bytes are counted from the tap: handshake, frame headers and payload apart."]),
        .init(name: "use", usage: "use NAME", summary: "make NAME the current client", details: []),
        .init(name: "last", usage: "last [NAME]",
              summary: "show the last frame a client received, every bit explained", details: []),
        .init(name: "handshake", usage: "handshake [NAME]",
              summary: "show the last opening handshake again", details: []),
        .init(name: "tap", usage: "tap [ID|all|--endpoint NAME]",
              summary: "the lab's side of any connection (a browser's, a script's): list them, or watch one's bytes taken apart",
              details: [
                "tap alone lists the lab's open connections: id, client address, endpoint, first request, User-Agent, bytes each way.",
                "tap ID shows that connection from its start (the lab keeps the first 16 KiB) and then live; tap all and tap --endpoint chat also follow connections to come.",
                "The bytes are those the lab's socket read and wrote, taken apart as for a REPL client. untap stops.",
              ]),
        .init(name: "untap", usage: "untap",
              summary: "stop every tap", details: []),
        .init(name: "peer", usage: "peer python PATH [MESSAGE…]",
              summary: "run an independent client (Python websockets, from .venv) against the lab: a connection for tap to show",
              details: [
                "It sends each message, prints each reply and closes with 1000. The REPL does not see its bytes; tap all before it, and the lab's side shows its handshake (its User-Agent, its permessage-deflate offer) and frames.",
              ]),
        .init(name: "view", usage: "view quiet|frames|bytes|compare",
              summary: "choose how much of each frame to show",
              details: [
                "quiet: one line per frame",
                "frames: every header bit explained, short hex dump (the default)",
                "bytes: as frames, with complete hex dumps, handshakes included",
                "compare: every send is also done over the HTTP twin and measured (like send --compare)",
              ]),
        .init(name: "endpoints", usage: "endpoints",
              summary: "list the lab's endpoints, on or off, with their URLs", details: []),
        .init(name: "enable", usage: "enable NAME", summary: "switch a lab endpoint on", details: []),
        .init(name: "disable", usage: "disable NAME",
              summary: "switch a lab endpoint off; its connections are closed with 1001",
              details: ["New upgrades to it are refused with 503 until you enable it again."]),
        .init(name: "fault", usage: "fault [NAME]",
              summary: "make an endpoint's handler fail on the next message it reads, as a bug would (1011)",
              details: ["The server closes that one connection with 1011 internal error; the endpoint stays on. fault alone lists what is armed."]),
        .init(name: "set", usage: "set broadcast queued [--stall D] [--cap SIZE] [--budget SIZE]|naive · set rate N [--burst B]|off · set reconnect on|off [OPTIONS] · set heartbeat DURATION|off [--text] [--timeout D] · set reading on|off · set pings quiet|shown · set deflate on|off",
              summary: "how the lab broadcasts and how fast it lets a client send; whether the current client reconnects; its heartbeat; whether it reads",
              details: [
                "broadcast naive shows the guide's flaw: one receiver that does not read stalls everyone.",
                "broadcast queued --stall 3s --cap 1MiB: a receiver whose socket takes no bytes for 3 s, or with over 1 MiB waiting and its socket full, is cut off (defaults 10 s, 16 MiB); --budget SIZE: all queues together (default 256 MiB), then senders wait.",
                "rate 5: one connection may send 5 messages a second to chat, room and live chat (10 back to back, or --burst B); off lifts the limit (default 20).",
                "reading off: the current client stops reading its socket (a frozen tab); reading on resumes.",
                "deflate off: the lab declines permessage-deflate offers (as wirelab serve --no-deflate; uvicorn --ws-per-message-deflate false); on (default): it accepts them, as uvicorn does. Connections already open keep what they agreed.",
                "pings quiet (default): one line for each ping the server sends and none for the automatic pong; pings shown: both in full. Pings you send are always shown.",
                "reconnect on [--base 1s] [--max 30s] [--attempts 10] [--jitter 0.2]: backoff doubles from base up to max; a close you asked for (close) or a 1000 from the server ends it.",
                "heartbeat 5s: a ping frame every 5 s (--text: the text ping, answered pong by /ws/notifications); no answer within --timeout (default: the interval, at most 10 s) drops the connection as dead.",
              ]),
        .init(name: "block", usage: "block ws|sse",
              summary: "make the lab refuse WebSocket upgrades or event streams with 403, as a proxy might",
              details: ["Then open auto shows a client falling back. unblock ws|sse|all lets them through again."]),
        .init(name: "unblock", usage: "unblock ws|sse|all", summary: "let WebSocket upgrades or event streams through again", details: []),
        .init(name: "queue", usage: "queue", summary: "what the current client has queued while disconnected", details: []),
        .init(name: "watch", usage: "watch [CLIENT] [--type T] [--throttle D | --debounce D | --buffer D] [--last N]",
              summary: "apply the guide's RxJS patterns to a client's incoming messages and show what a UI would get",
              details: [
                "--type metrics keeps only messages whose type is metrics (filter).",
                "--throttle 2s: the first message of each 2 s window (throttleTime); --debounce 300ms: the last one after 300 ms of quiet (debounceTime); --buffer 500ms: a batch per window, empty ones skipped (bufferTime).",
                "--last 60 keeps a history of the newest 60 (scan + slice).",
                "Every watch listens to the client's one connection; several watches never open a second (share()). watches lists them with received and shown counts.",
              ]),
        .init(name: "watches", usage: "watches", summary: "list the watches and plots, with received and shown counts", details: []),
        .init(name: "unwatch", usage: "unwatch NAME|all", summary: "stop a watch or plot", details: []),
        .init(name: "plot", usage: "plot [CLIENT] FIELD",
              summary: "a live sparkline of a numeric field of a client's messages (the last 60 values)",
              details: ["On a terminal it stays on one line above the prompt, redrawn as values come: try open /ws/dashboard, then plot active_users."]),
        .init(name: "wait", usage: "wait DURATION", summary: "pause, e.g. wait 500ms or wait 2s (for scripts)", details: []),
        .init(name: "lessons", usage: "lessons", summary: "list the lessons, with your progress", details: []),
        .init(name: "lesson", usage: "lesson N|NAME · lesson reset",
              summary: "start a lesson (or go back to where you were in it); reset starts it over",
              details: ["Progress is saved in $XDG_STATE_HOME/wirelab/progress.json (default ~/.local/state/wirelab/)."]),
        .init(name: "check", usage: "check", summary: "in a lesson: has the step happened on the wire? says what is missing", details: []),
        .init(name: "hint", usage: "hint", summary: "in a lesson: a way to do the step", details: []),
        .init(name: "explain", usage: "explain [TERM]",
              summary: "what a word the lessons use means: tap, twin, RSV, opcode, jitter, event loop, EventSource, p50, JWT, …",
              details: ["explain alone lists the terms."]),
        .init(name: "answer", usage: "answer VALUE",
              summary: "in a lesson: answer the step's question; a wrong answer gets an explanation",
              details: ["The right answer comes from your own session: the key you chose, the frame you sent, what your clients received."]),
        .init(name: "next", usage: "next", summary: "in a lesson: the next step (the summary after the last)", details: []),
        .init(name: "back", usage: "back", summary: "in a lesson: the step before", details: []),
        .init(name: "clear", usage: "clear", summary: "clear the screen (Ctrl-L works too)", details: []),
        .init(name: "help", usage: "help [COMMAND]", summary: "list the commands by topic, or explain one", details: []),
        .init(name: "quit", usage: "quit", summary: "close every client and leave (Ctrl-D works too)", details: []),
    ]

    /// How `help` groups the commands; every command is in exactly one topic.
    static let topics: [(title: String, commands: [String])] = [
        ("clients", ["open", "clients", "use", "handshake", "last", "close", "drop", "queue"]),
        ("sending", ["send", "ping", "predict"]),
        ("HTTP and tokens", ["http", "login", "logout"]),
        ("what is shown", ["view", "watch", "watches", "unwatch", "plot"]),
        ("measuring", ["compare"]),
        ("the lab", ["endpoints", "enable", "disable", "fault", "set", "block", "unblock", "tls"]),
        ("other clients' traffic", ["tap", "untap", "peer"]),
        ("lessons", ["lessons", "lesson", "check", "answer", "hint", "next", "back", "explain"]),
        ("the session", ["wait", "clear", "help", "quit"]),
    ]

    static func named(_ name: String) -> CommandHelp? {
        all.first { $0.name == name }
    }

    /// The command closest to a mistyped word, if any is close enough to be a good guess.
    static func suggestion(for word: String) -> CommandHelp? {
        let scored = all.map { ($0, editDistance(word.lowercased(), $0.name)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        if best.1 <= max(1, word.count / 3) { return best.0 }
        return all.first { $0.name.hasPrefix(word.lowercased()) && !word.isEmpty }
    }
}

/// Edit distance counting a swap of neighbours as one edit ("sned" is one edit from "send").
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { table[i][0] = i }
    for j in 0...b.count { table[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
            }
        }
    }
    return table[a.count][b.count]
}

/// A user mistake: printed with the command's usage, never fatal.
struct UsageError: Error {
    let message: String
    let usage: String?

    init(_ message: String, usage: String? = nil) {
        self.message = message
        self.usage = usage
    }
}

/// Splits words like a shell: spaces separate, "double" or 'single' quotes group, \ escapes.
func splitWords(_ text: String) throws -> [String] {
    var words: [String] = []
    var current = ""
    var inWord = false
    var quote: Character?
    var escaping = false
    for character in text {
        if escaping {
            current.append(character)
            escaping = false
            continue
        }
        switch character {
        case "\\" where quote != "'":
            escaping = true
            inWord = true
        case "\"", "'":
            if quote == nil {
                quote = character
                inWord = true
            } else if quote == character {
                quote = nil
            } else {
                current.append(character)
            }
        case " " where quote == nil, "\t" where quote == nil:
            if inWord { words.append(current) }
            current = ""
            inWord = false
        default:
            current.append(character)
            inWord = true
        }
    }
    if let quote { throw UsageError("unclosed \(quote) quote") }
    if escaping { throw UsageError("a \\ at the end of the line escapes nothing") }
    if inWord { words.append(current) }
    return words
}

/// `01ff`, `01 ff`, `0x01 0xff`: pairs of hex digits.
func parseHex(_ text: String) -> [UInt8]? {
    let digits = text.split(separator: " ").map { $0.hasPrefix("0x") ? $0.dropFirst(2) : $0[...] }.joined()
    guard digits.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        guard let byte = UInt8(digits[index..<next], radix: 16) else { return nil }
        bytes.append(byte)
        index = next
    }
    return bytes
}

/// The REPL's command names, for checks outside it (`wirelab lessons --check`).
public enum REPLCommands {
    public static var names: Set<String> { Set(CommandHelp.all.map(\.name) + ["?", "exit", "view"]) }
}
