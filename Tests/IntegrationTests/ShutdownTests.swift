import Testing
import WireProtocol

@testable import LabServer

/// Stopping the lab (what `wirelab serve` does on SIGTERM) while a chat is busy: every message
/// the lab accepted reaches every receiver before its 1001, and one it no longer accepts is
/// answered with an error, so no message is silently lost.
@Suite("graceful shutdown")
struct ShutdownTests {
    @Test("a busy chat stopped mid-burst: every receiver gets the same messages, then 1001; the rest are refused with an error")
    func nothingAcceptedIsLost() async throws {
        let (lab, port) = try await startLab(only: ["chat"]) {
            $0.limits.messageRate = nil  // the burst is the point
            $0.limits.slowReaders = SlowReaderPolicy(stallLimit: .seconds(600), queueByteCap: 1 << 30)  // and the slow reader must not be cut off for it
        }
        var joining: [JSONClient] = []
        for index in 0..<8 { joining.append(try await JSONClient.connect(port: port, path: "/ws/chat/r\(index)")) }
        let receivers = joining
        let sender = try await JSONClient.connect(port: port, path: "/ws/chat/sender")
        #expect(await eventually { receivers[0].received.count >= 8 }, "everyone has joined")
        // One receiver stops reading: its messages pile up in the lab's queue for it, behind the
        // kernel's buffers. A close written straight away would overtake them.
        let slow = receivers[7]
        try await slow.client.setReading(false)
        let padding = String(repeating: "x", count: 8000)

        let total = 400
        let burst = Task {
            for number in 1...total {
                do { try await sender.send(.obj(("text", .string("m\(number) \(padding)")))) } catch { break }
            }
        }
        // Stop once some of the burst has gone round.
        #expect(await eventually(timeout: .seconds(30)) { receivers[0].received.contains { $0.contains(#""text":"m20 "#) } })
        let resume = Task {
            try await Task.sleep(for: .milliseconds(300))
            try await slow.client.setReading(true)
        }
        await lab.stop()
        try await resume.value
        await burst.value

        func messages(_ client: JSONClient) -> [String] {
            var texts: [String] = []
            for text in client.received {
                guard let json = try? JSON(parsing: text), json["type"] == "message", json["from"] == "sender",
                    let words = json["text"]?.stringValue?.split(separator: " "), let number = words.first
                else { continue }
                texts.append(String(number))
            }
            return texts
        }
        for client in receivers + [sender] {
            #expect(await eventually { client.hasEnded }, "\(client.name) is closed")
            #expect(client.closeCode == 1001, "\(client.name): \(client.closeCode.map(String.init) ?? "no close frame")")
        }
        let delivered = messages(sender)
        #expect(delivered.count >= 20)
        #expect(delivered == (1...delivered.count).map { "m\($0)" }, "accepted in order, none skipped")
        for receiver in receivers {
            #expect(messages(receiver) == delivered, "\(receiver.name) got \(messages(receiver).count) of \(delivered.count)")
        }
        // What was not accepted was refused out loud (or never written: the connection had closed).
        let refused = sender.received.filter { $0.contains("the server is shutting down") }.count
        #expect(delivered.count + refused <= total)
        #expect(messages(sender).count == delivered.count)
    }
}
