import CompressNIO
import LabServer
import Logging
import NIOCore
import Testing
import WireProtocol

/// A client's side of permessage-deflate, built for the suite from zlib (compress-nio) and the
/// RFC's rules: one deflate stream, flushed at every message's end, the `00 00 ff ff` the flush
/// leaves removed (RFC 7692 §7.2.1). Independent of the lab's compressor (swift-websocket's).
final class ClientDeflater {
    private let compressor: ZlibCompressor
    private let resetsContext: Bool

    init(windowBits: Int = 15, noContextTakeover: Bool = false) throws {
        compressor = try ZlibCompressor(
            algorithm: .deflate, configuration: ZlibConfiguration(windowSize: Int32(windowBits), compressionLevel: -1, memoryLevel: 8)
        )
        resetsContext = noContextTakeover
    }

    /// One message's compressed payload.
    func compress(_ message: [UInt8]) throws -> [UInt8] {
        // An empty message is one empty stored block without its tail: 0x00 (RFC 7692 §7.2.3.6).
        if message.isEmpty { return [0x00] }
        var input = ByteBuffer(bytes: message)
        let output = try input.compressStream(with: compressor, flush: .sync, allocator: ByteBufferAllocator())
        if resetsContext { try compressor.reset() }
        return Array(output.readableBytesView.dropLast(4))
    }

    /// The frames of one compressed message: RSV1 on the first only, the compressed bytes cut
    /// into `pieces` fragments.
    func frames(opcode: UInt8, _ message: [UInt8], pieces: Int = 1) throws -> [ClientFrame] {
        var frames = ClientFrame.fragments(opcode: opcode, of: try compress(message), pieces: pieces)
        frames[0].rsv = 4
        return frames
    }
}

/// Autobahn 12 and 13: permessage-deflate (RFC 7692) against the echo endpoint, as Autobahn runs
/// them against a server: messages of many sizes with context takeover (12.x), then parameter
/// combinations (13.x); and the failures RFC 7692 and RFC 6455 ask for.
@Suite("12-13 Compression") struct CompressionTests {
    static let offer = "permessage-deflate; client_max_window_bits"

    /// Autobahn 12.1-12.5 use payload sizes from 16 bytes to 128 KiB, text and binary, with
    /// messages that repeat (so that the window from earlier ones matters).
    static let payloadSizes = [0, 16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131_072]

    @Test("12.x echo of compressed messages of many sizes, text and binary, context taken over", arguments: payloadSizes)
    func sizes(_ size: Int) async throws {
        let lab = try await Labs.shared.lab(.standard)
        let session = try await Session.open(.echo, on: lab, extensions: Self.offer)
        defer { session.close() }
        #expect(session.deflate == DeflateParameters(), "the 101 answered \(session.upgradeResponse?.values(of: "Sec-WebSocket-Extensions") ?? [])")
        let deflater = try ClientDeflater()
        for round in 0..<5 {
            let text = Array(String(repeating: "{\"price\":\(round),\"symbol\":\"WIRE\"} ", count: size / 30 + 1).utf8.prefix(size))
            try await session.send(try deflater.frames(opcode: 0x1, text))
            try await session.expectAnswer(to: .text(text))
            let binary = allByteValues(size)
            try await session.send(try deflater.frames(opcode: 0x2, binary))
            try await session.expectAnswer(to: .binary(binary))
        }
        #expect(session.compressedFramesReceived == (size == 0 ? 5 : 10), "every answer but an empty one compressed (RSV1), as uvicorn's websockets does")
        try await session.expectOpen()
    }

    struct Combination: Sendable, CustomTestStringConvertible {
        let name: String
        let offer: String
        /// What the answer must agree.
        let agreed: DeflateParameters
        let windowBits: Int
        let noContextTakeover: Bool

        var testDescription: String { name }
    }

    /// Autobahn 13.1-13.7: offers with and without context takeover and with windows of 9 to 15
    /// bits; the lab answers with the offer's own parameters.
    static let combinations: [Combination] = [
        .init(name: "13.1 plain offer", offer: "permessage-deflate", agreed: .init(), windowBits: 15, noContextTakeover: false),
        .init(
            name: "13.2 client_no_context_takeover", offer: "permessage-deflate; client_no_context_takeover",
            agreed: .init(clientNoContextTakeover: true), windowBits: 15, noContextTakeover: true
        ),
        .init(
            name: "13.3 server_no_context_takeover", offer: "permessage-deflate; server_no_context_takeover",
            agreed: .init(serverNoContextTakeover: true), windowBits: 15, noContextTakeover: false
        ),
        .init(
            name: "13.4 client_max_window_bits=9", offer: "permessage-deflate; client_max_window_bits=9",
            agreed: .init(clientMaxWindowBits: 9), windowBits: 9, noContextTakeover: false
        ),
        .init(
            name: "13.5 server_max_window_bits=9", offer: "permessage-deflate; server_max_window_bits=9",
            agreed: .init(serverMaxWindowBits: 9), windowBits: 15, noContextTakeover: false
        ),
        .init(
            name: "13.6 both windows 12, both without context takeover",
            offer: "permessage-deflate; client_max_window_bits=12; server_max_window_bits=12; client_no_context_takeover; server_no_context_takeover",
            agreed: .init(serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 12),
            windowBits: 12, noContextTakeover: true
        ),
        .init(
            name: "13.7 a second offer is the fallback", offer: "permessage-deflate; server_max_window_bits=8, permessage-deflate; client_max_window_bits",
            agreed: .init(), windowBits: 15, noContextTakeover: false
        ),
    ]

    @Test("13.x parameters: the answer agrees them, and messages go both ways", arguments: combinations)
    func parameters(_ combination: Combination) async throws {
        let lab = try await Labs.shared.lab(.standard)
        let session = try await Session.open(.echo, on: lab, extensions: combination.offer)
        defer { session.close() }
        #expect(session.deflate == combination.agreed, "answered \(session.upgradeResponse?.values(of: "Sec-WebSocket-Extensions") ?? [])")
        let deflater = try ClientDeflater(windowBits: combination.windowBits, noContextTakeover: combination.noContextTakeover)
        for size in [10, 300, 5000, 70000] {
            // The same message twice: the second shows context takeover (or its absence).
            let message = Array(String(repeating: "wirelab compresses chatty JSON ", count: size / 31 + 1).utf8.prefix(size))
            for _ in 0..<2 {
                try await session.send(try deflater.frames(opcode: 0x1, message))
                try await session.expectAnswer(to: .text(message))
            }
        }
        try await session.expectOpen()
    }

    @Test("offers the lab declines (RFC 7692 §7.1): the connection opens uncompressed", arguments: [
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=8",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; x_unknown",
        "x-webkit-deflate-frame",
    ])
    func declined(_ offer: String) async throws {
        let lab = try await Labs.shared.lab(.standard)
        let session = try await Session.open(.echo, on: lab, extensions: offer)
        defer { session.close() }
        #expect(session.upgradeResponse?.values(of: "Sec-WebSocket-Extensions") == [])
        try await session.send(.text("plain"))
        try await session.expectAnswer(to: .text("plain"))
        #expect(session.compressedFramesReceived == 0)
    }

    @Test("12.x fragmented compressed messages: RSV1 on the first frame only", arguments: [2, 3, 10])
    func fragmented(_ pieces: Int) async throws {
        let lab = try await Labs.shared.lab(.standard)
        let session = try await Session.open(.echo, on: lab, extensions: Self.offer)
        defer { session.close() }
        let deflater = try ClientDeflater()
        let message = Array(String(repeating: "fragmented and compressed · ", count: 200).utf8)
        for _ in 0..<2 {
            var frames = try deflater.frames(opcode: 0x1, message, pieces: pieces)
            frames.insert(.ping(Array("between".utf8)), at: 1)  // a control frame may sit between fragments
            try await session.send(frames)
            try await session.expectAnswer(to: .text(message))
        }
    }

    @Test("a compressed message may mix with plain ones (RSV1=0 means not compressed)")
    func mixed() async throws {
        let lab = try await Labs.shared.lab(.standard)
        let session = try await Session.open(.echo, on: lab, extensions: Self.offer)
        defer { session.close() }
        let deflater = try ClientDeflater()
        try await session.send(.text("plain first"))
        try await session.expectAnswer(to: .text("plain first"))
        try await session.send(try deflater.frames(opcode: 0x1, Array("then compressed".utf8)))
        try await session.expectAnswer(to: .text("then compressed"))
    }

    struct Failure: Sendable, CustomTestStringConvertible {
        let name: String
        let code: UInt16
        let frames: @Sendable (ClientDeflater) throws -> [ClientFrame]

        var testDescription: String { name }
    }

    static let failures: [Failure] = [
        .init(name: "RSV1 on a ping", code: 1002) { _ in [ClientFrame(rsv: 4, opcode: 0x9, payload: Array("hi".utf8))] },
        .init(name: "RSV1 on a pong", code: 1002) { _ in [ClientFrame(rsv: 4, opcode: 0xA, payload: [])] },
        .init(name: "RSV1 on a close", code: 1002) { _ in [ClientFrame(rsv: 4, opcode: 0x8, payload: [0x03, 0xE8])] },
        .init(name: "RSV1 on a continuation", code: 1002) { deflater in
            var frames = try deflater.frames(opcode: 0x1, Array(String(repeating: "abc", count: 100).utf8), pieces: 2)
            frames[1].rsv = 4
            return frames
        },
        .init(name: "RSV2 with deflate agreed", code: 1002) { _ in [ClientFrame(rsv: 2, opcode: 0x1, payload: Array("x".utf8))] },
        .init(name: "compressed data that does not inflate", code: 1002) { _ in
            [ClientFrame(rsv: 4, opcode: 0x1, payload: [0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x01, 0x02])]
        },
        .init(name: "compressed text that is not UTF-8", code: 1007) { deflater in
            try deflater.frames(opcode: 0x1, [0x68, 0xC3, 0x28, 0x69])
        },
    ]

    @Test("failures with deflate agreed close with the RFC's code", arguments: failures)
    func failure(_ failure: Failure) async throws {
        let lab = try await Labs.shared.lab(.standard)
        let session = try await Session.open(.echo, on: lab, extensions: Self.offer)
        defer { session.close() }
        let deflater = try ClientDeflater()
        try await session.send(try failure.frames(deflater))
        try await session.expectClose(failure.code)
    }

    @Test("a compressed message that inflates past the lab's limit closes with 1009")
    func inflatesTooFar() async throws {
        let lab = try await Labs.shared.lab(.limited(4096))
        let session = try await Session.open(.echo, on: lab, extensions: Self.offer)
        defer { session.close() }
        let deflater = try ClientDeflater()
        let frames = try deflater.frames(opcode: 0x2, [UInt8](repeating: 0, count: 100_000))
        #expect(frames[0].payload.count < 4096, "small on the wire, so only inflating finds it too big")
        try await session.send(frames)
        try await session.expectClose(1009)
    }

    @Test("RSV1 when nothing was negotiated (no offer) fails with 1002")
    func notNegotiated() async throws {
        try await withSession(.echo) { session in
            #expect(session.deflate == nil)
            let deflater = try ClientDeflater()
            try await session.send(try deflater.frames(opcode: 0x1, Array("compressed anyway".utf8)))
            try await session.expectClose(1002)
        }
    }

    @Test("a lab started with deflate off declines every offer, and RSV1 then fails with 1002")
    func switchedOff() async throws {
        var configuration = LabConfiguration()
        configuration.port = 0
        configuration.acceptsDeflate = false
        configuration.limits.pingInterval = nil
        configuration.logger = Logger(label: "conformance")
        configuration.logger.logLevel = .critical
        let lab = try Lab(configuration: configuration)
        let running = RunningLab(kind: .standard, port: try await lab.start())
        let session = try await Session.open(.echo, on: running, extensions: Self.offer)
        #expect(session.upgradeResponse?.values(of: "Sec-WebSocket-Extensions") == [])
        try await session.send(try ClientDeflater().frames(opcode: 0x1, Array("compressed anyway".utf8)))
        try await session.expectClose(1002)
        session.close()
        // Switched on at run time, as `set deflate on` does: the next upgrade agrees.
        lab.context.compression.acceptsDeflate = true
        let second = try await Session.open(.echo, on: running, extensions: Self.offer)
        #expect(second.deflate != nil)
        second.close()
        await lab.stop()
    }
}
