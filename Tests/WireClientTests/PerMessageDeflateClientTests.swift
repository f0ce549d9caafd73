import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing
import WireProtocol

@testable import WireClient

/// The REPL client's side of permessage-deflate, frame by frame on an `EmbeddedChannel`: what
/// `FrameDeflater` puts on the wire, and what `FrameInflater` hands on.
@Suite("permessage-deflate in the client")
struct PerMessageDeflateClientTests {
    static let message = Array(String(repeating: #"{"type":"price","symbol":"WIRE","price":101.5} "#, count: 4).utf8)

    /// The frames the deflater writes for `messages`, each sent as `pieces` fragments.
    static func deflated(_ messages: [[UInt8]], parameters: DeflateParameters, pieces: Int = 1) throws -> [WebSocketFrame] {
        let channel = EmbeddedChannel(handler: try FrameDeflater(parameters: parameters))
        for message in messages {
            let size = message.count / pieces
            for piece in 0..<pieces {
                let end = piece == pieces - 1 ? message.count : (piece + 1) * size
                let frame = WebSocketFrame(
                    fin: piece == pieces - 1, opcode: piece == 0 ? .text : .continuation, maskKey: nil,
                    data: ByteBuffer(bytes: message[piece * size..<end])
                )
                try channel.writeOutbound(frame)
            }
        }
        var frames: [WebSocketFrame] = []
        while let frame = try channel.readOutbound(as: WebSocketFrame.self) { frames.append(frame) }
        return frames
    }

    @Test func contextTakeoverMakesTheSecondCopyCheap() throws {
        let frames = try Self.deflated([Self.message, Self.message], parameters: DeflateParameters())
        let allCompressed = frames.allSatisfy { $0.rsv1 }
        #expect(allCompressed)
        #expect(frames[1].data.readableBytes < frames[0].data.readableBytes / 3)
        let inflater = try ZlibMessageInflater(windowBits: 15)
        for frame in frames {
            #expect(try inflater.inflate(Array(frame.data.readableBytesView) + [0, 0, 0xFF, 0xFF], limit: 1 << 20) == Self.message)
        }
    }

    @Test func noContextTakeoverCompressesEachMessageAlone() throws {
        let frames = try Self.deflated([Self.message, Self.message], parameters: DeflateParameters(clientNoContextTakeover: true))
        #expect(frames[0].data == frames[1].data)
    }

    @Test func aFragmentedMessageHasRSV1OnItsFirstFrameOnly() throws {
        let frames = try Self.deflated([Self.message], parameters: DeflateParameters(), pieces: 3)
        let rsv1 = frames.map { $0.rsv1 }
        #expect(rsv1 == [true, false, false])
        let joined = frames.flatMap { Array($0.data.readableBytesView) }
        #expect(try ZlibMessageInflater(windowBits: 15).inflate(joined + [0, 0, 0xFF, 0xFF], limit: 1 << 20) == Self.message)
    }

    @Test func controlFramesAndEmptyMessagesPassUncompressed() throws {
        let channel = EmbeddedChannel(handler: try FrameDeflater(parameters: DeflateParameters()))
        try channel.writeOutbound(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "hi")))
        try channel.writeOutbound(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer()))
        let ping = try #require(try channel.readOutbound(as: WebSocketFrame.self))
        let empty = try #require(try channel.readOutbound(as: WebSocketFrame.self))
        #expect(!ping.rsv1 && String(buffer: ping.data) == "hi")
        #expect(!empty.rsv1 && empty.data.readableBytes == 0)
    }

    @Test func theInflaterHandsOnWholeInflatedMessages() throws {
        // The server's frames: the same deflate stream, read by the client.
        let sent = try Self.deflated([Self.message], parameters: DeflateParameters(), pieces: 2)
        let channel = EmbeddedChannel(handler: try FrameInflater(parameters: DeflateParameters()))
        for frame in sent { try channel.writeInbound(frame) }
        try channel.writeInbound(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "not compressed")))
        let first = try #require(try channel.readInbound(as: WebSocketFrame.self))
        #expect(first.opcode == .text && first.fin && !first.rsv1)
        #expect(Array(first.data.readableBytesView) == Self.message)
        let plain = try #require(try channel.readInbound(as: WebSocketFrame.self))
        #expect(String(buffer: plain.data) == "not compressed")
    }
}
