/// Who holds which name in a conversation (a chat id, a room member, a live-chat username), in the
/// order they came. A name is free again as soon as the lab has sent its holder's close: the old
/// connection may linger for the client's answering close, but it will send nothing more, so a
/// client that reconnects at once gets its name back instead of `409`.
struct Presence {
    private(set) var holders: [(name: String, subscriber: Subscriber)] = []

    var names: [String] { holders.map(\.name) }
    var count: Int { holders.count }
    var isEmpty: Bool { holders.isEmpty }

    func isTaken(_ name: String) -> Bool {
        holders.contains { $0.name == name && !$0.subscriber.isClosing }
    }

    enum Claim {
        case taken
        /// The name is `subscriber`'s now; `replacing` is a closing holder it took it from, whose
        /// departure must be announced before the newcomer's arrival.
        case claimed(replacing: Subscriber?)
    }

    mutating func claim(_ name: String, by subscriber: Subscriber) -> Claim {
        guard let index = holders.firstIndex(where: { $0.name == name }) else {
            holders.append((name, subscriber))
            return .claimed(replacing: nil)
        }
        let holder = holders[index].subscriber
        guard holder.isClosing else { return .taken }
        holders.remove(at: index)
        holders.append((name, subscriber))
        return .claimed(replacing: holder)
    }

    /// Ends `subscriber`'s hold on `name`, if it still has it.
    mutating func release(_ name: String, by subscriber: Subscriber) {
        holders.removeAll { $0.name == name && $0.subscriber === subscriber }
    }
}
