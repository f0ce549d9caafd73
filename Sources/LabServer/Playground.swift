import Foundation

/// The playground page at `GET /`: plain HTML and JavaScript (Resources/playground.html), a panel
/// per endpoint using the browser's WebSocket, EventSource and fetch as the guide's Angular
/// services do.
public enum Playground {
    /// The page's bytes, read once; nil if the resource is missing (the lab then lists its endpoints).
    public static let page: [UInt8]? = Bundle.module.url(forResource: "playground", withExtension: "html")
        .flatMap { try? Data(contentsOf: $0) }.map { Array($0) }

    /// Where a browser on this machine finds it (a lab listening on every address is on loopback too).
    public static func url(host: String, port: Int) -> String {
        let reachable = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host
        return "http://\(reachable.contains(":") ? "[\(reachable)]" : reachable):\(port)/"
    }
}
