import NIOConcurrencyHelpers
import WireProtocol

/// The shop behind the guide's "push a notification when an order ships": in-memory orders,
/// a few seeded at start so there is something to ship.
public final class OrderBook: Sendable {
    public struct Order: Sendable, Equatable {
        public let id: Int
        public let owner: String
        public let item: String
        /// In cents, so revenue adds up exactly.
        public let amountCents: Int
        public var shipped: Bool

        public var json: JSON {
            .object([
                ("order_id", .number(Double(id))), ("owner", .string(owner)), ("item", .string(item)),
                ("amount", .number(Double(amountCents) / 100)), ("status", .string(shipped ? "shipped" : "pending")),
            ])
        }
    }

    public static let seeded: [Order] = [
        Order(id: 1, owner: "alice", item: "mechanical keyboard", amountCents: 8_900, shipped: false),
        Order(id: 2, owner: "bob", item: "USB-C cable", amountCents: 1_250, shipped: false),
        Order(id: 3, owner: "alice", item: "monitor arm", amountCents: 4_500, shipped: false),
    ]

    private let orders = NIOLockedValueBox<[Order]>(OrderBook.seeded)

    public init() {}

    public func all() -> [Order] { orders.withLockedValue { $0 } }

    public func order(_ id: Int) -> Order? { orders.withLockedValue { $0.first { $0.id == id } } }

    public func create(owner: String, item: String, amountCents: Int) -> Order {
        orders.withLockedValue { orders in
            let order = Order(id: (orders.map(\.id).max() ?? 0) + 1, owner: owner, item: item, amountCents: amountCents, shipped: false)
            orders.append(order)
            return order
        }
    }

    public enum ShipOutcome: Sendable {
        case shipped(Order)
        case alreadyShipped(Order)
        case unknown
    }

    public func ship(_ id: Int) -> ShipOutcome {
        orders.withLockedValue { orders in
            guard let index = orders.firstIndex(where: { $0.id == id }) else { return .unknown }
            if orders[index].shipped { return .alreadyShipped(orders[index]) }
            orders[index].shipped = true
            return .shipped(orders[index])
        }
    }

    /// Back to the seeded orders, none shipped (a lesson's clean start).
    /// - Returns: whether anything had changed.
    @discardableResult
    public func reset() -> Bool {
        orders.withLockedValue { orders in
            defer { orders = Self.seeded }
            return orders != Self.seeded
        }
    }

    /// Revenue of shipped orders, in cents.
    public var shippedRevenueCents: Int {
        orders.withLockedValue { $0.filter(\.shipped).reduce(0) { $0 + $1.amountCents } }
    }
}
