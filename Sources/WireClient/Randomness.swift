import NIOConcurrencyHelpers
import NIOWebSocket
import WireProtocol

/// The one source of the client's random values (Sec-WebSocket-Key, masking keys), injected so
/// that `--seed N` makes them repeatable.
public final class Randomness: Sendable {
    private let generator: NIOLockedValueBox<any RandomNumberGenerator & Sendable>

    public init(_ entropy: Entropy) {
        generator = NIOLockedValueBox(entropy.makeGenerator())
    }

    /// A source of its own, seeded from this one: for work that runs beside others (a client's
    /// reconnections), so that its draws do not depend on which of them the scheduler runs first.
    public func fork() -> Randomness {
        Randomness(.seeded(generator.withLockedValue { $0.next() }))
    }

    public func requestKey() -> String {
        generator.withLockedValue { generator in Handshake.makeKey(using: &generator) }
    }

    /// A number in 0..<1 (for a reconnection delay's jitter).
    public func unit() -> Double {
        generator.withLockedValue { generator in Double.random(in: 0..<1, using: &generator) }
    }

    public func maskingKey() -> WebSocketMaskingKey {
        generator.withLockedValue { generator in
            WebSocketMaskingKey.random(using: &generator)
        }
    }
}
