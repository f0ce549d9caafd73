import HummingbirdWSCompression
import HummingbirdWebSocket
import NIOConcurrencyHelpers
import NIOHTTP1
import NIOWebSocket
import WireProtocol

/// Whether the lab accepts permessage-deflate (RFC 7692), as uvicorn does by default. Switched at
/// run time (`set deflate off` in the REPL); a connection keeps what its handshake agreed.
public final class CompressionSwitch: Sendable {
    private let on = NIOLockedValueBox(true)

    public init() {}

    public var acceptsDeflate: Bool {
        get { on.withLockedValue { $0 } }
        set { on.withLockedValue { $0 = newValue } }
    }
}

/// The lab's side of permessage-deflate. The compressing and inflating is swift-websocket's
/// `WSCompression` (zlib through compress-nio); the lab decides which offers reach it.
enum LabCompression {
    /// The extension as Hummingbird is configured with it: it accepts any offer that reaches it,
    /// answering with the offer's own parameters (RFC 7692 §7.1), and compresses every data
    /// message, however small, as uvicorn's `websockets` does, but for empty ones (compress-nio
    /// cannot compress zero bytes; an uncompressed message is allowed, RSV1=0).
    static func extensionFactory(maxMessageSize: Int) -> WebSocketExtensionFactory {
        .perMessageDeflate(maxWindow: nil, noContextTakeover: false, maxDecompressedFrameSize: maxMessageSize, minFrameSizeToCompress: 1)
    }

    /// Picks the offer the lab accepts from a request's `Sec-WebSocket-Extensions` and rewrites
    /// the header so that only that one reaches Hummingbird (or none, when the lab refuses
    /// compression or no offer is valid). The raw request on the wire is unchanged: a tap still
    /// shows what the client offered.
    ///
    /// An offer is declined (not an error: the connection opens uncompressed) when its parameters
    /// break RFC 7692 §7.1, or when it asks the server for an 8-bit window, which zlib's raw
    /// deflate cannot compress with.
    static func choose(in headers: inout HTTPHeaders, accepting: Bool) -> DeflateParameters? {
        let offers = ExtensionOffer.parse(headerValues: headers["Sec-WebSocket-Extensions"])
        headers.remove(name: "Sec-WebSocket-Extensions")
        guard accepting else { return nil }
        for offer in offers where offer.name == DeflateParameters.extensionName {
            guard var agreed = DeflateParameters(offer, isAnswer: false), agreed.serverMaxWindowBits != 8 else { continue }
            headers.add(name: "Sec-WebSocket-Extensions", value: offer.headerValue)
            // As swift-websocket answers: a bare client_max_window_bits is not echoed.
            if offer.parameters.contains(where: { $0.name == "client_max_window_bits" && $0.value == nil }) {
                agreed.clientMaxWindowBits = nil
            }
            return agreed
        }
        return nil
    }
}
