/// The status code carried in the first two bytes of a close frame (RFC 6455 §7.4).
public enum CloseCode: Hashable, Sendable {
    /// Corresponds to code 1000.
    case normalClosure
    /// Corresponds to code 1001.
    case goingAway
    /// Corresponds to code 1002.
    case protocolError
    /// Corresponds to code 1003.
    case unsupportedData
    /// Corresponds to code 1005. Never sent: it stands for "the close frame had no code".
    case noStatusReceived
    /// Corresponds to code 1006. Never sent: it stands for "the TCP connection dropped without a close frame".
    case abnormalClosure
    /// Corresponds to code 1007.
    case invalidPayloadData
    /// Corresponds to code 1008.
    case policyViolation
    /// Corresponds to code 1009.
    case messageTooBig
    /// Corresponds to code 1010.
    case mandatoryExtension
    /// Corresponds to code 1011.
    case internalError
    /// Corresponds to code 1012.
    case serviceRestart
    /// Corresponds to code 1013.
    case tryAgainLater
    /// Corresponds to code 1014.
    case badGateway
    /// Corresponds to code 1015. Never sent: it stands for "the TLS handshake failed".
    case tlsHandshakeFailure
    /// Any other value, including the registered (3000-3999) and private (4000-4999) ranges.
    case unknown(UInt16)

    public init(code: UInt16) {
        switch code {
        case 1000: self = .normalClosure
        case 1001: self = .goingAway
        case 1002: self = .protocolError
        case 1003: self = .unsupportedData
        case 1005: self = .noStatusReceived
        case 1006: self = .abnormalClosure
        case 1007: self = .invalidPayloadData
        case 1008: self = .policyViolation
        case 1009: self = .messageTooBig
        case 1010: self = .mandatoryExtension
        case 1011: self = .internalError
        case 1012: self = .serviceRestart
        case 1013: self = .tryAgainLater
        case 1014: self = .badGateway
        case 1015: self = .tlsHandshakeFailure
        default: self = .unknown(code)
        }
    }

    public var code: UInt16 {
        switch self {
        case .normalClosure: 1000
        case .goingAway: 1001
        case .protocolError: 1002
        case .unsupportedData: 1003
        case .noStatusReceived: 1005
        case .abnormalClosure: 1006
        case .invalidPayloadData: 1007
        case .policyViolation: 1008
        case .messageTooBig: 1009
        case .mandatoryExtension: 1010
        case .internalError: 1011
        case .serviceRestart: 1012
        case .tryAgainLater: 1013
        case .badGateway: 1014
        case .tlsHandshakeFailure: 1015
        case .unknown(let code): code
        }
    }

    /// Whether an endpoint may put this code in a close frame (RFC 6455 §7.4.1-7.4.2, IANA registry).
    public var mayAppearOnWire: Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }

    public var name: String {
        switch self {
        case .normalClosure: "normal closure"
        case .goingAway: "going away"
        case .protocolError: "protocol error"
        case .unsupportedData: "unsupported data"
        case .noStatusReceived: "no status received"
        case .abnormalClosure: "abnormal closure"
        case .invalidPayloadData: "invalid payload data"
        case .policyViolation: "policy violation"
        case .messageTooBig: "message too big"
        case .mandatoryExtension: "mandatory extension"
        case .internalError: "internal error"
        case .serviceRestart: "service restart"
        case .tryAgainLater: "try again later"
        case .badGateway: "bad gateway"
        case .tlsHandshakeFailure: "TLS handshake failure"
        case .unknown(let code):
            switch code {
            case 3000...3999: "registered application code"
            case 4000...4999: "private application code"
            default: "invalid code"
            }
        }
    }

    /// One sentence a learner can act on.
    public var meaning: String {
        switch self {
        case .normalClosure: "the purpose of the connection is fulfilled; a good client does not reconnect"
        case .goingAway: "the peer is leaving (server shutting down, endpoint switched off, page closed); reconnecting later is reasonable"
        case .protocolError: "the peer broke the WebSocket framing rules"
        case .unsupportedData: "the peer got a kind of data it cannot accept (e.g. binary where only text is expected)"
        case .noStatusReceived: "the close frame carried no status code"
        case .abnormalClosure: "the TCP connection ended without any close frame"
        case .invalidPayloadData: "a text message was not valid UTF-8, or data did not match its type"
        case .policyViolation: "the message broke the endpoint's policy (e.g. failed authentication)"
        case .messageTooBig: "the message is larger than the peer accepts"
        case .mandatoryExtension: "the client needed an extension the server did not agree to"
        case .internalError: "the server hit an unexpected condition while handling the connection"
        case .serviceRestart: "the server is restarting; reconnect after a pause"
        case .tryAgainLater: "the server is overloaded; reconnect later"
        case .badGateway: "a gateway got an invalid response from the server behind it"
        case .tlsHandshakeFailure: "the TLS handshake failed"
        case .unknown(let code):
            switch code {
            case 3000...3999: "meaning defined by a library or framework registered with IANA"
            case 4000...4999: "meaning agreed privately by this application"
            default: "no endpoint may send this code; receiving it is a protocol error"
            }
        }
    }
}

extension CloseCode: CustomStringConvertible {
    public var description: String { "\(code) \(name)" }
}
