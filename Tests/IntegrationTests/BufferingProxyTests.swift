import NIOConcurrencyHelpers
import Testing
import WireClient
import WireProtocol

/// The buffering proxy that lesson 8 puts in front of an event stream: the head at once, the body
/// held until `bufferSize` bytes collect, then passed on in one piece.
@Suite struct BufferingProxyTests {
    @Test func anEventStreamBehindItArrivesInClumps() async throws {
        let (lab, port) = try await startLab()
        let reports = NIOLockedValueBox<[BufferingProxy.Report]>([])
        let proxy = try await BufferingProxy.start(upstreamHost: "127.0.0.1", upstreamPort: port, bufferSize: 256) { report in
            reports.withLockedValue { $0.append(report) }
        }
        let client = try await RawConnection(port: proxy.port)
        try await client.write("GET /http/chat/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        let (head, _) = await client.readHead()
        #expect(head?.status == 200)
        #expect(head?.field("Content-Type")?.hasPrefix("text/event-stream") == true)

        // The stream's first bytes (retry:) are held: once the proxy says so, nothing of the body
        // can have reached the client.
        #expect(await eventually { reports.withLockedValue { $0.contains { if case .holding = $0 { true } else { false } } } })
        let headOnly = client.bytes.count
        #expect(await eventually { client.bytes.count == headOnly })

        // Enough events to pass the buffer size: they reach the client only in pieces of at least
        // 256 bytes, and nothing else does.
        for index in 1...4 {
            _ = try await httpRequest("POST", "/http/chat/ann", port: port, body: #"{"text":"message number \#(index), padded to make it long enough"}"#)
        }
        let pieces: @Sendable () -> [Int] = { reports.withLockedValue { $0.compactMap { if case .passedOn(let bytes) = $0 { bytes } else { nil } } } }
        #expect(await eventually { !pieces().isEmpty && client.bytes.count - headOnly == pieces().reduce(0, +) })
        #expect(pieces().allSatisfy { $0 >= 256 })

        await client.close()
        await proxy.stop()
        await lab.stop()
    }
}
