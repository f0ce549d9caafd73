/// Hides the secret part of what the REPL prints, so that screens, scrollback and recorded
/// transcripts can be shared. Byte counts are the tap's and stay exact; only the text shown
/// changes.
///
/// - A JWT keeps its header and claims (base64url JSON anyone can decode, and worth reading);
///   its signature, the part that makes it a credential, becomes `‹signature›`. Without it the
///   token cannot be replayed.
/// - The value of a JSON `"password"` field becomes `‹hidden›`.
public enum Secrets {
    public static func masked(_ text: String) -> String {
        guard text.contains("eyJ") || text.contains("\"password\"") else { return text }
        var result = text
        // A JWT: header and claims are base64url JSON objects, so both start with "eyJ".
        result.replace(/(eyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]*\.)[A-Za-z0-9_\-]+/) { match in
            match.output.1 + "‹signature›"
        }
        result.replace(/("password"\s*:\s*")(?:[^"\\]|\\.)*(")/) { match in
            match.output.1 + "‹hidden›" + match.output.2
        }
        return result
    }
}
