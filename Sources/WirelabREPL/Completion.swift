/// What Tab may complete at the end of a line: command names, client names, the lab's paths and
/// each command's options and keywords (read from its usage line, so they cannot drift apart).
/// The session refreshes it after every command; the UI thread reads it without waiting.
struct CompletionIndex: Sendable, Equatable {
    var clients: [String] = []
    /// WebSocket and HTTP paths up to their first parameter: `/ws/chat/` for `/ws/chat/{name}`.
    var paths: [String] = []

    /// Commands whose next word names a client.
    private static let takesClient: Set<String> = ["use", "handshake", "last", "watch", "plot"]

    /// The words that may stand at the end of `text` (the line up to the cursor), before
    /// filtering by what has been typed of the last word.
    func candidates(for text: String) -> [String] {
        let words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard words.count > 1 else {
            return CommandHelp.all.map(\.name) + clients.map { $0 + ":" }
        }
        let command = words[0].lowercased()
        let last = words[words.count - 1]
        if command == "help" { return CommandHelp.all.map(\.name) }
        if last.hasPrefix("/") { return paths }
        guard let help = CommandHelp.named(command) else { return [] }
        let keywords = Self.keywords(in: help.usage, command: command)
        if last.hasPrefix("-") { return keywords.filter { $0.hasPrefix("--") } }
        var result = keywords.filter { !$0.hasPrefix("--") }
        if Self.takesClient.contains(command) || (command == "unwatch") { result += clients }
        if command == "open" || command == "http" { result += paths }
        return result
    }

    /// The literal words of a usage line: options (`--key`) and keywords (`sse`, `queued`), not
    /// placeholders (`PATH`, `N`).
    static func keywords(in usage: String, command: String) -> [String] {
        var seen: Set<String> = [command]
        var words: [String] = []
        let separators: Set<Character> = [" ", "|", "[", "]", "·", ","]
        for token in usage.split(whereSeparator: { separators.contains($0) }) {
            let word = String(token)
            let isOption = word.hasPrefix("--") && word.dropFirst(2).allSatisfy { $0.isLowercase || $0 == "-" }
            let isKeyword = word.allSatisfy { $0.isLowercase }
            if (isOption || isKeyword), seen.insert(word).inserted { words.append(word) }
        }
        return words
    }
}
