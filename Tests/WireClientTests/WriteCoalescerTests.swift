import NIOCore
import NIOEmbedded
import Testing
import WireTransport

/// A frame's header and payload written apart must leave as one buffer (one TLS record).
@Suite struct WriteCoalescerTests {
    @Test func writesBetweenTwoFlushesLeaveAsOneBufferAndEveryPromiseIsKept() throws {
        let channel = EmbeddedChannel(handler: WriteCoalescer())
        let header = channel.write(ByteBuffer(bytes: [0x81, 0x02]))
        let payload = channel.write(ByteBuffer(string: "hi"))
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "nothing leaves before the flush")
        channel.flush()
        let out = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(Array(out.readableBytesView) == [0x81, 0x02, 0x68, 0x69])
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        try header.wait()
        try payload.wait()

        // The next flush starts afresh.
        channel.writeAndFlush(ByteBuffer(bytes: [0x88, 0x00]), promise: nil)
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { Array($0.readableBytesView) } == [0x88, 0x00])
        _ = try channel.finish()
    }
}
