import Foundation
import HostSupport
import MCP

/// The OpenAPI 3 description of the REST API, served at `/api-doc/openapi.json` and printed by
/// `--print-openapi`; `docs/openapi.json` is its committed copy, which a test keeps equal.
enum OpenAPIDocument {
    static let path = "/api-doc/openapi.json"

    static var document: Value {
        .object([
            "openapi": "3.1.0",
            "info": .object([
                "title": "mcp-v8 REST API",
                "version": .string(MCPV8Version.current),
                "description": .string("Run JavaScript in sandboxed V8 isolates without MCP framing. Fields follow "
                    + "the MCP tools (run_js, get_execution, get_execution_output, cancel_execution, "
                    + "list_executions, delete_heap). In stateless mode (--stateless) only POST /api/exec exists; the execution "
                    + "routes answer 404. Every failure has the body {\"error\": message}."),
            ]),
            "paths": .object([
                "/api/exec": .object(["post": operation(
                    "exec", "Run code. Stateless: the result. Stateful: an execution, complete if it ended within "
                        + "inline_wait_ms (200), else still running (202).",
                    body: ref("ExecRequest"),
                    responses: ["200": jsonResponse("The run ended (a failed run has `error`).", .object(["anyOf": .array([
                        ref("StatelessResult"), ref("Execution")])])),
                                "202": jsonResponse("Stateful: still running; poll GET /api/executions/{id}.", ref("Execution"))],
                    errors: ["400", "404", "405", "413", "415", "429", "503"])]),
                "/api/executions": .object(["get": operation(
                    "listExecutions", "Every execution this server knows, oldest first.",
                    responses: ["200": jsonResponse("The executions.", ref("ExecutionList"))], errors: ["404", "405"])]),
                "/api/executions/{id}": .object(["get": operation(
                    "getExecution", "Status and result of one execution.", parameters: [idParameter],
                    responses: ["200": jsonResponse("The execution.", ref("Execution"))], errors: ["404", "405"])]),
                "/api/executions/{id}/output": .object(["get": operation(
                    "getExecutionOutput", "A page of an execution's console output, readable while it runs: line "
                        + "mode (line_offset, line_limit) or byte mode (byte_offset, byte_limit), not both.",
                    parameters: [idParameter, query("line_offset", minimum: 0), query("line_limit", minimum: 1, maximum: 100_000),
                                 query("byte_offset", minimum: 0), query("byte_limit", minimum: 1, maximum: 16_777_216)],
                    responses: ["200": jsonResponse("The page.", ref("OutputPage"))], errors: ["400", "404", "405"])]),
                "/api/executions/{id}/cancel": .object(["post": operation(
                    "cancelExecution", "Stop a queued or running execution.", parameters: [idParameter],
                    responses: ["200": jsonResponse("The execution after the request.", ref("Execution"))],
                    errors: ["404", "405"])]),
                "/api/heaps/{id}": .object(["delete": operation(
                    "deleteHeap", "Delete a heap the caller made: drops the caller's ownership and tags; the bytes "
                        + "go when no other caller made the same heap (heaps are shared by identical content).",
                    parameters: [idParameter],
                    responses: ["200": jsonResponse("What happened to the heap.", ref("HeapDeletion"))],
                    errors: ["400", "404", "405"])]),
            ]),
            "components": .object([
                "schemas": .object([
                    "ExecRequest": object([
                        "code": string("JavaScript source to run."),
                        "heap": nullable(["type": "string", "pattern": "^[0-9a-fA-F]{64}$",
                                         "description": "Stateful: the heap to start from; omit for a new one."]),
                        "session": nullable(["type": "string", "minLength": 1, "maxLength": 200,
                                            "description": "Stateful: the session to log the run under."]),
                        "tags": nullable(["type": "object", "maxProperties": 100,
                                         "propertyNames": .object(["minLength": 1, "maxLength": 200]),
                                         "additionalProperties": .object(["type": "string", "maxLength": 1000]),
                                         "description": "Stateful: tags to set on the new heap."]),
                        "heap_memory_max_mb": nullable(integer("Heap limit of this run, in MB.", 4, 64)),
                        "execution_timeout_secs": nullable(integer("Wall-clock limit of this run, in seconds.", 1, 300)),
                        "inline_wait_ms": nullable(integer("Stateful: how long to wait for the run to end.", 0, 60_000)),
                    ], required: ["code"], closed: true),
                    "StatelessResult": object([
                        "output": string("Console output."),
                        "result": .object(["description": "The value of the last expression, as JSON."]),
                        "error": string("Present when the run failed."),
                    ], required: ["output"]),
                    "Execution": object([
                        "execution_id": string("The execution's id."),
                        "status": .object(["type": "string",
                                           "enum": ["running", "completed", "failed", "cancelled", "timed_out"]]),
                        "result": .object(["description": "The value of the last expression, as JSON."]),
                        "heap": string("The heap the run ended with (64 hex characters)."),
                        "error": string("What went wrong, when the run failed."),
                        "started_at": string("ISO 8601 time."),
                        "completed_at": string("ISO 8601 time."),
                        "output": string("The first page of console output (POST /api/exec when complete)."),
                        "output_has_more": .object(["type": "boolean"]),
                        "message": string("What a cancel request did."),
                    ], required: ["execution_id", "status"]),
                    "ExecutionList": object([
                        "executions": .object(["type": "array", "items": object([
                            "execution_id": string("The execution's id."),
                            "status": .object(["type": "string"]),
                            "started_at": string("ISO 8601 time."),
                            "completed_at": string("ISO 8601 time."),
                        ], required: ["execution_id", "status", "started_at"])]),
                    ], required: ["executions"]),
                    "OutputPage": object([
                        "execution_id": string("The execution's id."),
                        "status": .object(["type": "string"]),
                        "data": string("The page's text."),
                        "line_offset": .object(["type": "integer"]), "next_line_offset": .object(["type": "integer"]),
                        "byte_offset": .object(["type": "integer"]), "next_byte_offset": .object(["type": "integer"]),
                        "total_lines": .object(["type": "integer"]), "total_bytes": .object(["type": "integer"]),
                        "has_more": .object(["type": "boolean"]),
                    ], required: ["execution_id", "status", "data", "has_more"]),
                    "HeapDeletion": object([
                        "heap": string("The heap's id."),
                        "deleted": .object(["type": "boolean",
                                            "description": "true: the bytes are gone; false: others made it too and keep it."]),
                        "message": string("What happened, in words."),
                    ], required: ["heap", "deleted", "message"]),
                    "Error": object(["error": string("What went wrong and what is allowed.")], required: ["error"]),
                ]),
                "securitySchemes": .object(["bearer": .object(["type": "http", "scheme": "bearer", "bearerFormat": "JWT"])]),
            ]),
        ])
    }

    private static let errorMeanings = [
        "400": "A field is missing, of the wrong type, or out of range.",
        "401": "No valid bearer token (servers started with --jwks-url).",
        "403": "The token is valid but not for this server.",
        "404": "No such execution or heap (or a stateless server).",
        "405": "The path does not answer this method (see Allow).",
        "413": "The body is larger than --max-request-bytes.",
        "415": "The body is not declared as application/json.",
        "429": "The execution queue, the caller's tenant's queue (max_queued_executions), or the caller's share of it (--max-executions-per-subject), is full; retry shortly.",
        "503": "The server is shutting down.",
    ]

    private static func operation(_ id: String, _ summary: String, parameters: [Value] = [], body: Value? = nil,
                                  responses: [String: Value], errors: [String]) -> Value {
        var all = responses
        for code in errors + ["401", "403"] { all[code] = jsonResponse(errorMeanings[code] ?? "", ref("Error")) }
        var fields: [String: Value] = ["operationId": .string(id), "summary": .string(summary),
                                       "responses": .object(all), "security": [.object([:]), ["bearer": []]]]
        if !parameters.isEmpty { fields["parameters"] = .array(parameters) }
        if let body {
            fields["requestBody"] = ["required": true, "content": ["application/json": ["schema": body]]]
        }
        return .object(fields)
    }

    private static let idParameter: Value = ["name": "id", "in": "path", "required": true, "schema": ["type": "string"]]

    private static func query(_ name: String, minimum: Int, maximum: Int? = nil) -> Value {
        var schema: [String: Value] = ["type": "integer", "minimum": .int(minimum)]
        if let maximum { schema["maximum"] = .int(maximum) }
        return ["name": .string(name), "in": "query", "required": false, "schema": .object(schema)]
    }

    private static func jsonResponse(_ description: String, _ schema: Value) -> Value {
        ["description": .string(description), "content": ["application/json": ["schema": schema]]]
    }

    private static func ref(_ name: String) -> Value { ["$ref": .string("#/components/schemas/\(name)")] }

    /// Optional request fields may also be null, which means absent.
    private static func nullable(_ schema: Value) -> Value {
        guard case .object(var fields) = schema, let type = fields["type"] else { return schema }
        fields["type"] = [type, "null"]
        return .object(fields)
    }

    private static func nullable(_ fields: [String: Value]) -> Value { nullable(.object(fields)) }

    private static func string(_ description: String) -> Value { ["type": "string", "description": .string(description)] }

    private static func integer(_ description: String, _ minimum: Int, _ maximum: Int) -> Value {
        ["type": "integer", "minimum": .int(minimum), "maximum": .int(maximum), "description": .string(description)]
    }

    private static func object(_ properties: [String: Value], required: [String], closed: Bool = false) -> Value {
        var fields: [String: Value] = ["type": "object", "properties": .object(properties),
                                       "required": .array(required.map { .string($0) })]
        if closed { fields["additionalProperties"] = false }
        return .object(fields)
    }

    /// The document as pretty, key-sorted JSON text.
    static var text: String {
        String(decoding: PlainJSON.encoded(document, pretty: true), as: UTF8.self) + "\n"
    }
}
