import Testing
import WireClient

@Suite("reconnection rules")
struct ReconnectionTests {
    @Test("backoff doubles from 1 s and stops at 30 s")
    func schedule() {
        let backoff = Backoff()
        #expect(backoff.schedule(8) == [1, 2, 4, 8, 16, 30, 30, 30].map { Duration.seconds($0) })
        #expect(backoff.maxAttempts == 10)
    }

    @Test("a smaller base and cap keep the shape")
    func customSchedule() {
        var backoff = Backoff()
        backoff.base = .milliseconds(250)
        backoff.cap = .seconds(1)
        #expect(backoff.schedule(5) == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(1), .seconds(1)])
    }

    @Test("jitter spreads a delay over ± the fraction, and stays inside it", arguments: [0.0, 0.25, 0.5, 0.999])
    func jitter(random: Double) {
        var backoff = Backoff()
        backoff.jitter = 0.2
        let delay = backoff.delay(beforeAttempt: 3, random: random)  // 4 s without jitter
        #expect(delay >= .milliseconds(3200) && delay <= .milliseconds(4800))
        #expect(backoff.delay(beforeAttempt: 3, random: 0.5) == .seconds(4))
    }

    @Test("which endings are retried")
    func whichEndingsAreRetried() {
        #expect(!ConnectionEnd.closedByUser.shouldReconnect)
        #expect(!ConnectionEnd.closedByServer(1000).shouldReconnect)
        #expect(ConnectionEnd.closedByServer(1001).shouldReconnect)
        #expect(ConnectionEnd.closedByServer(1011).shouldReconnect)
        #expect(ConnectionEnd.dropped.shouldReconnect)
        #expect(ConnectionEnd.refused(status: 503).shouldReconnect)
        #expect(ConnectionEnd.unreachable.shouldReconnect)
    }

    @Test("the queue keeps order, sends each once, and puts a failed one back in front")
    func queue() {
        var queue = OutboundQueue(limit: 3)
        for message in ["a", "b", "c"] {
            let queued = queue.enqueue(message)
            #expect(queued)
        }
        let overflow = queue.enqueue("d")
        #expect(!overflow)
        #expect(queue.next() == "a")
        queue.putBack("a")
        var sent: [String] = []
        while let message = queue.next() { sent.append(message) }
        #expect(sent == ["a", "b", "c"])
        #expect(queue.count == 0)
    }

    @Test("a heartbeat's timeout defaults to its interval, at most 10 s")
    func heartbeatTimeout() {
        #expect(Heartbeat(interval: .seconds(5)).timeout == .seconds(5))
        #expect(Heartbeat().timeout == .seconds(10))
        #expect(Heartbeat(interval: .seconds(5), timeout: .seconds(1)).timeout == .seconds(1))
    }
}
