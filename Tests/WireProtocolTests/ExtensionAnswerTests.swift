import Testing
import WireProtocol

/// What a client may accept in a 101's Sec-WebSocket-Extensions, given its offer (RFC 6455 §4.1,
/// RFC 7692 §5 and §7.1), case by case as python-websockets' client judges them too.
@Suite struct ExtensionAnswerTests {
    static let browserOffer = "permessage-deflate; client_max_window_bits"

    @Test(arguments: [
        // offered, answered, the rule it breaks
        ("", "permessage-deflate", "RFC 6455 §4.1"),
        ("", "x-webkit-deflate-frame", "RFC 6455 §4.1"),
        (browserOffer, "permessage-deflate, x-custom", "RFC 6455 §4.1"),
        (browserOffer, "permessage-deflate, permessage-deflate", "RFC 7692 §5"),
        (browserOffer, "permessage-deflate; client_max_window_bits", "RFC 7692 §7.1"),  // an answer needs a value
        (browserOffer, "permessage-deflate; server_max_window_bits=16", "RFC 7692 §7.1"),
        (browserOffer, "permessage-deflate; x=1", "RFC 7692 §7.1"),
        (browserOffer, "permessage-deflate; server_no_context_takeover; server_no_context_takeover", "RFC 7692 §7.1"),
        ("permessage-deflate", "permessage-deflate; client_max_window_bits=10", "RFC 7692 §7.1.2.2"),
        ("permessage-deflate; client_max_window_bits=10", "permessage-deflate; client_max_window_bits=12", "RFC 7692 §7.1.2.2"),
        ("permessage-deflate; server_max_window_bits=10", "permessage-deflate", "RFC 7692 §7.1.2.1"),
        ("permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_max_window_bits=11", "RFC 7692 §7.1.2.1"),
        ("permessage-deflate; server_no_context_takeover", "permessage-deflate", "RFC 7692 §7.1.1.1"),
        (browserOffer, "permessage-deflate; client_max_window_bits=8", "RFC 7692 §7.1"),  // zlib cannot compress with 2^8
    ])
    func answersAClientMustFail(_ offered: String, _ answered: String, _ rule: String) {
        #expect(throws: ExtensionAnswer.Problem.self) {
            _ = try ExtensionAnswer.agreedDeflate(offered: offered.isEmpty ? [] : [offered], answered: [answered], clientWindowBits: 9...15)
        }
        do {
            _ = try ExtensionAnswer.agreedDeflate(offered: offered.isEmpty ? [] : [offered], answered: [answered], clientWindowBits: 9...15)
        } catch {
            #expect(error.rule.hasPrefix(rule + ":"), "\(error.rule)")
            #expect(error.description.contains("Sec-WebSocket-Extensions: "))
        }
    }

    @Test(arguments: [
        // offered, answered, what the client then uses (nil: no compression)
        ("", "", nil as DeflateParameters?),
        (browserOffer, "", nil),
        (browserOffer, "permessage-deflate", DeflateParameters()),
        // Legal without being offered: the server picks its own smaller window, or resets its context.
        (browserOffer, "permessage-deflate; server_max_window_bits=10", DeflateParameters(serverMaxWindowBits: 10)),
        ("permessage-deflate", "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
         DeflateParameters(serverNoContextTakeover: true, clientNoContextTakeover: true)),
        (browserOffer, "permessage-deflate; client_max_window_bits=12", DeflateParameters(clientMaxWindowBits: 12)),
        ("permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_max_window_bits=9", DeflateParameters(serverMaxWindowBits: 9)),
        // The client keeps the word of its own offer when the answer says nothing.
        ("permessage-deflate; client_max_window_bits=11; client_no_context_takeover", "permessage-deflate",
         DeflateParameters(clientNoContextTakeover: true, clientMaxWindowBits: 11)),
        // Names and parameters are matched without regard to case, values may be quoted.
        ("permessage-deflate; server_max_window_bits=10", "Permessage-Deflate; Server_Max_Window_Bits=\"10\"", DeflateParameters(serverMaxWindowBits: 10)),
    ])
    func answersAClientAccepts(_ offered: String, _ answered: String, _ agreed: DeflateParameters?) throws {
        let result = try ExtensionAnswer.agreedDeflate(
            offered: offered.isEmpty ? [] : [offered], answered: answered.isEmpty ? [] : [answered], clientWindowBits: 9...15
        )
        #expect(result == agreed)
    }

    @Test func theMessageNamesTheHeaderAndTheRule() {
        do {
            _ = try ExtensionAnswer.agreedDeflate(offered: [], answered: ["permessage-deflate; server_max_window_bits=10"])
            Issue.record("an extension nobody offered was accepted")
        } catch {
            #expect(error.element == "permessage-deflate; server_max_window_bits=10")
            #expect(error.reason == "permessage-deflate was never offered: this client offered no extension")
            #expect(error.rule == "RFC 6455 §4.1: a server may only accept extensions the client offered")
        }
    }
}
