import Comparison
import Testing

@Suite("compare: reading the command line")
struct ComparisonRequestTests {
    @Test("defaults: 10 s runs, polls every second")
    func defaults() throws {
        let request = try ComparisonRequest(parsing: ["chat"])
        #expect(request.scenario == .chat)
        #expect(request.options.duration == .seconds(10))
        #expect(request.options.interval == .seconds(1))
        #expect(request.options.count(for: .chat) == 10)
        #expect(request.json == false)
        #expect(request.target == nil)
        #expect(request.options.deflate == false)
    }

    @Test("every option")
    func everyOption() throws {
        let request = try ComparisonRequest(parsing: [
            "notifications", "--duration", "5s", "--interval", "250ms", "--count", "4", "--steady", "--seed", "7", "--json", "--url", "http://127.0.0.1:8000", "--deflate",
        ])
        #expect(request.scenario == .notifications)
        #expect(request.options.duration == .seconds(5))
        #expect(request.options.interval == .milliseconds(250))
        #expect(request.options.count == 4)
        #expect(request.options.randomArrivals == false)
        #expect(request.options.seed == 7)
        #expect(request.json)
        #expect(request.target == ComparisonTarget(host: "127.0.0.1", port: 8000))
        #expect(request.options.deflate)
    }

    @Test("--tls asks for TLS; without it, plain TCP")
    func tlsFlag() throws {
        #expect(try ComparisonRequest(parsing: ["echo", "--tls"]).options.tls)
        #expect(try !ComparisonRequest(parsing: ["echo"]).options.tls)
    }

    @Test("mistakes are named", arguments: [
        ([], "needs a scenario"),
        (["chats"], "no scenario 'chats'"),
        (["chat", "--duration"], "--duration needs a value"),
        (["chat", "--duration", "forever"], "not 'forever'"),
        (["chat", "--interval", "1ms"], "from 50 ms to 60 s"),
        (["chat", "--count", "0"], "from 1 to 1000"),
        (["job", "--count", "500"], "at most 300 epochs"),
        (["chat", "--url", "http://localhost:8000/ws/chat"], "not a path"),
        (["chat", "--url", "wss://example.com:443"], "TLS"),
        (["chat", "--fast"], "unexpected '--fast'"),
        (["chat", "--tls", "--url", "http://127.0.0.1:8000"], "--tls runs against a lab of its own"),
    ])
    func mistakes(words: [String], message: String) {
        #expect {
            try ComparisonRequest(parsing: words)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test("steady arrivals sit in the middle of equal slots; random ones are seeded and early enough")
    func arrivals() {
        var options = ComparisonOptions()
        options.duration = .seconds(2)
        options.count = 4
        options.randomArrivals = false
        #expect(options.arrivals(for: .chat) == [.milliseconds(250), .milliseconds(750), .milliseconds(1250), .milliseconds(1750)])
        options.randomArrivals = true
        let random = options.arrivals(for: .notifications)
        #expect(random == options.arrivals(for: .notifications))
        #expect(random == random.sorted())
        #expect(random.allSatisfy { $0 >= .zero && $0 < .milliseconds(1800) })
        options.seed = 2
        #expect(options.arrivals(for: .notifications) != random)
    }
}
