import Testing
import WireProtocol

@Suite struct PerMessageDeflateTests {
    @Test func parsesOffersWithQuotedValuesAndSeveralHeaders() {
        let offers = ExtensionOffer.parse(headerValues: [
            "permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=\"10\"", "x-other",
        ])
        #expect(offers.map(\.name) == ["permessage-deflate", "permessage-deflate", "x-other"])
        #expect(offers[0].parameters.map(\.name) == ["client_max_window_bits"])
        #expect(offers[1].parameters.first?.value == "10")
    }

    @Test(arguments: [
        ("permessage-deflate; server_max_window_bits", "server_max_window_bits needs a value from 8 to 15"),
        ("permessage-deflate; client_max_window_bits=16", "client_max_window_bits needs a value from 8 to 15"),
        ("permessage-deflate; client_no_context_takeover; client_no_context_takeover", "client_no_context_takeover appears twice"),
        ("permessage-deflate; server_no_context_takeover=1", "server_no_context_takeover takes no value"),
        ("permessage-deflate; foo", "unknown parameter foo"),
    ])
    func invalidOffers(_ header: String, _ problem: String) throws {
        let offer = try #require(ExtensionOffer.parse(headerValues: [header]).first)
        #expect(DeflateParameters.problem(with: offer, isAnswer: false) == problem)
    }

    @Test func answerGivesEachSideItsWindowAndReset() throws {
        let agreed = try #require(
            DeflateParameters.accepted(headerValues: ["permessage-deflate;client_max_window_bits=10;server_no_context_takeover"])
        )
        #expect(agreed.windowBits(of: .client) == 10)
        #expect(agreed.windowBits(of: .server) == 15)
        #expect(agreed.resetsContext(of: .server))
        #expect(!agreed.resetsContext(of: .client))
        // An answer needs a value for client_max_window_bits.
        #expect(DeflateParameters.accepted(headerValues: ["permessage-deflate; client_max_window_bits"]) == nil)
    }

    @Test func rsv1IsAllowedOnAFirstDataFrameOnlyWhenNegotiated() {
        // Server frames (unmasked): RSV1 text, RSV1 ping, RSV1 continuation after a fragment.
        let compressedText: [UInt8] = [0xC1, 0x02, 0xCA, 0x00]
        let rsv1Ping: [UInt8] = [0xC9, 0x00]
        var negotiated = FrameStream(sender: .server, deflate: DeflateParameters())
        let first = negotiated.append(compressedText + rsv1Ping + [0x41, 0x01, 0x00, 0xC0, 0x01, 0x00])
        let violations = first.compactMap { item -> [String]? in
            if case .frame(_, let found) = item { found.map(\.description) } else { nil }
        }
        #expect(violations[0].isEmpty, "compressed text frame: \(violations[0])")
        #expect(violations[1].contains { $0.hasPrefix("RSV1 on a control frame") })
        #expect(violations[3].contains { $0.hasPrefix("RSV1 on a continuation frame") })

        var plain = FrameStream(sender: .server)
        guard case .frame(_, let found) = plain.append(compressedText).first else { Issue.record("no frame"); return }
        #expect(found.first?.description == "RSV bits set but no extension was negotiated")
    }
}
