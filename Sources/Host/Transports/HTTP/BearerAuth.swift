import AsyncHTTPClient
import Foundation
import Hummingbird
import JWTKit
import HostSupport
import Logging
import MCP

/// Verifies bearer tokens against a JSON Web Key Set fetched from `--jwks-url`: signature, `exp`,
/// `nbf`, and `iss`/`aud` when configured. The key set is cached; a token naming a key the cache
/// lacks triggers one refetch (at most every `refetchInterval`), so key rotation needs no restart.
actor JWKSVerifier {
    struct Configuration: Sendable {
        var url: String
        var issuer: String?
        var audience: String?
    }

    enum Failure: Error {
        /// No usable token: 401.
        case unauthorized(String)
        /// A genuine token that is not meant for this server: 403.
        case forbidden(String)
        /// The key set cannot be had: 503.
        case keysUnavailable(String)
    }

    let configuration: Configuration
    private let logger: Logger
    private var keys: KeySet?
    private var fetchedAt: ContinuousClock.Instant?
    static let refetchInterval: Duration = .seconds(2)
    /// Keys older than this are refetched before use (the old ones serve if that fails).
    static let maximumKeyAge: Duration = .seconds(3600)

    init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The token's subject, once every check passed.
    func subject(of token: String) async throws(Failure) -> String {
        var keys = try await currentKeys()
        // jwt-kit falls back to its default key for a kid it lacks, so unknown kids are caught here.
        if let kid = Self.keyID(of: token), !keys.kids.contains(kid) {
            guard let refreshed = try? await fetch(force: false), refreshed.kids.contains(kid) else {
                throw .unauthorized("the token is signed by a key ('\(kid.prefix(80))') the key set does not hold")
            }
            keys = refreshed
        }
        let claims: BearerClaims
        do {
            claims = try await keys.collection.verify(token, as: BearerClaims.self)
        } catch {
            throw Self.failure(error)
        }
        if let issuer = configuration.issuer, claims.iss?.value != issuer {
            throw .forbidden("the token's issuer is '\(claims.iss?.value ?? "")', not '\(issuer)' (--jwt-issuer)")
        }
        if let audience = configuration.audience, !(claims.aud?.value.contains(audience) ?? false) {
            throw .forbidden("the token is not for the audience '\(audience)' (--jwt-audience)")
        }
        guard let subject = claims.sub?.value, !subject.isEmpty else {
            throw .unauthorized("the token has no 'sub' claim; executions are bound to the caller's subject")
        }
        return subject
    }

    /// Loads the key set at start, so a wrong URL shows in the log at once (requests retry later).
    func prefetch() async {
        do {
            _ = try await fetch(force: true)
        } catch {
            logger.warning("--jwks-url: \(error); requests with tokens get 503 until the key set can be fetched")
        }
    }

    /// The `kid` of the token's header, read before any check.
    private static func keyID(of token: String) -> String? {
        guard case .string(let kid)? = field("kid", ofPart: 0, of: token) else { return nil }
        return kid
    }

    /// A claim of a token whose checks passed, as written (jwt-kit reads only the claims it knows).
    static func claim(_ name: String, of token: String) -> Value? {
        field(name, ofPart: 1, of: token)
    }

    /// A field of the token's header (part 0) or payload (part 1). Done on the UTF-8 bytes: Foundation's
    /// `split(separator:)` and `replacingOccurrences` on a String took ~55 µs a call (BENCHMARKS.md,
    /// "Tenancy"), paid on every request, twice with --tenants.
    private static func field(_ name: String, ofPart index: Int, of token: String) -> Value? {
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard index < parts.count else { return nil }
        // base64url to base64: `-` and `_` become `+` and `/`, and the padding comes back.
        var base64 = parts[index].map { byte in
            byte == UInt8(ascii: "-") ? UInt8(ascii: "+") : byte == UInt8(ascii: "_") ? UInt8(ascii: "/") : byte
        }
        base64 += repeatElement(UInt8(ascii: "="), count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: Data(base64)), case .object(let fields)? = try? PlainJSON.value(from: data)
        else { return nil }
        return fields[name]
    }

    private static func failure(_ error: any Error) -> Failure {
        guard let error = error as? JWTError else { return .unauthorized("the token is not a valid JWT") }
        return switch error.errorType {
        case .claimVerificationFailure: .unauthorized("the token \(error.reason ?? "failed a claim check")")
        case .signatureVerificationFailed: .unauthorized("the token's signature does not verify")
        case .missingKIDHeader: .unauthorized("the token names no key ('kid' header)")
        case .unsupportedAlgorithm: .unauthorized("the token's algorithm is not accepted")
        default: .unauthorized("the token is not a valid JWT (\(error.errorType))")
        }
    }

    private func currentKeys() async throws(Failure) -> KeySet {
        if let keys, let fetchedAt, ContinuousClock.now - fetchedAt < Self.maximumKeyAge { return keys }
        do {
            return try await fetch(force: true)
        } catch {
            if let keys { return keys }
            throw .keysUnavailable("cannot verify tokens: the key set at \(configuration.url) could not be fetched (\(error))")
        }
    }

    /// Fetches the key set unless it was fetched within `refetchInterval` (or `force`).
    private func fetch(force: Bool) async throws -> KeySet {
        if !force, let keys, let fetchedAt, ContinuousClock.now - fetchedAt < Self.refetchInterval { return keys }
        var request = HTTPClientRequest(url: configuration.url)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        guard response.status == .ok else { throw KeySetError("HTTP \(response.status.code)") }
        let body = try await response.body.collect(upTo: 1 << 20)
        let jwks = try JSONDecoder().decode(JWKS.self, from: Data(buffer: body))
        let collection = JWTKeyCollection()
        try await collection.add(jwks: jwks)
        let fetched = KeySet(collection: collection, kids: Set(jwks.keys.compactMap { $0.keyIdentifier?.string }))
        keys = fetched
        fetchedAt = .now
        return fetched
    }

    private struct KeySet {
        let collection: JWTKeyCollection
        let kids: Set<String>
    }

    private struct KeySetError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

/// The claims mcp-v8 reads; `exp` is required, so no token lives forever.
struct BearerClaims: JWTPayload {
    var sub: SubjectClaim?
    var exp: ExpirationClaim
    var nbf: NotBeforeClaim?
    var iss: IssuerClaim?
    var aud: AudienceClaim?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        try nbf?.verifyNotBefore()
    }
}

/// Lets a request through to the MCP endpoints, the REST API and `/metrics` (which shows every
/// caller's activity) only with a valid bearer token, and records the token's subject in the context,
/// and with `--tenants` the tenant its `--tenant-claim` names (403 when it names none).
/// `/healthz` and the OpenAPI document stay open.
struct BearerAuthMiddleware: RouterMiddleware {
    typealias Context = MCPV8RequestContext
    let verifier: JWKSVerifier
    /// With `--tenants`: the tenants and the claim that picks one.
    let tenants: (directory: TenantDirectory, claim: String)?
    static let protectedPrefixes = ["/mcp", "/sse", "/message", "/api/", "/metrics"]

    static func isProtected(_ path: String) -> Bool {
        protectedPrefixes.contains(where: { path == $0 || path.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") })
    }

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.isProtected(request.uri.path) else { return try await next(request, context) }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            return HTTPMessages.error(.unauthorized, "A bearer token is required (Authorization: Bearer <JWT>).",
                                      headers: [.wwwAuthenticate: "Bearer realm=\"mcp-v8\""])
        }
        var context = context
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        do {
            context.subject = try await verifier.subject(of: token)
        } catch .unauthorized(let reason) {
            return HTTPMessages.error(.unauthorized, "Invalid bearer token: \(reason).",
                                      headers: [.wwwAuthenticate: "Bearer realm=\"mcp-v8\", error=\"invalid_token\""])
        } catch .forbidden(let reason) {
            return HTTPMessages.error(.forbidden, "Forbidden: \(reason).")
        } catch .keysUnavailable(let reason) {
            return HTTPMessages.error(.serviceUnavailable, reason)
        }
        if let (directory, claim) = tenants {
            do {
                context.tenant = try directory.tenant(claim: claim, value: JWKSVerifier.claim(claim, of: token))
            } catch {
                return HTTPMessages.error(.forbidden, "Forbidden: \(error).")
            }
        }
        return try await next(request, context)
    }
}

/// `--tenant NAME` on an HTTP server that checks no tokens: every caller is that tenant, while it
/// is configured (a reload may remove it: 403).
struct FixedTenantMiddleware: RouterMiddleware {
    typealias Context = MCPV8RequestContext
    let directory: TenantDirectory
    let name: String

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        guard BearerAuthMiddleware.isProtected(request.uri.path) else { return try await next(request, context) }
        var context = context
        do {
            context.tenant = try directory.fixedTenant(name)
        } catch {
            return HTTPMessages.error(.forbidden, "Forbidden: \(error).")
        }
        return try await next(request, context)
    }
}
