import Foundation

/// The playground page at `GET /`: plain HTML and JavaScript (Resources/playground.html), a panel
/// per endpoint using the browser's WebSocket, EventSource and fetch as the guide's Angular
/// services do.
public enum Playground {
    /// The page's bytes, read once; nil if the resource is missing (the lab then lists its endpoints).
    public static let page: [UInt8]? = Bundle.module.url(forResource: "playground", withExtension: "html")
        .flatMap { try? Data(contentsOf: $0) }.map { Array($0) }

    /// Where a browser finds it.
    public static func url(host: String, port: Int) -> String {
        "http://\(host.contains(":") ? "[\(host)]" : host):\(port)/"
    }
}
