import Hummingbird
import NIOCore
import Synchronization

/// Per-request state the middleware hands on to the endpoints.
struct MCPV8RequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The verified token's subject, when the server checks tokens (`--jwks-url`).
    var subject: String?
    /// The caller's tenant with `--tenants`, resolved once for the request.
    var tenant: Tenant?
    /// The request's connection, so an endpoint can drop a client that stopped reading.
    let connection: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        connection = source.channel
    }

    /// Whose state the request sees.
    var namespace: Namespace { tenant?.namespace(subject: subject) ?? Namespace(subject: subject) }
}

extension Namespace {
    /// Whether `other` is the caller this namespace was made for: the same tenant and subject, even
    /// where a tenant's callers share their state (an MCP session stays its opener's).
    func isSameCaller(as other: Namespace) -> Bool {
        self == other && tenant == other.tenant && subject == other.subject
    }
}

/// Turns every failure into `{"error": message}` with its status, so clients see one error shape
/// (hummingbird's own 404s and 413s included).
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = MCPV8RequestContext

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPEndpointError {
            return HTTPMessages.error(error.status, error.description)
        } catch let error as HTTPError {
            let message = error.body ?? "\(error.status.reasonPhrase) (\(request.method) \(request.uri.path))."
            return HTTPMessages.error(error.status, message)
        } catch let error as any HTTPResponseError {
            return HTTPMessages.error(error.status, "\(error.status.reasonPhrase) (\(request.method) \(request.uri.path)).")
        } catch {
            context.logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            return HTTPMessages.error(.internalServerError, "Internal server error; the server log has the details.")
        }
    }
}

/// Refuses requests whose Host or Origin is not on the allow list, so a web page cannot reach a
/// server on the user's machine by rebinding a DNS name to 127.0.0.1.
struct RebindingGuardMiddleware: RouterMiddleware {
    typealias Context = MCPV8RequestContext
    let allowedHosts: [String]
    let allowedOrigins: [String]

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        if let host = request.head.authority, !Self.matches(host, allowedHosts) {
            return HTTPMessages.error(.misdirectedRequest, "Host '\(host.prefix(100))' is not allowed "
                + "(--allowed-hosts: \(allowedHosts.joined(separator: ", "))).")
        }
        if let origin = request.headers[.origin], !Self.matches(origin, allowedOrigins) {
            return HTTPMessages.error(.forbidden, "Origin '\(origin.prefix(100))' is not allowed "
                + "(--allowed-origins: \(allowedOrigins.joined(separator: ", "))).")
        }
        return try await next(request, context)
    }

    /// `*` allows anything; `name:*` allows `name` with any port or none; otherwise exact
    /// (case-insensitive).
    static func matches(_ value: String, _ patterns: [String]) -> Bool {
        let value = value.lowercased()
        return patterns.contains { pattern in
            let pattern = pattern.lowercased()
            if pattern == "*" || pattern == value { return true }
            guard pattern.hasSuffix(":*") else { return false }
            let base = pattern.dropLast(2)
            guard value.hasPrefix(base) else { return false }
            let rest = value.dropFirst(base.count)
            return rest.isEmpty || (rest.first == ":" && rest.count > 1 && rest.dropFirst().allSatisfy(\.isNumber))
        }
    }
}

/// Whether the server is shutting down: new work is then refused with 503.
final class ShutdownState: Sendable {
    private let draining = Atomic<Bool>(false)

    var isDraining: Bool { draining.load(ordering: .relaxed) }
    func beginDraining() { draining.store(true, ordering: .relaxed) }

    static let refusal = HTTPEndpointError(.serviceUnavailable, "The server is shutting down; retry on another instance.")
}
