import Foundation
import LabServer
import Testing

/// The playground page at `GET /`: served whole, self-contained, pointing at every panel's endpoint.
@Suite struct PlaygroundTests {
    @Test func getSlashServesThePageAndNothingElseIsFetched() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let page = try await httpRequest("GET", "/", port: port)
        #expect(page.status == 200)
        #expect(page.contentType == "text/html; charset=utf-8")
        #expect(page.body.utf8.count == Playground.page?.count)
        #expect(page.body.contains("<title>wirelab playground</title>"))
        // No framework, no CDN: the page loads nothing from anywhere.
        #expect(!page.body.contains("<script src"), "scripts are inline")
        #expect(!page.body.contains("<link"), "styles are inline")
        #expect(page.body.firstMatch(of: /(src|href)="https?:/) == nil)
        for used in ["new WebSocket(", "new EventSource(", "fetch(", "/ws/echo", "/ws/chat/", "/auth/token", "/events?token=", "/http/chat?since=", "/http/chat/events", "/http/dashboard"] {
            #expect(page.body.contains(used), "\(used)")
        }
        // Other methods on / still get the list of endpoints.
        let listing = try await httpRequest("POST", "/", port: port, body: "{}")
        #expect(listing.body.hasPrefix("wirelab lab server."), "\(listing)")
    }

    @Test func theURLIsOneABrowserOnThisMachineCanOpen() {
        #expect(Playground.url(host: "127.0.0.1", port: 8000) == "http://127.0.0.1:8000/")
        #expect(Playground.url(host: "0.0.0.0", port: 8000) == "http://127.0.0.1:8000/")
        #expect(Playground.url(host: "::1", port: 8000) == "http://[::1]:8000/")
        #expect(Playground.url(host: "::", port: 8000) == "http://[::1]:8000/")
    }
}
