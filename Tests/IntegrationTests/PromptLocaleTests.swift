import Glibc
import Testing

@testable import WirelabREPL

@Suite("typing at the prompt")
struct PromptLocaleTests {
    /// libedit drops multibyte input in the "C" locale, which a program starts in whatever the
    /// environment says; the prompt must read `café` and emoji.
    @Test("the prompt reads UTF-8 even when the environment's locale is not set")
    func utf8CharacterLocale() {
        setlocale(LC_CTYPE, "C")
        TerminalUI.useUTF8Input()
        let chosen = String(cString: setlocale(LC_CTYPE, nil)).lowercased().replacingOccurrences(of: "-", with: "")
        #expect(chosen.contains("utf8"), "LC_CTYPE is \(chosen)")
        // Two bytes, one character: what libedit needs to take é as one keystroke.
        #expect(mblen("é", 4) == 2)
        setlocale(LC_CTYPE, "C")
    }
}
