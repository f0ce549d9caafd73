/// One extension named in a `Sec-WebSocket-Extensions` header (RFC 6455 §9.1): its name and
/// parameters in the order written, a parameter's value nil when it has none.
public struct ExtensionOffer: Sendable, Equatable {
    public var name: String
    public var parameters: [(name: String, value: String?)]

    public init(name: String, parameters: [(name: String, value: String?)] = []) {
        self.name = name
        self.parameters = parameters
    }

    public static func == (lhs: ExtensionOffer, rhs: ExtensionOffer) -> Bool {
        lhs.name == rhs.name && lhs.parameters.map { "\($0.name)=\($0.value ?? "")" } == rhs.parameters.map { "\($0.name)=\($0.value ?? "")" }
    }

    /// Every extension in the values of the header (a header may be repeated; each value is a
    /// comma-separated list; parameters follow `;`, values may be quoted).
    public static func parse(headerValues: [String]) -> [ExtensionOffer] {
        headerValues.flatMap { value in
            value.split(separator: ",").compactMap { element -> ExtensionOffer? in
                let parts = element.split(separator: ";").map { String($0).trimmingSpaces }
                guard let name = parts.first, !name.isEmpty else { return nil }
                let parameters = parts.dropFirst().filter { !$0.isEmpty }.map { part -> (name: String, value: String?) in
                    let pieces = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
                    var value = pieces.count > 1 ? pieces[1] : nil
                    if let quoted = value, quoted.count >= 2, quoted.first == "\"", quoted.last == "\"" {
                        value = String(quoted.dropFirst().dropLast())
                    }
                    return (pieces[0].lowercased(), value)
                }
                return ExtensionOffer(name: name.lowercased(), parameters: parameters)
            }
        }
    }

    /// As it is written in the header.
    public var headerValue: String {
        ([name] + parameters.map { parameter in parameter.value.map { "\(parameter.name)=\($0)" } ?? parameter.name }).joined(separator: "; ")
    }
}

extension HTTPHead {
    /// Every value of a field that may be repeated, by case-insensitive name.
    public func values(of name: String) -> [String] {
        fields.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }
}

/// What permessage-deflate (RFC 7692) was agreed to do on one connection, read from the server's
/// answer: per direction, the LZ77 window and whether each message starts with an empty one.
public struct DeflateParameters: Sendable, Equatable {
    public static let extensionName = "permessage-deflate"

    /// The server compresses each message on its own (no memory of earlier messages).
    public var serverNoContextTakeover = false
    /// The client compresses each message on its own.
    public var clientNoContextTakeover = false
    /// The server's sliding window is at most 2^bits bytes (8-15); nil: 15.
    public var serverMaxWindowBits: Int?
    /// The client's sliding window is at most 2^bits bytes (8-15); nil: 15.
    public var clientMaxWindowBits: Int?

    public init(
        serverNoContextTakeover: Bool = false, clientNoContextTakeover: Bool = false, serverMaxWindowBits: Int? = nil,
        clientMaxWindowBits: Int? = nil
    ) {
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
    }

    /// Why an offer or answer is not valid permessage-deflate (RFC 7692 §7.1): nil when it is.
    /// A server declines an invalid offer; a client fails the connection on an invalid answer.
    public static func problem(with offer: ExtensionOffer, isAnswer: Bool) -> String? {
        guard offer.name == extensionName else { return "it is not \(extensionName)" }
        var seen: Set<String> = []
        for (name, value) in offer.parameters {
            guard seen.insert(name).inserted else { return "\(name) appears twice" }
            switch name {
            case "server_no_context_takeover", "client_no_context_takeover":
                if value != nil { return "\(name) takes no value" }
            case "server_max_window_bits":
                guard let value, let bits = Int(value), (8...15).contains(bits), value.first != "0" else {
                    return "server_max_window_bits needs a value from 8 to 15"
                }
            case "client_max_window_bits":
                // In an offer it may come bare ("I can take your answer's value"); an answer needs one.
                if value == nil && !isAnswer { continue }
                guard let value, let bits = Int(value), (8...15).contains(bits), value.first != "0" else {
                    return "client_max_window_bits needs a value from 8 to 15"
                }
            default:
                return "unknown parameter \(name)"
            }
        }
        return nil
    }

    /// The parameters of a valid answer (or offer); nil when ``problem(with:isAnswer:)`` finds one.
    public init?(_ offer: ExtensionOffer, isAnswer: Bool = true) {
        guard Self.problem(with: offer, isAnswer: isAnswer) == nil else { return nil }
        for (name, value) in offer.parameters {
            switch name {
            case "server_no_context_takeover": serverNoContextTakeover = true
            case "client_no_context_takeover": clientNoContextTakeover = true
            case "server_max_window_bits": serverMaxWindowBits = value.flatMap { Int($0) }
            case "client_max_window_bits": clientMaxWindowBits = value.flatMap { Int($0) }
            default: break
            }
        }
    }

    /// The permessage-deflate the server accepted, from the 101's `Sec-WebSocket-Extensions`
    /// values; nil when it accepted none (or answered with something invalid).
    public static func accepted(headerValues: [String]) -> DeflateParameters? {
        ExtensionOffer.parse(headerValues: headerValues).first { $0.name == extensionName }.flatMap { DeflateParameters($0) }
    }

    /// The window (in bits) the deflate stream of `sender` uses.
    public func windowBits(of sender: Role) -> Int {
        (sender == .client ? clientMaxWindowBits : serverMaxWindowBits) ?? 15
    }

    /// Whether `sender` starts every message with an empty window.
    public func resetsContext(of sender: Role) -> Bool {
        sender == .client ? clientNoContextTakeover : serverNoContextTakeover
    }

    /// What one parameter asks for, for a learner reading the handshake.
    public static func explain(parameter name: String, value: String?, isAnswer: Bool) -> String {
        switch name {
        case "client_max_window_bits":
            if let value { return isAnswer ? "the client must use a window of at most 2^\(value) bytes" : "the client will use at most 2^\(value) bytes of window" }
            return "the client can use a smaller window if the server asks (default 2^15 = 32 KiB)"
        case "server_max_window_bits":
            return isAnswer ? "the server uses a window of at most 2^\(value ?? "?") bytes" : "asks the server to use at most 2^\(value ?? "?") bytes of window"
        case "client_no_context_takeover":
            return isAnswer
                ? "the client compresses each message on its own (no memory of earlier ones)"
                : "the client will compress each message on its own"
        case "server_no_context_takeover":
            return isAnswer
                ? "the server compresses each message on its own (no memory of earlier ones)"
                : "asks the server to compress each message on its own"
        default:
            return "unknown parameter"
        }
    }

    /// A note for a `Sec-WebSocket-Extensions` header line of a request (the offer) or a 101 (the answer).
    public static func explain(headerValue: String, isAnswer: Bool) -> String {
        let offers = ExtensionOffer.parse(headerValues: [headerValue])
        guard let deflate = offers.first(where: { $0.name == extensionName }) else {
            return isAnswer ? "extensions the server accepted" : "extensions the client can use"
        }
        let parameters = deflate.parameters.map { explain(parameter: $0.name, value: $0.value, isAnswer: isAnswer) }
        let head = isAnswer
            ? "accepted: data frames may be compressed (RSV1=1)"
            : "offers per-message compression (RFC 7692)"
        return ([head] + parameters).joined(separator: "; ")
    }

    /// The server's answer to an offer it accepts, as the lab's library (swift-websocket) writes it.
    public var answerHeaderValue: String {
        var value = Self.extensionName
        if let clientMaxWindowBits { value += ";client_max_window_bits=\(clientMaxWindowBits)" }
        if clientNoContextTakeover { value += ";client_no_context_takeover" }
        if let serverMaxWindowBits { value += ";server_max_window_bits=\(serverMaxWindowBits)" }
        if serverNoContextTakeover { value += ";server_no_context_takeover" }
        return value
    }
}

/// Inflates the compressed messages of one direction of a connection (raw DEFLATE, RFC 1951).
/// `WireProtocol` does no decompression itself: a module with zlib hands one in
/// (``WireDissector/init(inflaters:)``), so the dissector stays free of I/O and native libraries.
public protocol MessageInflater: AnyObject, Sendable {
    /// Inflates one message's payload (its frames' payloads joined, with the four bytes
    /// `00 00 ff ff` the sender removed put back), continuing the stream of earlier messages.
    func inflate(_ compressed: [UInt8], limit: Int) throws -> [UInt8]
    /// Forgets the earlier messages (no context takeover).
    func reset() throws
}

/// Makes an inflater for a window of 2^bits bytes.
public typealias InflaterMaker = @Sendable (_ windowBits: Int) throws -> any MessageInflater

extension Opcode {
    /// Text, binary and continuation: the frames of data messages, which permessage-deflate compresses.
    public var isData: Bool { self == .text || self == .binary || self == .continuation }
}
