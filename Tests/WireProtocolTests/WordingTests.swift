import Foundation
import Testing
import WireProtocol

@Suite("Timestamp")
struct TimestampTests {
    @Test("microseconds, as Python's isoformat writes them, and back")
    func roundTrip() throws {
        let date = Date(timeIntervalSince1970: 1_796_000_000.123456)
        let text = Timestamp.format(date)
        #expect(text == "2026-11-30T00:53:20.123456Z")
        let back = try #require(Timestamp.parse(text))
        #expect(abs(back.timeIntervalSince(date)) < 0.000_001)
    }

    @Test("fewer digits, none, or not a timestamp")
    func parsing() throws {
        #expect(Timestamp.parse("2026-01-01T00:00:00.5Z") == Date(timeIntervalSince1970: 1_767_225_600.5))
        #expect(Timestamp.parse("2026-01-01T00:00:00Z") == Date(timeIntervalSince1970: 1_767_225_600))
        #expect(Timestamp.parse("2026-01-01 00:00:00") == nil)
        #expect(Timestamp.parse("2026-01-01T00:00:00.Z") == nil)
        #expect(Timestamp.parse("soon") == nil)
    }
}

@Suite("durations and wrapping, as shown to a learner")
struct WordingTests {
    @Test("a duration as a person says it")
    func spoken() {
        #expect(Duration.milliseconds(500).spoken == "500 ms")
        #expect(Duration.seconds(4).spoken == "4 s")
        #expect(Duration.milliseconds(2500).spoken == "2.5 s")
        #expect(parseDuration("250ms") == .milliseconds(250))
        #expect(parseDuration("1.5s") == .milliseconds(1500))
        #expect(parseDuration("2") == .seconds(2))
        #expect(parseDuration("soon") == nil)
    }

    @Test("words wrap at the width, later lines indented")
    func wrapping() {
        #expect(wrapWords("one two three four", width: 9) == ["one two", "  three", "  four"])
        #expect(wrapWords("one two", width: 80, indent: "") == ["one two"])
        #expect(wrapWords("", width: 10).isEmpty)
    }

    @Test("terminal cells: wide CJK and emoji take two, combining marks and joiners none")
    func cells() {
        #expect("hello".cells == 5)
        #expect("日本語".cells == 6)
        #expect("한국".cells == 4)
        #expect("👋".cells == 2)
        #expect("👍🏽".cells == 2, "a skin-tone modifier joins its emoji")
        #expect("👩‍💻".cells == 2, "a ZWJ sequence is one emoji")
        #expect("❤️".cells == 2, "a text-style heart asked to show as emoji")
        #expect("❤".cells == 1)
        #expect("e\u{301}".cells == 1, "e and a combining acute accent")
        #expect("ｗｉｄｅ".cells == 8, "fullwidth Latin")
        #expect("\u{1B}[1mbold\u{1B}[0m".cells == 4, "styling escapes take no cells")
    }

    @Test("columns line up with wide text: padding and wrapping count cells")
    func wideColumns() {
        #expect("日本".padding(6) == "日本  ")
        #expect("👋 hi".padding(6) == "👋 hi ")
        #expect("日本語日本語".padding(4) == "日本語日本語 ", "too wide: one space, so columns never touch")
        #expect(wrapWords("日本 語 日本語", width: 7) == ["日本 語", "  日本語"])
        #expect(wrapWords("👋👋 👋", width: 7, indent: "") == ["👋👋 👋"], "2 + 2 + 1 + 2 cells")
        #expect(wrapWords("👋👋 👋", width: 6, indent: "") == ["👋👋", "👋"])
        #expect("日本語のテキスト".fitted(toCells: 7) == "日本語…", "six cells of text and the ellipsis")
        #expect("abc".fitted(toCells: 3) == "abc")
        #expect("abcd".fitted(toCells: 3) == "ab…")
    }
}
