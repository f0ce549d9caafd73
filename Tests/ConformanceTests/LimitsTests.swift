import Foundation
import LabServer
import NIOConcurrencyHelpers
import Testing
import WireProtocol

/// The lab's limit on message size: at most `--max-message-size` (1 MiB unless set), counted
/// over all of a message's fragments; one byte more fails the connection with 1009.
@Suite("9 Limits") struct LimitsTests {
    static let limit = LabLimits().maxMessageSize

    @Test("the default limit is 1 MiB")
    func defaultLimit() {
        #expect(Self.limit == 1 << 20)
    }

    @Test("a message of exactly the limit is answered", arguments: Target.allCases)
    func atTheLimit(_ target: Target) async throws {
        try await withSession(target) { try await $0.expectAccepted(text: target.textMessage(length: Self.limit)) }
    }

    @Test("the limit over 16 fragments is answered", arguments: Target.allCases)
    func atTheLimitInFragments(_ target: Target) async throws {
        try await withSession(target) { session in
            let message = allByteValues(Self.limit)
            try await session.expectAccepted(.binary(message), as: ClientFrame.fragments(opcode: 0x2, of: message, pieces: 16))
        }
    }

    @Test("one byte over the limit in one frame fails the connection with 1009", arguments: Target.allCases, [Opcode.text, .binary])
    func overInOneFrame(_ target: Target, opcode: Opcode) async throws {
        try await withSession(target) { session in
            try await session.send(ClientFrame(opcode: opcode.rawValue, payload: target.textMessage(length: Self.limit + 1)))
            let closing = try await session.expectClose(1009)
            #expect(closing.reason.contains("\(Self.limit) bytes"))
        }
    }

    @Test("one byte over the limit across fragments fails the connection with 1009", arguments: Target.allCases, [Opcode.text, .binary])
    func overInFragments(_ target: Target, opcode: Opcode) async throws {
        try await withSession(target) { session in
            let message = target.textMessage(length: Self.limit + 1)
            try await session.send(ClientFrame.fragments(opcode: opcode.rawValue, of: message, pieces: 3))
            try await session.expectClose(1009)
        }
    }

    @Test("a lab started with a limit of 4 KiB takes 4096 bytes and refuses 4097", arguments: Target.allCases)
    func ownLimit(_ target: Target) async throws {
        try await withSession(target, on: .limited(4096)) { session in
            try await session.expectAccepted(text: target.textMessage(length: 4096))
            try await session.send(.text(target.textMessage(length: 4097)))
            let closing = try await session.expectClose(1009)
            #expect(closing.reason.contains("4096 bytes"))
        }
    }

    @Test("wirelab serve --max-message-size 4KiB sets the limit")
    func commandLine() async throws {
        let served = try ServedLab(arguments: ["--max-message-size", "4KiB"])
        defer { served.stop() }
        let lab = RunningLab(kind: .limited(4096), port: try await served.port())
        let session = try await Session.open(.echo, on: lab)
        defer { session.close() }
        try await session.expectAccepted(text: letters(4096))
        try await session.send(.binary(allByteValues(4097)))
        try await session.expectClose(1009)
    }

    @Test(
        "sizes as --max-message-size reads them",
        arguments: [("1048576", 1_048_576), ("64KiB", 65536), ("16 MiB", 16 << 20), ("1gib", 1 << 30), ("100B", 100), ("0", 0)]
    )
    func sizes(_ text: String, _ bytes: Int) {
        #expect(LabLimits.parseByteCount(text) == bytes)
    }

    @Test("what --max-message-size refuses", arguments: ["", "12KB", "-1", "1.5MiB", "MiB", "١٠", "99999999999999999999", "9999999999999GiB"])
    func notSizes(_ text: String) {
        #expect(LabLimits.parseByteCount(text) == nil)
    }
}

/// `wirelab serve --port 0 …` as a child process, for the one case that checks the command line.
final class ServedLab: Sendable {
    private let process: Process
    private let log = NIOLockedValueBox("")

    init(arguments: [String]) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        process = Process()
        process.executableURL = root.appendingPathComponent(".build/debug/wirelab")
        process.arguments = ["serve", "--port", "0", "--ping-interval", "0"] + arguments
        let errors = Pipe()
        let log = self.log
        errors.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            log.withLockedValue { $0 += String(decoding: data, as: UTF8.self) }
        }
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    /// The port from the log line `… listening on 127.0.0.1:PORT …`.
    func port() async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(30)  // a loaded machine starts processes slowly
        while ContinuousClock.now < deadline && process.isRunning {
            if let match = log.withLockedValue({ $0 }).firstMatch(of: /listening on 127\.0\.0\.1:(\d+)/), let port = Int(match.1) { return port }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ConformanceFailure(description: "wirelab serve did not say its port: \(log.withLockedValue { $0 })")
    }

    func stop() {
        process.interrupt()  // SIGINT: the lab closes its sockets and exits
    }
}
