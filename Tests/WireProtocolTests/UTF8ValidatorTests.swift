import Testing
import WireProtocol

@Suite struct UTF8ValidatorTests {
    @Test("agrees with the standard library on every one- to three-byte sequence from a set of edge bytes")
    func agreesWithTheStandardLibrary() {
        let edges: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        for a in edges {
            for b in edges {
                for c in edges {
                    let bytes = [a, b, c]
                    var validator = UTF8Validator()
                    let whole = validator.accept(bytes) && validator.endsOnCharacterBoundary
                    #expect(whole == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
                }
            }
        }
    }

    @Test("a character split across pieces at every point is accepted")
    func splitAnywhere() {
        let bytes = Array("aκόσμε 𝄞 \u{10FFFF}\u{FFFD}".utf8)
        for cut in 0...bytes.count {
            var validator = UTF8Validator()
            let first = validator.accept(bytes[..<cut])
            let second = validator.accept(bytes[cut...])
            #expect(first && second && validator.endsOnCharacterBoundary, "cut at \(cut)")
        }
    }

    @Test("stops at the first bad byte, and counts the good ones before it")
    func failsFast() {
        var validator = UTF8Validator()
        let good = validator.accept(Array("κόσμε".utf8))
        let surrogate = validator.accept([0xED, 0xA0, 0x80])  // ED may only be followed by 80-9F
        #expect(good && !surrogate)
        #expect(validator.byteCount == 11)  // κόσμε (10) and ED
    }

    @Test("a long ASCII run with one bad byte near the end")
    func asciiFastPath() {
        var bytes = [UInt8](repeating: 0x61, count: 1000)
        bytes[997] = 0xC0
        var validator = UTF8Validator()
        let accepted = validator.accept(bytes)
        #expect(!accepted)
        #expect(validator.byteCount == 997)
    }

    @Test("the end of the bytes inside a character is not a boundary")
    func unfinished() {
        var validator = UTF8Validator()
        let start = validator.accept([0xF0, 0x9D, 0x84])
        #expect(start && !validator.endsOnCharacterBoundary)
        let end = validator.accept([0x9E])
        #expect(end && validator.endsOnCharacterBoundary)
    }
}
