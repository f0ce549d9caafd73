import NIOCore
import NIOSSL
import WireTransport
import NIOTLS
import WireProtocol

/// How a client speaks TLS (wss://, https://): whom it trusts, and where the bytes a network
/// observer sees are reported.
///
/// The pipeline becomes: a raw ``WireTap`` (the encrypted records, as the socket sees them) →
/// NIOSSL's client handler → the usual ``WireTap`` (the decrypted bytes, the same HTTP and frames
/// as over ws://) → the codecs.
public struct ClientTLS: Sendable {
    public enum Trust: Sendable {
        /// The system's certificate authorities and these (the lab's own, generated at start);
        /// the certificate must also name the host connected to.
        case verify(alsoTrusting: [NIOSSLCertificate])
        /// No verification at all (`--insecure`): anyone on the path could be the server.
        case insecure
    }

    public var trust: Trust
    /// Gets the bytes before decryption: TLS records.
    public var recordTap: TapSink

    public init(trust: Trust, recordTap: @escaping TapSink) {
        self.trust = trust
        self.recordTap = recordTap
    }

    /// Puts NIOSSL's client handler and the raw tap in front of everything already in the
    /// pipeline (the plain tap included). - Returns: a future that completes when the TLS
    /// handshake has, or fails with its error.
    func addHandlers(to channel: any Channel, host: String) throws -> EventLoopFuture<Void> {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.applicationProtocols = ["http/1.1"]
        switch trust {
        case .verify(let extra): if !extra.isEmpty { configuration.additionalTrustRoots = [.certificates(extra)] }
        case .insecure: configuration.certificateVerification = .none
        }
        let context = try NIOSSLContext(configuration: configuration)
        // SNI carries a host name only: RFC 6066 forbids addresses, so none is sent for 127.0.0.1
        // (the certificate is then checked against the address connected to).
        let serverName = (try? SocketAddress(ipAddress: host, port: 0)) != nil ? nil : host
        let operations = channel.pipeline.syncOperations
        let watch = TLSHandshakeWatch(promise: channel.eventLoop.makePromise())
        try operations.addHandler(watch, position: .first)
        // A frame's header and payload in one record, as a browser sends them.
        try operations.addHandler(WriteCoalescer(), position: .first)
        try operations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: serverName), position: .first)
        try operations.addHandler(WireTap(sink: recordTap), position: .first)
        return watch.promise.futureResult
    }

    /// A learner's explanation of a TLS failure, or nil when `error` is not one.
    public static func explain(_ error: any Error) -> String? {
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate verify failed") {
            return "the server's certificate is not one this client trusts (self-signed, or for another name), so it stopped before sending anything (CERTIFICATE_VERIFY_FAILED). Add --insecure to skip the check (then anyone on the path could pretend to be the server)"
        }
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return "the server's certificate is not valid for this host name: \(error). Use a name the certificate lists, or --insecure"
        }
        if text.contains("WRONG_VERSION_NUMBER") {
            return "the server did not answer in TLS (its first bytes were not a TLS record): a plain ws:// or http:// port?"
        }
        if error is NIOSSLError || error is NIOSSLExtraError {
            return "the TLS handshake failed: \(text) (is this port speaking TLS?)"
        }
        return nil
    }
}

/// Sits right after NIOSSL's handler and reports the end of the TLS handshake: completed, or
/// the error that ended it.
final class TLSHandshakeWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    let promise: EventLoopPromise<Void>
    private var done = false

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event, !done {
            done = true
            promise.succeed(())
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done {
            done = true
            promise.fail(error)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(ChannelError.eof)
        }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(ChannelError.ioOnClosedChannel)
        }
    }
}
