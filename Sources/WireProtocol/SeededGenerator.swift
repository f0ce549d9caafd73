/// SplitMix64: a small, fast, repeatable generator. With `--seed N` every Sec-WebSocket-Key and
/// masking key comes from one of these, so transcripts and tests see the same bytes every run.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Where keys and masks come from: the system's generator, or a seeded one.
public enum Entropy: Sendable {
    case system
    case seeded(UInt64)

    public func makeGenerator() -> any RandomNumberGenerator & Sendable {
        switch self {
        case .system: SystemRandomNumberGenerator()
        case .seeded(let seed): SeededGenerator(seed: seed)
        }
    }
}
