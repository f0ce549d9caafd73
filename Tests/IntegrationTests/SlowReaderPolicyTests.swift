import LabServer
import Testing
import WireProtocol

/// The slow-reader rule without sockets or sleeping: instants are made, not waited for.
@Suite struct SlowReaderPolicyTests {
    let policy = SlowReaderPolicy(stallLimit: .seconds(10), queueByteCap: 1 << 20)
    let start = ContinuousClock.now

    @Test func aReaderWhoseSocketTakesBytesIsNeverStalledHoweverFarBehind() {
        var backlog = ReceiverBacklog()
        for index in 0..<1000 {
            // 1,000 messages behind (a count limit of 256 would have cut it off), but each write
            // goes through and the bytes stay under the cap.
            backlog.queued(size: 1000)
            #expect(backlog.admit(size: 1000, policy: policy, socketWritable: true, now: start + .seconds(index)) == .queue)
        }
        #expect(backlog.messages == 1000)
        #expect(backlog.stall(policy: policy, now: start + .seconds(3600)) == nil)
    }

    @Test func aSocketThatTakesNoBytesForTheStallLimitIsCutOffAndOneByteOfProgressResetsTheClock() {
        var backlog = ReceiverBacklog()
        backlog.queued(size: 100)
        backlog.socketRefusing(since: start)
        #expect(backlog.stall(policy: policy, now: start + .milliseconds(9_999)) == nil)
        let reason = backlog.stall(policy: policy, now: start + .seconds(10))
        #expect(reason == "stalled: its socket took no bytes for 10.0 s (1 message, 100 B waiting)")
        #expect(backlog.admit(size: 1, policy: policy, socketWritable: false, now: start + .seconds(10)) == .cutOff(reason!))

        // A near miss: the socket took a message at 9.9 s, so the clock starts again from there.
        var reading = ReceiverBacklog()
        reading.queued(size: 100)
        reading.queued(size: 100)
        reading.socketRefusing(since: start)
        reading.written(size: 100)
        reading.socketRefusing(since: start + .milliseconds(9_900))
        #expect(reading.stall(policy: policy, now: start + .seconds(19)) == nil)
        #expect(reading.stall(policy: policy, now: start + .milliseconds(19_900)) != nil)
    }

    @Test func overTheCapWithTheSocketFullIsCutOffButWithTheSocketTakingBytesThePublisherWaits() {
        var backlog = ReceiverBacklog()
        backlog.queued(size: (1 << 20) - 10)
        #expect(backlog.admit(size: 10, policy: policy, socketWritable: false, now: start) == .queue, "exactly at the cap is allowed")
        #expect(backlog.admit(size: 11, policy: policy, socketWritable: true, now: start) == .queueAndWait)
        #expect(backlog.admit(size: 11, policy: policy, socketWritable: false, now: start) == .cutOff("too slow: 1 MiB waiting, over its cap of 1 MiB, and its socket full"))
        // One message larger than the cap, to a receiver with nothing waiting, still goes.
        #expect(ReceiverBacklog().admit(size: 2 << 20, policy: policy, socketWritable: true, now: start) == .queueAndWait)
    }

    @Test func droppingABacklogGivesItsBytesBack() {
        var backlog = ReceiverBacklog()
        backlog.queued(size: 300)
        backlog.queued(size: 200)
        backlog.written(size: 300)
        #expect(backlog.drop() == 200)
        #expect(backlog == ReceiverBacklog())
    }

    @Test func theBudgetMakesPublishersWaitInTurnUntilBytesComeBack() async {
        let budget = OutboundBudget(limit: 1000)
        await budget.reserve(600)
        await budget.reserve(400)
        let waiting = Task { await budget.reserve(500) }
        // The waiter cannot have its bytes before some come back.
        for _ in 0..<50 { await Task.yield() }
        #expect(budget.used == 1000)
        budget.release(400)
        #expect(budget.used == 600, "400 back is not enough for 500 more")
        budget.release(100)
        await waiting.value
        #expect(budget.used == 1000)
        #expect(budget.peak == 1000)
        // Larger than the whole budget: waits for everything else, then goes alone.
        let huge = Task { await budget.reserve(5000) }
        budget.release(1000)
        await huge.value
        #expect(budget.used == 5000)
    }

    @Test func sizesAreWrittenAsPeopleReadThem() {
        #expect(ByteSize(512).description == "512 B")
        #expect(ByteSize(96 << 10).description == "96 KiB")
        #expect(ByteSize(1536 << 10).description == "1.5 MiB")
        #expect(ByteSize(16 << 20).description == "16 MiB")
    }
}
