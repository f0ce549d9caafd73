/// What a 101's `Sec-WebSocket-Extensions` may say, given what the upgrade request offered: the
/// client's side of RFC 6455 §4.1 and RFC 7692 §5 and §7.1. A server may only accept what was
/// offered, once, with parameters a response may carry; a client that gets anything else must
/// fail the connection (close TCP) instead of guessing what the frames will mean.
public enum ExtensionAnswer {
    /// One rule the answer breaks: the element as the server wrote it, what is wrong, and where
    /// the rule is written.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        /// The offending element of the answer, e.g. `permessage-deflate; client_max_window_bits=10`.
        public let element: String
        /// What is wrong with it, in a sentence a learner can read.
        public let reason: String
        /// The rule, e.g. `RFC 7692 §7.1.2.2`.
        public let rule: String

        public var description: String {
            "the 101 answered Sec-WebSocket-Extensions: \(element) · \(reason) (\(rule)), so the client failed the connection"
        }
    }

    /// The permessage-deflate the client must use, checked against its offer: nil when the server
    /// accepted none. Throws the first rule the answer breaks.
    /// - Parameters:
    ///   - offered: the request's `Sec-WebSocket-Extensions` values.
    ///   - answered: the 101's `Sec-WebSocket-Extensions` values.
    ///   - clientWindowBits: the windows this client can compress with (zlib: 9-15).
    public static func agreedDeflate(
        offered: [String], answered: [String], clientWindowBits: ClosedRange<Int> = 8...15
    ) throws(Problem) -> DeflateParameters? {
        let offers = ExtensionOffer.parse(headerValues: offered)
        let answers = ExtensionOffer.parse(headerValues: answered)
        var accepted: Set<String> = []
        for answer in answers {
            guard offers.contains(where: { $0.name == answer.name }) else {
                let offeredNames = offers.map(\.name)
                let what = offeredNames.isEmpty ? "offered no extension" : "offered only \(offeredNames.joined(separator: ", "))"
                throw Problem(
                    element: answer.headerValue, reason: "\(answer.name) was never offered: this client \(what)",
                    rule: "RFC 6455 §4.1: a server may only accept extensions the client offered")
            }
            guard accepted.insert(answer.name).inserted else {
                throw Problem(
                    element: answer.headerValue, reason: "the server accepted \(answer.name) twice",
                    rule: "RFC 7692 §5: a server accepts one offer of a compression extension; two would both claim RSV1")
            }
        }
        guard let answer = answers.first(where: { $0.name == DeflateParameters.extensionName }) else { return nil }
        if let problem = DeflateParameters.problem(with: answer, isAnswer: true) {
            throw Problem(element: answer.headerValue, reason: problem, rule: "RFC 7692 §7.1: the parameters a response may carry")
        }
        guard var agreed = DeflateParameters(answer) else { return nil }
        // The client's own offer: the one element of permessage-deflate the answer can accept.
        let offerElement = offers.first { $0.name == DeflateParameters.extensionName }
        let offer = offerElement.flatMap { DeflateParameters($0, isAnswer: false) } ?? DeflateParameters()
        // A bare client_max_window_bits ("any window you ask for") is an offer of it too.
        let offeredNames = Set(offerElement?.parameters.map(\.name) ?? [])
        func problem(_ reason: String, _ section: String) -> Problem {
            Problem(element: answer.headerValue, reason: reason, rule: "RFC 7692 \(section)")
        }
        if offer.serverNoContextTakeover && !agreed.serverNoContextTakeover {
            throw problem("the client asked for server_no_context_takeover and the answer leaves it out", "§7.1.1.1: a server accepts it by echoing it")
        }
        if let answered = agreed.clientMaxWindowBits {
            guard offeredNames.contains("client_max_window_bits") else {
                throw problem(
                    "client_max_window_bits=\(answered) answers an offer without client_max_window_bits",
                    "§7.1.2.2: a server may send it only when the client offered it")
            }
            if let limit = offer.clientMaxWindowBits, answered > limit {
                throw problem("client_max_window_bits=\(answered) is larger than the \(limit) the client offered", "§7.1.2.2: at most the offered value")
            }
        } else if let limit = offer.clientMaxWindowBits {
            // The client said it would use at most this window: it keeps its word.
            agreed.clientMaxWindowBits = limit
        }
        if let limit = offer.serverMaxWindowBits {
            guard let answered = agreed.serverMaxWindowBits else {
                throw problem("the client asked for server_max_window_bits=\(limit) and the answer leaves it out", "§7.1.2.1: a server accepts it by answering with it")
            }
            if answered > limit {
                throw problem("server_max_window_bits=\(answered) is larger than the \(limit) the client asked for", "§7.1.2.1: at most the value asked for")
            }
        }
        if !clientWindowBits.contains(agreed.windowBits(of: .client)) {
            throw problem(
                "this client cannot compress with a window of 2^\(agreed.windowBits(of: .client)) bytes (it can with 2^\(clientWindowBits.lowerBound) to 2^\(clientWindowBits.upperBound))",
                "§7.1: a client fails the connection on a configuration it does not support")
        }
        if offer.clientNoContextTakeover { agreed.clientNoContextTakeover = true }
        return agreed
    }
}
