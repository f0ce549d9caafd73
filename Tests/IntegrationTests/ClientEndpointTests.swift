import LabServer
import Testing
import WireProtocol

/// `/ws/{client_id}` and its HTTP twin `POST /http/{client_id}`; echo still wins its own paths.
@Suite struct ClientEndpointTests {
    @Test func eachJSONMessageComesBackWrappedWithFromDataAndTimestamp() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let alice = try await JSONClient.connect(port: port, path: "/ws/alice")

        try await alice.sendText(#"{"msg":"hi","n":1}"#)
        let reply = try await alice.next()
        #expect(reply.keys == ["from", "data", "timestamp"])
        #expect(reply["from"] == "alice")
        #expect(reply["data"] == .obj(("msg", "hi"), ("n", 1)))
        #expect(reply["data"]?.keys == ["msg", "n"], "the data keeps its key order")
        #expect(isISOTimestamp(reply["timestamp"]), "\(reply.text)")

        // Any JSON value is data, not only objects.
        try await alice.sendText("[1,\"two\",null]")
        let array = try await alice.next()
        #expect(array.keys == ["from", "data", "timestamp"])
        #expect(array["data"] == [1, "two", .null])
        await alice.close()
    }

    @Test func textThatIsNotJSONGetsAnErrorAndTheConnectionStaysUsable() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let bob = try await JSONClient.connect(port: port, path: "/ws/bob")
        try await bob.sendText("hello, not json")
        let error = try await bob.next()
        #expect(error.keys == ["type", "error"])
        #expect(error["type"] == "error")
        #expect(error["error"]?.stringValue?.isEmpty == false)

        try await bob.sendText(#"{"still":"here"}"#)
        let reply = try await bob.next()
        #expect(reply["from"] == "bob")
        #expect(reply["data"] == .obj(("still", "here")))
        #expect(bob.closeCode == nil)
        await bob.close()
    }

    @Test func echoKeepsWinningOverTheClientRoute() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let echo = try await JSONClient.connect(port: port, path: "/ws/echo")
        try await echo.sendText(#"{"msg":"hi"}"#)
        #expect(try await echo.nextText() == #"Echo: {"msg":"hi"}"#)
        await echo.close()
    }

    @Test func httpTwinAnswersWithTheSameShape() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let answer = try await httpRequest("POST", "/http/carol", port: port, body: #"{"msg":"hi","list":[1,2]}"#)
        #expect(answer.status == 200, "\(answer)")
        #expect(answer.contentType == "application/json")
        let json = try #require(answer.json, "\(answer)")
        #expect(json.keys == ["from", "data", "timestamp"])
        #expect(json["from"] == "carol")
        #expect(json["data"] == .obj(("msg", "hi"), ("list", [1, 2])))
        #expect(isISOTimestamp(json["timestamp"]), "\(answer)")
    }

    @Test func httpTwinWithoutABodyIsABadRequest() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let answer = try await httpRequest("POST", "/http/carol", port: port)
        #expect(answer.status == 400, "\(answer)")
        #expect(answer.json?["type"] == "error")
        let notJSON = try await httpRequest("POST", "/http/carol", port: port, body: "not json")
        #expect(notJSON.status == 400, "\(notJSON)")
        #expect(notJSON.json?.keys == ["type", "error"])
    }

    @Test func httpEchoTwinAnswersWithText() async throws {
        let (lab, port) = try await startLab()
        defer { Task { await lab.stop() } }
        let answer = try await httpRequest("POST", "/http/echo", port: port, body: "hi", contentType: "text/plain")
        #expect(answer.status == 200, "\(answer)")
        #expect(answer.body == "Echo: hi")
        #expect(answer.contentType?.hasPrefix("text/plain") == true)
    }
}
