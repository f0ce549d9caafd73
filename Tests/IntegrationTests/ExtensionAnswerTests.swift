import Foundation
import NIOConcurrencyHelpers
import Testing
import WireClient
import WireProtocol

/// A server whose 101 accepts an extension the client never offered, or with parameters the
/// offer does not allow (a Python peer no library would let us write): the client fails the
/// connection (RFC 6455 §4.1, RFC 7692 §7.1), and the REPL says which header broke which rule.
@Suite struct ExtensionAnswerTests {
    /// The fake server, started with the `Sec-WebSocket-Extensions` value it answers every upgrade with.
    static func badServer(answering extensions: String) async throws -> (ChildProcess, Int) {
        let server = try ChildProcess(try Paths.python(), ["\(Paths.peers)/bad_extension_server.py", extensions])
        #expect(await server.waitFor("listening "), "server stderr: \(server.stderr)")
        let port = try #require(server.stdout.split(separator: "\n").first.flatMap { Int($0.dropFirst("listening ".count)) })
        return (server, port)
    }

    @Test(arguments: [
        (nil as DeflateOffer?, "permessage-deflate", "RFC 6455 §4.1"),
        (DeflateOffer(), "permessage-deflate; client_max_window_bits=10, x-custom", "RFC 6455 §4.1"),
        (DeflateOffer(windowBits: 10), "permessage-deflate; server_max_window_bits=12", "RFC 7692 §7.1.2.1"),
        (DeflateOffer(windowBits: 10), "permessage-deflate; server_max_window_bits=10; client_max_window_bits=11", "RFC 7692 §7.1.2.2"),
    ])
    func theClientFailsTheConnection(offer: DeflateOffer?, answer: String, rule: String) async throws {
        let (server, port) = try await Self.badServer(answering: answer)
        defer { server.signal(SIGKILL) }
        let tapped = NIOLockedValueBox<[TapEvent]>([])
        do {
            _ = try await WebSocketClient.connect(
                to: WebSocketTarget(host: "127.0.0.1", port: port, path: "/"), requestKey: Handshake.sampleKey,
                randomness: Randomness(.seeded(1)), deflate: offer
            ) { event in tapped.withLockedValue { $0.append(event) } }
            Issue.record("the client opened a connection whose 101 answered \(answer)")
        } catch let error as WebSocketClient.HandshakeFailed {
            let problem = try #require(error.extensionProblem)
            #expect(problem.rule.hasPrefix(rule))
            #expect(error.description.contains("Sec-WebSocket-Extensions: "))
        }
        // The client closed TCP without sending a single frame.
        #expect(await server.waitFor("closed after 0 bytes", timeout: .seconds(10)), "server said: \(server.stdout)")
        #expect(server.stdout.contains("offered: " + (offer?.headerValue ?? "-")))
    }

    @Test func aLegalAnswerTheClientDidNotAskForStillOpens() async throws {
        // RFC 7692 §7.1.2.1: the server may pick a smaller window of its own, unasked.
        let (server, port) = try await Self.badServer(answering: "permessage-deflate; server_max_window_bits=10")
        defer { server.signal(SIGKILL) }
        let outcome = try await WebSocketClient.connect(
            to: WebSocketTarget(host: "127.0.0.1", port: port, path: "/"), requestKey: Handshake.sampleKey,
            randomness: Randomness(.seeded(1)), deflate: DeflateOffer()
        ) { _ in }
        guard case .open(let client) = outcome else {
            Issue.record("a legal answer was refused")
            return
        }
        await client.drop()
    }

    @Test func theREPLNamesTheHeaderAndTheRule() async throws {
        let (server, port) = try await Self.badServer(answering: "permessage-deflate; client_max_window_bits=10")
        defer { server.signal(SIGKILL) }
        let repl = try ChildProcess(Paths.wirelab, ["--no-lab", "--seed", "1"])
        repl.send("open ws://127.0.0.1:\(port)/ws/echo --deflate\nclients\nopen ws://127.0.0.1:\(port)/ws/echo\nquit\n")
        let status = await repl.waitForExit()
        let output = repl.stdout
        #expect(status == 0)
        #expect(output.contains("HTTP/1.1 101 Switching Protocols"))
        // A bare client_max_window_bits offered, 10 answered: legal, so the first client opens.
        #expect(output.contains("c1 open"))
        // The second offered nothing: the same answer now breaks RFC 6455 §4.1.
        #expect(output.contains("c2 failed the connection · the 101 answered Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10"))
        #expect(output.contains("permessage-deflate was never offered: this client offered no extension"))
        #expect(output.contains("rule: RFC 6455 §4.1"))
        // The header's own note does not call it agreed.
        #expect(output.contains("↳ not what this client offered: it fails the connection (below)"))
        #expect(output.contains("c2 closed · TCP connection closed by the client; no WebSocket was opened"))
        #expect(!output.contains("c2 open"))
        #expect(!output.contains("error:"), "the failure is the client's, shown in its stream: \(output)")
        #expect(repl.stderr.isEmpty, "stderr: \(repl.stderr)")
    }
}
