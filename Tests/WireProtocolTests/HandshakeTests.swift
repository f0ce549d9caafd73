import Testing
import WireProtocol

@Suite("Handshake and AcceptCheck")
struct HandshakeTests {
    static let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="
    static let sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    @Test("RFC 6455 §1.3 sample: key → accept")
    func sampleAcceptValue() {
        #expect(Handshake.acceptValue(forKey: Self.sampleKey) == Self.sampleAccept)
        #expect(Handshake.sampleKey == Self.sampleKey)
        #expect(Handshake.sampleAccept == Self.sampleAccept)
        #expect(Handshake.guid == "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
    }

    @Test("the digest is SHA-1 of key + GUID, 20 bytes")
    func digest() {
        let digest = Handshake.digest(forKey: Self.sampleKey)
        #expect(digest.count == 20)
        #expect(digest == hex("b3 7a 4f 2c c0 62 4f 16 90 f6 46 06 cf 38 59 45 b2 be c4 ea"))
    }

    @Test("the accept value depends on the whole key")
    func otherKey() {
        let other = Handshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZA==")
        #expect(other != Self.sampleAccept)
        #expect(other.count == 28)
        #expect(Handshake.acceptValue(forKey: Self.sampleKey + " ") != Self.sampleAccept)
    }

    @Test("AcceptCheck: match, mismatch, missing header")
    func acceptCheck() {
        let good = AcceptCheck(key: Self.sampleKey, received: Self.sampleAccept)
        #expect(good.matches)
        #expect(good.expected == Self.sampleAccept)
        #expect(good.key == Self.sampleKey)
        #expect(good.digest == Handshake.digest(forKey: Self.sampleKey))

        let wrong = AcceptCheck(key: Self.sampleKey, received: "s3pPLMBiTxaQ9kYGzzhZRbK+xOA=")
        #expect(!wrong.matches)
        #expect(wrong.expected == Self.sampleAccept)

        // The accept value for a different key does not match this one.
        let otherKey = AcceptCheck(key: "AQIDBAUGBwgJCgsMDQ4PEA==", received: Self.sampleAccept)
        #expect(!otherKey.matches)

        let missing = AcceptCheck(key: Self.sampleKey, received: nil)
        #expect(!missing.matches)
        #expect(missing.received == nil)
        #expect(missing.expected == Self.sampleAccept)

        // Case matters in base64.
        #expect(!AcceptCheck(key: Self.sampleKey, received: Self.sampleAccept.lowercased()).matches)
    }

    @Test("isValidKey: 16 bytes of base64 and nothing else")
    func isValidKey() {
        #expect(Handshake.isValidKey(Self.sampleKey))
        #expect(Handshake.isValidKey("AQIDBAUGBwgJCgsMDQ4PEA=="))
        #expect(!Handshake.isValidKey("abc"))
        #expect(!Handshake.isValidKey("AAAAAAAAAAAAAAAAAAAA"))  // base64 of 15 bytes
        #expect(!Handshake.isValidKey("AAAAAAAAAAAAAAAAAAAAAAA="))  // 17 bytes
        #expect(!Handshake.isValidKey(""))
        #expect(!Handshake.isValidKey("not base64 at all!!!!!!!"))
    }

    @Test("makeKey with a seeded generator is repeatable")
    func makeKeySeeded() {
        var first = SeededGenerator(seed: 1)
        var second = SeededGenerator(seed: 1)
        let key = Handshake.makeKey(using: &first)
        #expect(key == Handshake.makeKey(using: &second))
        #expect(key.count == 24)
        #expect(Handshake.isValidKey(key))
        // SplitMix64(1), the low byte of each of 16 outputs, in base64.
        #expect(key == "wWdeC7mApXWolmH+wIqoOw==")
        // The generator moved on: the next key differs.
        let next = Handshake.makeKey(using: &first)
        #expect(next != key)
        #expect(Handshake.isValidKey(next))
    }

    @Test("different seeds give different keys")
    func makeKeyDifferentSeeds() {
        var keys: Set<String> = []
        for seed: UInt64 in 0..<50 {
            var generator = SeededGenerator(seed: seed)
            let key = Handshake.makeKey(using: &generator)
            #expect(Handshake.isValidKey(key))
            keys.insert(key)
        }
        #expect(keys.count == 50)
        var two = SeededGenerator(seed: 2)
        #expect(Handshake.makeKey(using: &two) == "zkIvZCmzhoP/bDV3Ya7zGQ==")
    }

    @Test("makeKey with the system generator gives valid keys")
    func makeKeySystem() {
        var generator = SystemRandomNumberGenerator()
        let key = Handshake.makeKey(using: &generator)
        #expect(key.count == 24)
        #expect(Handshake.isValidKey(key))
    }
}

@Suite("SeededGenerator")
struct SeededGeneratorTests {
    @Test("SplitMix64 reference outputs for seed 0")
    func referenceOutputs() {
        var generator = SeededGenerator(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(generator.next() == 0x06C4_5D18_8009_454F)
    }

    @Test("Entropy.seeded makes the same sequence as SeededGenerator")
    func entropySeeded() {
        var fromEntropy = Entropy.seeded(7).makeGenerator()
        var direct = SeededGenerator(seed: 7)
        for _ in 0..<5 { #expect(fromEntropy.next() == direct.next()) }
    }
}
