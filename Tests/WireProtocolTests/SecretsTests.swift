import Testing
import WireProtocol

@Suite("masking secrets in what the REPL prints")
struct SecretsTests {
    static let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.PTLH5_HL7I3ziHXnG7Ly-thz6x8zuVdr5QLdi1jjSOs"

    @Test("a JWT keeps its header and claims; its signature is hidden wherever it appears")
    func tokens() {
        let masked = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.‹signature›"
        #expect(Secrets.masked("GET /ws?token=\(Self.token) HTTP/1.1") == "GET /ws?token=\(masked) HTTP/1.1")
        #expect(Secrets.masked("Authorization: Bearer \(Self.token)") == "Authorization: Bearer \(masked)")
        #expect(Secrets.masked(#"{"access_token":"\#(Self.token)","x":1}"#) == #"{"access_token":"\#(masked)","x":1}"#)
        #expect(!Secrets.masked("\(Self.token) and again \(Self.token)").contains("PTLH5"))
    }

    @Test("a password field's value is hidden, escapes included; other text is left alone")
    func passwords() {
        #expect(Secrets.masked(#"{"username":"alice","password":"wonderland"}"#) == #"{"username":"alice","password":"‹hidden›"}"#)
        #expect(Secrets.masked(#"{"password" : "a\"b\\c","n":1}"#) == #"{"password" : "‹hidden›","n":1}"#)
        for plain in ["not.a.jwt", "eyJ alone", #"{"text":"password"}"#, "send hello"] {
            #expect(Secrets.masked(plain) == plain)
        }
    }
}
