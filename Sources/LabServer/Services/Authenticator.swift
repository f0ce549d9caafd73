import Crypto
import Foundation
import JWTKit
import WireProtocol

/// A demo user of the lab. The passwords are documented in the README: this is a teaching lab.
public struct LabUser: Sendable, Equatable {
    public let id: Int
    public let name: String
    public let password: String
    public let isAdmin: Bool

    public static let demo: [LabUser] = [
        LabUser(id: 1, name: "alice", password: "wonderland", isAdmin: false),
        LabUser(id: 2, name: "bob", password: "builder", isAdmin: false),
        LabUser(id: 3, name: "admin", password: "admin", isAdmin: true),
    ]
}

/// Signs and checks the lab's tokens: JWT, HS256, with an expiry, made by jwt-kit.
public final class Authenticator: Sendable {
    /// How long a token is valid.
    public static let lifetime: TimeInterval = 3600

    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var uid: Int
        var admin: Bool
        var iat: IssuedAtClaim
        var exp: ExpirationClaim

        /// Expiry is checked by ``Authenticator/verify(_:)`` against the lab's clock (injected,
        /// so tests can make a token expire); here only the signature counts.
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// Why a token was refused: said in the 401 body and the close reason.
    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        case missing
        /// Not a JWT this lab can read; the text says what is wrong with it.
        case malformed(String)
        case badSignature
        case expired(at: Date)
        case unknownUser(String)
        /// Too many failures from one address (``AuthThrottle``); try again after that many seconds.
        case tooManyFailures(address: String, failures: Int, window: TimeInterval, retryAfter: Int)

        public var description: String {
            switch self {
            case .missing: "no token: log in with POST /auth/token, then pass ?token=… (or Authorization: Bearer …)"
            case .malformed(let problem): "the token is not a JWT this lab can read: \(problem)"
            case .badSignature: "the token's signature does not match: it was not signed by this lab, or it was altered"
            case .expired(let date): "the token expired at \(date.formatted(Date.ISO8601FormatStyle()))"
            case .unknownUser(let name): "the token names a user this lab does not know: \(name)"
            case .tooManyFailures(let address, let failures, let window, let retryAfter):
                "too many failed authentications from \(address) (\(failures) in \(Int(window)) s); try again in \(retryAfter) s"
            }
        }
    }

    /// Sorted keys and whole seconds: the same claims always make the same token (transcripts
    /// show tokens byte for byte), and `exp` reads as the integer RFC 7519 expects.
    private let keys = JWTKeyCollection()
    private static let serializer: DefaultJWTSerializer = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        encoder.dateEncodingStrategy = .integerSecondsSince1970
        return DefaultJWTSerializer(jsonEncoder: encoder)
    }()
    /// Adding a key to jwt-kit's collection is async; every use waits for it first.
    private let keysReady: Task<Void, Never>
    private let clock: LabClock
    public let users: [LabUser]

    /// - Parameter secret: the HMAC key (a lab gets 32 random bytes unless told otherwise).
    public init(secret: [UInt8], clock: LabClock, users: [LabUser] = LabUser.demo) {
        let keys = self.keys
        keysReady = Task {
            await keys.add(hmac: HMACKey(key: SymmetricKey(data: secret)), digestAlgorithm: .sha256, serializer: Self.serializer)
        }
        self.clock = clock
        self.users = users
    }

    public func user(named name: String) -> LabUser? {
        users.first { $0.name == name }
    }

    /// A token for a user whose password matches, or nil.
    public func login(username: String, password: String, lifetime: TimeInterval = Authenticator.lifetime) async throws -> String? {
        guard let user = user(named: username), user.password == password else { return nil }
        return try await issue(for: user, lifetime: lifetime)
    }

    public func issue(for user: LabUser, lifetime: TimeInterval = Authenticator.lifetime) async throws -> String {
        await keysReady.value
        let now = clock.now()
        let claims = Claims(
            sub: .init(value: user.name), uid: user.id, admin: user.isAdmin,
            iat: .init(value: now), exp: .init(value: now.addingTimeInterval(lifetime))
        )
        return try await keys.sign(claims)
    }

    /// The user a token stands for, or why it does not count.
    public func verify(_ token: String?) async -> Result<LabUser, Refusal> {
        await check(token).map(\.user)
    }

    /// The user a token stands for and when the token expires, or why it does not count.
    public func check(_ token: String?) async -> Result<(user: LabUser, expires: Date), Refusal> {
        guard let token, !token.isEmpty else { return .failure(.missing) }
        await keysReady.value
        let claims: Claims
        do {
            claims = try await keys.verify(token, as: Claims.self)
        } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
            return .failure(.badSignature)
        } catch {
            return .failure(.malformed(Self.problem(with: token)))
        }
        if claims.exp.value <= clock.now() { return .failure(.expired(at: claims.exp.value)) }
        guard let user = user(named: claims.sub.value) else { return .failure(.unknownUser(claims.sub.value)) }
        return .success((user, claims.exp.value))
    }
}

extension Authenticator {
    /// What is wrong with a token jwt-kit refused (it says only that decoding failed): the first
    /// of its three parts that is not what a JWT needs.
    static func problem(with token: String) -> String {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            return "it has \(parts.count) part\(parts.count == 1 ? "" : "s") separated by dots; a JWT has three (header.payload.signature)"
        }
        for (index, name) in ["header", "payload"].enumerated() {
            guard let bytes = Self.base64URLDecoded(parts[index]) else {
                return "its \(name) (part \(index + 1)) is not base64url"
            }
            guard case .object = try? JSON(parsing: String(decoding: bytes, as: UTF8.self)) else {
                return "its \(name) (part \(index + 1)) is base64url but not a JSON object once decoded"
            }
        }
        if parts[2].isEmpty { return "it has no signature (the third part is empty)" }
        guard Self.base64URLDecoded(parts[2]) != nil else { return "its signature (part 3) is not base64url" }
        return "its header or claims are not the lab's (alg HS256; sub and exp)"
    }

    static func base64URLDecoded(_ part: Substring) -> [UInt8]? {
        guard !part.isEmpty, part.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        text += String(repeating: "=", count: (4 - text.count % 4) % 4)
        return Data(base64Encoded: text).map(Array.init)
    }
}

extension Authenticator.Refusal {
    /// The refusal as the lab's JSON error.
    public var json: JSON { .error(description) }
}
