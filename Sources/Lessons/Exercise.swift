import Foundation
import WireProtocol

/// A question a step asks (`Exercise: accept` in the lesson file), answered with `answer VALUE`.
/// The right answer is worked out from what the learner's own session did (the key they chose,
/// the frame they sent, the messages their client received), never written in the lesson.
public enum Exercise: String, Sendable, CaseIterable {
    /// Lesson 1: what three more frames like the one you sent cost on the wire.
    case frameCost = "frame-cost"
    /// Lesson 2: the Sec-WebSocket-Accept for a key you chose.
    case accept
    /// Lesson 3: the first payload byte of a frame you sent, unmasked by hand.
    case unmask
    /// Lesson 7: the guide's Angular online count on a client of the guide's first chat.
    case onlineCount = "online-count"
    /// Lesson 8: the Last-Event-ID an event stream will send when it reconnects.
    case lastEventID = "last-event-id"
    /// Lesson 11: the expiry in the token the learner got, read from its claims.
    case tokenExpiry = "token-exp"
    /// Lesson 14, a prediction: how many requests short polling will make in the next run.
    case shortPolls = "short-polls"

    /// Answered before what it is about happens: the answer waits for the next run, then is judged.
    public var isPrediction: Bool { self == .shortPolls }

    public enum Verdict: Sendable, Equatable {
        case correct(String)
        case wrong(String)
        /// The session has not done what the question is about yet.
        case notYet(String)
    }

    /// The answer the session makes right, with the working; or what must happen first.
    /// - Parameters:
    ///   - log: everything the session observed, in order.
    ///   - stepStart: where the step began in `log` (some questions are about what was done in it).
    public func expected(in log: [Observation], stepStart: Int) -> (answer: String, working: String)? {
        let step = log.dropFirst(stepStart)
        switch self {
        case .frameCost:
            guard let frame = step.last(where: { $0.kind == .sent && $0["opcode"] == "text" }),
                let wire = frame["wire"].flatMap({ Int($0) }), let length = frame["length"].flatMap({ Int($0) }) else { return nil }
            let header = wire - length
            return (String(3 * wire), "each such frame is \(header) header bytes (2 fixed, \(header - 6 == 0 ? "" : "\(header - 6) of extended length, ")4 of masking key) + \(length) payload = \(wire) bytes, so three are 3 × \(wire) = \(3 * wire); no request line, no headers")
        case .accept:
            guard let opened = step.last(where: { $0.kind == .opened && $0["key"] != nil }), let key = opened["key"],
                key != Handshake.sampleKey else { return nil }
            let digest = Handshake.digest(forKey: key).map { HexDump.hex($0) }.joined(separator: " ")
            return (Handshake.acceptValue(forKey: key), "\(key) + 258EAFA5-E914-47DA-95CA-C5AB0DC85B11, SHA-1 = \(digest), in base64")
        case .unmask:
            guard let frame = step.last(where: { $0.kind == .sent && ($0["opcode"] == "text" || $0["opcode"] == "binary") }),
                let mask = frame["mask"].flatMap(Self.bytes), let masked = frame["masked"].flatMap(Self.bytes), let key = mask.first, let byte = masked.first
            else { return nil }
            let plain = byte ^ key
            let letter = (0x20..<0x7f).contains(plain) ? " (\"\(Character(Unicode.Scalar(plain)))\")" : ""
            return (HexDump.hex(plain), "masked byte \(HexDump.hex(byte)) XOR key byte \(HexDump.hex(key)) = \(HexDump.hex(plain))\(letter): bit by bit, a 1 in the key flips the bit")
        case .onlineCount:
            guard let opened = step.last(where: { $0.kind == .opened && ($0["path"]?.hasPrefix("/ws/chat/") ?? false) }), let name = opened["client"] else { return nil }
            var count = 0
            var steps = ["starts at 0"]
            for message in step where message.kind == .received && message["client"] == name {
                switch message["type"] {
                case "user_joined":
                    count = message["online_count"].flatMap { Int($0) } ?? count
                    steps.append("user_joined sets it to \(count)")
                case "user_left":
                    count -= 1
                    steps.append("user_left takes 1 off: \(count)")
                default: break
                }
            }
            return (String(count), "\(name)'s onlineCount " + steps.joined(separator: ", "))
        case .shortPolls:
            guard let run = step.last(where: { $0.kind == .compareRun && $0["requests.short_polling"] != nil }),
                let requests = run["requests.short_polling"] else { return nil }
            let timing = [run["duration"].map { "a \($0) run" }, run["interval"].map { "a poll every \($0)" }].compactMap { $0 }.joined(separator: " with ")
            return (requests, "short polling asks on a fixed beat, at 0, I, 2I … up to the end of the run, whether or not anything happened: \(timing.isEmpty ? "the run's length over the interval" : timing), plus the first = \(requests) requests")
        case .tokenExpiry:
            guard let login = log.last(where: { $0.kind == .received && $0["access_token"] != nil }), let token = login["access_token"],
                let claims = Self.claims(ofToken: token), let exp = claims["exp"]?.numberValue else { return nil }
            return (String(Int(exp)), "the part between the dots, base64url-decoded, is \(claims.text): exp is the expiry in seconds since 1970-01-01 UTC. Anyone who holds the token can read it; the signature only proves the server made it")
        case .lastEventID:
            guard let event = log.last(where: { $0.kind == .event && $0["id"] != nil }), let id = event["id"], let client = event["client"] else { return nil }
            return (id, "the last event \(client) received had id: \(id); an EventSource keeps the last id it saw and sends it as Last-Event-ID")
        }
    }

    /// What must happen before the question can be answered.
    public var prerequisite: String {
        switch self {
        case .frameCost: "send a text message on a WebSocket first (this step's commands)"
        case .accept: "open a client with a key of your own first (not the RFC's sample key): open /ws/echo --key KEY, with 16 bytes in base64"
        case .unmask: "send a frame first: send WORD, or send --binary HEX"
        case .onlineCount: "open a client of the guide's first chat (/ws/chat/NAME) in this step first"
        case .lastEventID: "open an event stream and let it receive an event first"
        case .shortPolls: "run the comparison after your prediction (compare chat …)"
        case .tokenExpiry: "log in first (login alice), so that you hold a token"
        }
    }

    public func judge(_ answer: String, in log: [Observation], stepStart: Int) -> Verdict {
        guard let (right, working) = expected(in: log, stepStart: stepStart) else { return .notYet(prerequisite) }
        let given = Self.normalized(answer, for: self)
        if given == Self.normalized(right, for: self) { return .correct("\(right): \(working)") }
        var hint = ""
        if self == .accept, Handshake.isValidKey(answer) { hint = " (that is a key, not an accept value: hash the key with the GUID first)" }
        if self == .unmask, Self.bytes(given) == nil { hint = " (answer with one byte in hex, e.g. 4f)" }
        if self == .tokenExpiry, log.last(where: { $0["access_token"] != nil })?["expires_in"] == given {
            hint = " (that is expires_in from the login's answer: how many seconds the token lasts; exp is the moment it ends)"
        }
        var shell = ""
        if self == .accept { shell = " In a shell: printf '%s' 'KEY258EAFA5-E914-47DA-95CA-C5AB0DC85B11' | openssl sha1 -binary | base64" }
        return .wrong("not \(answer)\(hint). Look again: \(Self.method(self)).\(shell)")
    }

    /// How to get there, without giving the number away.
    private static func method(_ exercise: Exercise) -> String {
        switch exercise {
        case .frameCost: "a client's frame is 2 header bytes, 4 of masking key (more header when the length takes the 16- or 64-bit form), then the payload; count one, then three"
        case .accept: "base64 of the SHA-1 of your key followed by the GUID, as text, no space between"
        case .unmask: "take the first byte of \"payload as sent (masked)\" and the first byte of the masking key and XOR them"
        case .onlineCount: "the guide's ChatComponent starts at 0, sets onlineCount = msg.online_count on user_joined and does onlineCount-- on user_left; follow what this client received, in order"
        case .lastEventID: "an EventSource remembers the id: of the last event it received"
        case .tokenExpiry: "take the part between the two dots, decode it as base64url (in a shell: echo PART | tr '_-' '/+' | base64 -d; add = to a multiple of 4 if it complains), and read exp"
        case .shortPolls: "a short poll goes out at every tick of the interval from the start to the end of the run, answered or not; count the ticks, the first one included"
        }
    }

    static func normalized(_ answer: String, for exercise: Exercise) -> String {
        let trimmed = answer.trimmingCharacters(in: " \t\"'`")
        switch exercise {
        case .unmask:
            let lower = trimmed.lowercased()
            return lower.hasPrefix("0x") ? String(lower.dropFirst(2)) : lower
        case .frameCost, .onlineCount, .shortPolls, .tokenExpiry: return trimmed.replacingOccurrences(of: " bytes", with: "").replacingOccurrences(of: " requests", with: "")
        case .accept, .lastEventID: return trimmed
        }
    }

    /// A JWT's claims: its middle part, base64url-decoded, as JSON.
    static func claims(ofToken token: String) -> JSON? {
        let parts = token.split(separator: ".")
        guard parts.count >= 2 else { return nil }
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64) else { return nil }
        return try? JSON(parsing: String(decoding: data, as: UTF8.self))
    }

    /// Hex digits in pairs (spaces allowed) as bytes.
    static func bytes(_ hex: String) -> [UInt8]? {
        let digits = Array(hex.filter { $0 != " " })
        guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16) }.reduce(into: [UInt8]?([])) { result, byte in
            if let byte, result != nil { result!.append(byte) } else { result = nil }
        }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String { trimming(set) }
}
