import Testing
import WireProtocol

@testable import WirelabREPL

/// Text from the wire must not reach the terminal as it came: an escape sequence in it could
/// clear the screen or retitle the window. The fuzz target `http` (fuzz/http.swift) found these
/// places where the renderer printed wire text unescaped; each case is one of them.
@Suite struct RendererEscapeTests {
    static let escape = "\u{1B}[2J\u{1B}]0;owned\u{07}"
    static let switching = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
    static let eventStream = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"

    static let cases: [(name: String, bytes: [UInt8])] = [
        ("reason phrase", Array("HTTP/1.1 200 \(escape)\r\nContent-Length: 0\r\n\r\n".utf8)),
        ("unreadable head", Array("HTTP/1.1 200 OK\r\nno colon \(escape)\r\n\r\n".utf8)),
        ("SSE event type and id", Array((eventStream + "event: \(escape)\nid: \(escape)\ndata: x\n\n").utf8)),
        ("SSE field name", Array((eventStream + "\(escape): x\n\n").utf8)),
        ("Sec-WebSocket-Accept", Array((switching + "Sec-WebSocket-Accept: \(escape)\r\n\r\n").utf8)),
        ("JSON type of a frame", Array((switching + "\r\n").utf8) + [0x81, 20] + Array(#"{"type":"\u001b[2J"}"#.utf8)),
    ]

    /// Every line the REPL would print for `bytes` arriving from the server, at every view level.
    static func rendered(_ bytes: [UInt8]) -> [String] {
        var lines: [String] = []
        for view in ViewLevel.allCases {
            let renderer = WireRenderer(client: "c1", view: view, style: Styler(enabled: false))
            var dissector = WireDissector()
            var sse = SSEParser()
            for event in dissector.feed(.down, bytes) {
                switch event {
                case .httpHead(let direction, let head):
                    lines += renderer.render(head: head, direction: direction)
                    if let accept = head.field("Sec-WebSocket-Accept") {
                        lines += renderer.render(acceptCheck: AcceptCheck(key: Handshake.sampleKey, received: accept))
                    }
                case .httpBody(let direction, let body):
                    lines += renderer.render(body: body, direction: direction)
                    lines += sse.feed(body).flatMap { renderer.render(sseItem: $0) }
                case .frame(let direction, let frame, let violations):
                    lines += renderer.render(frame: frame, direction: direction, violations: violations)
                case .undecodable(let direction, let reason, let bytes):
                    lines += renderer.render(undecodable: reason, bytes: bytes, direction: direction)
                default:
                    break
                }
            }
        }
        return lines
    }

    @Test(arguments: cases.indices)
    func wireTextIsEscaped(_ index: Int) {
        let (name, bytes) = Self.cases[index]
        let lines = Self.rendered(bytes)
        #expect(!lines.isEmpty, "\(name): nothing rendered")
        for line in lines {
            #expect(!line.unicodeScalars.contains { $0.value < 0x20 || (0x7F..<0xA0).contains($0.value) }, "\(name): \(line.debugDescription)")
        }
    }
}
