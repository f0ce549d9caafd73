import Foundation
import LabServer
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import WireProtocol

/// Where things are, found from this file's own path so tests run from any directory.
enum Paths {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let wirelab = packageRoot.appendingPathComponent(".build/debug/wirelab").path
    static let peers = packageRoot.appendingPathComponent("Tests/IntegrationTests/peers").path

    struct Missing: Error, CustomStringConvertible {
        let description: String
    }

    /// The Python with `websockets` that `make test` installs; a test that needs it fails
    /// (rather than skips) without it, so a missing install step cannot pass unnoticed.
    static func python() throws -> String {
        let path = ProcessInfo.processInfo.environment["WIRELAB_PYTHON"] ?? packageRoot.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw Missing(description: "no Python with websockets at \(path); run the tests with `make test`, which installs it")
        }
        return path
    }
}

/// A lab context for tests that need endpoints without a server.
func testLabContext() -> LabContext {
    LabContext(clock: .system, limits: LabLimits(), broadcastMode: .queued, logger: Logger(label: "test"))
}

/// A lab on a free port for one test.
func startLab(only: [String]? = nil, configure: (inout LabConfiguration) -> Void = { _ in }) async throws -> (Lab, Int) {
    var configuration = LabConfiguration()
    configuration.port = 0
    configuration.only = only
    configuration.logger.logLevel = .warning
    configure(&configuration)
    let lab = try Lab(configuration: configuration)
    let port = try await lab.start()
    return (lab, port)
}

/// A plain TCP connection that writes and reads raw bytes: the test's own independent view.
final class RawConnection: Sendable {
    private let channel: any Channel
    private let received: NIOLockedValueBox<[UInt8]>
    private let closed: NIOLockedValueBox<Bool>

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let received: NIOLockedValueBox<[UInt8]>
        let closed: NIOLockedValueBox<Bool>
        init(received: NIOLockedValueBox<[UInt8]>, closed: NIOLockedValueBox<Bool>) {
            self.received = received
            self.closed = closed
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = Array(unwrapInboundIn(data).readableBytesView)
            received.withLockedValue { $0 += bytes }
        }
        func channelInactive(context: ChannelHandlerContext) {
            closed.withLockedValue { $0 = true }
        }
    }

    /// - Parameter keepOpenAfterFIN: stay open when the server ends its side (as a client that
    ///   does not notice would), instead of closing too.
    init(port: Int, keepOpenAfterFIN: Bool = false) async throws {
        let received = NIOLockedValueBox<[UInt8]>([])
        let closed = NIOLockedValueBox(false)
        self.received = received
        self.closed = closed
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.allowRemoteHalfClosure, value: keepOpenAfterFIN)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(received: received, closed: closed))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
    }

    func write(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func write(_ text: String) async throws {
        try await write(Array(text.utf8))
    }

    var bytes: [UInt8] { received.withLockedValue { $0 } }
    var isClosed: Bool { closed.withLockedValue { $0 } }

    /// Waits until the received bytes satisfy `condition` (or the connection closes, or 5 s pass).
    @discardableResult
    func waitFor(_ condition: @Sendable ([UInt8]) -> Bool) async -> [UInt8] {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            let now = bytes
            if condition(now) || isClosed { return bytes }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return bytes
    }

    /// Reads an HTTP response head; returns it and the bytes after it.
    func readHead() async -> (head: HTTPHead?, rest: [UInt8]) {
        let all = await waitFor { if case .head = HTTPHead.parse($0) { true } else { false } }
        guard case .head(let head, let consumed) = HTTPHead.parse(all) else { return (nil, all) }
        return (head, Array(all[consumed...]))
    }

    /// Sends a valid upgrade request for `path` and returns the response head.
    func upgrade(_ path: String, extraHeaders: String = "") async throws -> HTTPHead? {
        try await write(
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: \(Handshake.sampleKey)\r\nSec-WebSocket-Version: 13\r\n\(extraHeaders)\r\n"
        )
        return await readHead().head
    }

    /// The frames the server sent after the handshake, once `condition` holds for them.
    func frames(until condition: @escaping @Sendable ([Frame]) -> Bool) async -> [Frame] {
        let all = await waitFor { bytes in condition(Self.frames(afterHeadIn: bytes)) }
        return Self.frames(afterHeadIn: all)
    }

    static func frames(afterHeadIn bytes: [UInt8]) -> [Frame] {
        guard case .head(_, let consumed) = HTTPHead.parse(bytes) else { return [] }
        var stream = FrameStream(sender: .server)
        return stream.append(bytes[consumed...]).compactMap { item in
            if case .frame(let frame, _) = item { return frame }
            return nil
        }
    }

    func close() async {
        try? await channel.close()
    }
}

/// A masked client frame built by hand (the test's own encoder, independent of NIO's).
func clientFrame(opcode: UInt8, payload: [UInt8], fin: Bool = true, key: [UInt8] = [0x37, 0xfa, 0x21, 0x3d], masked: Bool = true, rsv: UInt8 = 0) -> [UInt8] {
    var bytes: [UInt8] = [(fin ? 0x80 : 0) | rsv | opcode]
    let maskBit: UInt8 = masked ? 0x80 : 0
    switch payload.count {
    case 0...125: bytes.append(maskBit | UInt8(payload.count))
    case 126...0xFFFF: bytes += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    default: bytes += [maskBit | 127] + (0..<8).reversed().map { UInt8((UInt64(payload.count) >> (UInt64($0) * 8)) & 0xFF) }
    }
    if masked {
        bytes += key
        bytes += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
    } else {
        bytes += payload
    }
    return bytes
}

/// A child process with its output collected as it arrives.
final class ChildProcess: Sendable {
    private let process: Process
    private let stdinPipe = Pipe()
    private let output = NIOLockedValueBox("")
    private let errorOutput = NIOLockedValueBox("")

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        let stdoutPipe = Pipe()
        let stderrPipe = Pipe()
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        let output = self.output
        let errorOutput = self.errorOutput
        stdoutPipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            output.withLockedValue { $0 += String(decoding: data, as: UTF8.self) }
        }
        stderrPipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            errorOutput.withLockedValue { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    var stdout: String { output.withLockedValue { $0 } }
    var stderr: String { errorOutput.withLockedValue { $0 } }

    func send(_ text: String) {
        stdinPipe.fileHandleForWriting.write(Data(text.utf8))
    }

    func closeInput() {
        try? stdinPipe.fileHandleForWriting.close()
    }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits until stdout or stderr contains `text` (30 s at most: a loaded machine starts processes slowly). - Returns: whether it did.
    @discardableResult
    func waitFor(_ text: String, inStderr: Bool = false, timeout: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (inStderr ? stderr : stdout).contains(text) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// Waits for the process to exit (30 s at most, then kills it). - Returns: its status.
    func waitForExit(timeout: Duration = .seconds(30)) async -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if process.isRunning {
            // Not terminate() + waitUntilExit(): on Linux that pair can spin forever off the main thread.
            kill(process.processIdentifier, SIGKILL)
            let killDeadline = ContinuousClock.now + .seconds(5)
            while process.isRunning && ContinuousClock.now < killDeadline {
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        try? await Task.sleep(for: .milliseconds(50))  // let the last output arrive
        return process.terminationStatus
    }
}

/// Keeps what a logger was asked to log, for tests about the server's log.
struct RecordingLogHandler: LogHandler {
    struct Record: Sendable {
        let level: Logger.Level
        let message: String
        let source: String
    }
    let records: NIOLockedValueBox<[Record]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        records.withLockedValue { $0.append(Record(level: event.level, message: "\(event.message)", source: event.source)) }
    }
}
