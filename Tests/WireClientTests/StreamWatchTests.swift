import Testing
import WireClient
import WireProtocol

@Suite("stream patterns on incoming messages")
struct StreamWatchTests {
    static func metric(_ value: Int) -> JSON { .object([("type", "metrics"), ("active_users", .number(Double(value)))]) }
    static func ms(_ value: Int) -> Duration { .milliseconds(value) }

    @Test("throttle: the first message of each window, the rest dropped")
    func throttle() {
        var options = StreamWatch.Options()
        options.throttle = Self.ms(200)
        var watch = StreamWatch(options: options)
        // A burst every 50 ms for a second: 20 messages, one shown per 200 ms window.
        var shown: [Int] = []
        for step in 0..<20 {
            for case .message(let message) in watch.offer(Self.metric(step), at: Self.ms(step * 50)) {
                shown.append(Int(message["active_users"]!.numberValue!))
            }
        }
        #expect(shown == [0, 4, 8, 12, 16])
        #expect(watch.received == 20 && watch.shown == 5)
    }

    @Test("debounce: only the last message after a quiet spell")
    func debounce() {
        var options = StreamWatch.Options()
        options.debounce = Self.ms(300)
        var watch = StreamWatch(options: options)
        // Typing: messages at 0, 100, 200 ms, a pause, then 900 ms.
        var outputs: [StreamWatch.Output] = []
        for time in [0, 100, 200] { outputs += watch.offer(Self.metric(time), at: Self.ms(time)) }
        outputs += watch.tick(at: Self.ms(400))  // 200 ms of quiet: not yet
        #expect(outputs.isEmpty)
        outputs += watch.tick(at: Self.ms(500))  // 300 ms after the last one
        outputs += watch.offer(Self.metric(900), at: Self.ms(900))
        outputs += watch.tick(at: Self.ms(1300))
        #expect(outputs == [.message(Self.metric(200)), .message(Self.metric(900))])
    }

    @Test("buffer: a batch per window, empty windows skipped")
    func buffer() {
        var options = StreamWatch.Options()
        options.buffer = Self.ms(500)
        var watch = StreamWatch(options: options)
        var outputs: [StreamWatch.Output] = []
        for time in [0, 100, 400] { outputs += watch.offer(Self.metric(time), at: Self.ms(time)) }
        outputs += watch.tick(at: Self.ms(500))
        outputs += watch.tick(at: Self.ms(1000))  // nothing came: no empty batch
        outputs += watch.offer(Self.metric(1200), at: Self.ms(1200))
        outputs += watch.tick(at: Self.ms(1500))
        #expect(outputs == [.batch([Self.metric(0), Self.metric(100), Self.metric(400)]), .batch([Self.metric(1200)])])
        #expect(watch.shown == 4)
    }

    @Test("type filter and last-N history")
    func filterAndHistory() {
        var options = StreamWatch.Options()
        options.type = "metrics"
        options.last = 3
        var watch = StreamWatch(options: options)
        for value in 1...5 {
            _ = watch.offer(Self.metric(value), at: .zero)
            _ = watch.offer(.object([("type", "typing")]), at: .zero)
        }
        #expect(watch.received == 10 && watch.matched == 5 && watch.shown == 5)
        #expect(watch.history == [Self.metric(3), Self.metric(4), Self.metric(5)])
    }

    @Test("sparkline: scaled between the lowest and highest value")
    func sparkline() {
        #expect(Sparkline.render([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█")
        #expect(Sparkline.render([3, 3, 3]) == "▁▁▁")
        #expect(Sparkline.render([0, 10, 5]) == "▁█▅")
        #expect(Sparkline.render([]) == "")
    }
}
