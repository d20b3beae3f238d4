import Foundation
import Hummingbird
import MCP

/// The REST API: the run_js family of tools without MCP framing. Bodies and answers carry the
/// same fields as the tools; failures carry `{"error": message}` with a status that says why.
struct RESTRoutes {
    let setup: MCPServerSetup
    let maxRequestBytes: Int
    let draining: ShutdownState

    /// Every route, as (method, path) in the router's syntax; the OpenAPI document must list exactly these.
    static let routes: [(method: String, path: String)] = [
        ("POST", "/api/exec"),
        ("GET", "/api/executions"),
        ("GET", "/api/executions/{id}"),
        ("GET", "/api/executions/{id}/output"),
        ("POST", "/api/executions/{id}/cancel"),
        ("DELETE", "/api/heaps/{id}"),
    ]

    /// The methods `routes` serve for a concrete path (`{id}` matches one segment).
    static func methods(servingPath path: String) -> [String] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        return routes.filter { route in
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: false)
            return pattern.count == segments.count
                && zip(pattern, segments).allSatisfy { $0 == "{id}" ? !$1.isEmpty : $0 == $1 }
        }.map(\.method)
    }

    static let outputQueryParameters = ["line_offset", "line_limit", "byte_offset", "byte_limit"]

    func register(on router: Router<MCPV8RequestContext>) {
        router.add(middleware: MethodNotAllowedMiddleware())
        router.post("/api/exec") { request, context in
            guard !draining.isDraining else { throw ShutdownState.refusal }
            let body = try await HTTPMessages.jsonObject(of: request, limit: maxRequestBytes)
            let answer = try await call("run_js", body, context: context)
            // A stateful run still going when the inline window closed: accepted, poll for it.
            let running = answer.fields["status"] == "running"
            return HTTPMessages.json(.object(answer.fields), status: running ? .accepted : .ok)
        }
        router.get("/api/executions") { _, context in
            HTTPMessages.json(.object(try await call("list_executions", [:], context: context).fields))
        }
        router.get("/api/executions/:id") { _, context in
            let id = try context.parameters.require("id")
            return HTTPMessages.json(.object(try await call("get_execution", ["execution_id": .string(id)],
                                                            context: context).fields))
        }
        router.get("/api/executions/:id/output") { request, context in
            var arguments: [String: Value] = ["execution_id": .string(try context.parameters.require("id"))]
            for (name, value) in request.uri.queryParameters {
                let name = String(name)
                guard Self.outputQueryParameters.contains(name) else {
                    throw HTTPEndpointError(.badRequest, "Unknown query parameter '\(name.prefix(40))'; allowed: "
                        + Self.outputQueryParameters.joined(separator: ", ") + ".")
                }
                guard let integer = Int(String(value)) else {
                    throw HTTPEndpointError(.badRequest, "Query parameter '\(name)' must be an integer, got '\(value.prefix(40))'.")
                }
                arguments[name] = .int(integer)
            }
            return HTTPMessages.json(.object(try await call("get_execution_output", arguments, context: context).fields))
        }
        router.post("/api/executions/:id/cancel") { _, context in
            let id = try context.parameters.require("id")
            return HTTPMessages.json(.object(try await call("cancel_execution", ["execution_id": .string(id)],
                                                            context: context).fields))
        }
        router.delete("/api/heaps/:id") { _, context in
            let id = try context.parameters.require("id")
            return HTTPMessages.json(.object(try await call("delete_heap", ["heap": .string(id)], context: context).fields))
        }
    }

    private func call(_ tool: String, _ arguments: [String: Value], context: MCPV8RequestContext) async throws -> ToolAnswer {
        if case .stateless = setup.mode, tool != "run_js" { throw noExecutions }
        do {
            return try await setup.answer(tool: tool, arguments: arguments, namespace: context.namespace)
        } catch {
            guard let (kind, message) = ToolFailure.classify(error) else { throw error }
            let status: HTTPResponse.Status = switch kind {
            case .invalidArgument: .badRequest
            case .notFound: .notFound
            case .busy: .tooManyRequests
            case .forbidden: .forbidden
            case .storage: .internalServerError
            case .unavailable: .serviceUnavailable
            }
            throw HTTPEndpointError(status, message)
        }
    }

    private var noExecutions: HTTPEndpointError {
        HTTPEndpointError(.notFound, "This server runs in stateless mode (--stateless), which keeps no executions; "
            + "POST /api/exec answers with the result.")
    }
}

/// 405 with `Allow` for a REST path asked with a method it does not serve (the router alone says 404).
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = MCPV8RequestContext

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = RESTRoutes.methods(servingPath: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method.rawValue) else { throw error }
            return HTTPMessages.error(.methodNotAllowed, "\(request.uri.path) answers \(allowed.joined(separator: ", ")), "
                + "not \(request.method).", headers: [.allow: allowed.joined(separator: ", ")])
        }
    }
}
