import Foundation
import HostSupport
import MCP

/// The `run_js` tool as MCP clients see it in stateless mode.
enum RunJSTool {
    static let name = "run_js"

    static let parameterNames = ["code", "heap_memory_max_mb", "execution_timeout_secs"]

    static func definition(description: String, defaults: ExecutionDefaults) -> Tool {
        Tool(
            name: name,
            description: description,
            inputSchema: .object([
                "type": "object",
                "properties": .object([
                    "code": .object([
                        "type": "string",
                        "description": "JavaScript or TypeScript source to run.",
                    ]),
                    "heap_memory_max_mb": heapSchema(defaults),
                    "execution_timeout_secs": timeoutSchema(defaults),
                ]),
                "required": ["code"],
                "additionalProperties": false,
            ]),
            annotations: .init(title: "Run JavaScript", readOnlyHint: false, destructiveHint: false,
                               idempotentHint: false, openWorldHint: false),
            outputSchema: .object([
                "type": "object",
                "properties": .object([
                    "output": .object([
                        "type": "string", "description": "Console output, one line per console call line.",
                    ]),
                    "result": .object([
                        "description": .string("The result: its JSON value if JSON-serializable, else its "
                            + "string form. Absent when the result is undefined."),
                    ]),
                    "error": .object([
                        "type": "string", "description": "Present when the run failed: what went wrong.",
                    ]),
                ]),
                "required": ["output"],
            ]))
    }

    static func heapSchema(_ defaults: ExecutionDefaults) -> Value {
        .object([
            "type": "integer",
            "minimum": .int(ExecutionLimits.callHeapMB.lowerBound),
            "maximum": .int(ExecutionLimits.callHeapMB.upperBound),
            "description": .string("V8 heap limit for this run, in MB (default \(defaults.heapMB))."),
        ])
    }

    static func timeoutSchema(_ defaults: ExecutionDefaults) -> Value {
        .object([
            "type": "integer",
            "minimum": .int(ExecutionLimits.timeoutSeconds.lowerBound),
            "maximum": .int(ExecutionLimits.timeoutSeconds.upperBound),
            "description": .string("Wall-clock limit for this run, in seconds (default \(defaults.timeoutSeconds))."),
        ])
    }

    /// The call's parameters, its limits within what `tenant` may ask for.
    static func parameters(from arguments: [String: Value]?, tenant: Tenant) throws(ToolArgumentError) -> RunParameters {
        let arguments = try ToolArguments(arguments, tool: name, allowed: parameterNames)
        return RunParameters(
            code: try arguments.requiredString("code"),
            heapMB: try arguments.optionalInteger("heap_memory_max_mb", in: tenant.limits.callHeapMB, of: tenant),
            timeoutSeconds: try arguments.optionalInteger(
                "execution_timeout_secs", in: tenant.limits.callTimeoutSeconds, of: tenant))
    }

    /// `{output, result?, error?}`.
    static func answer(_ result: StatelessResult) -> ToolAnswer {
        var fields: [String: Value] = ["output": .string(result.output)]
        if let json = result.resultJSON {
            fields["result"] = PlainJSON.result(json)
        }
        if let error = result.error, !result.succeeded { fields["error"] = .string(error) }
        return ToolAnswer(fields: fields, isError: !result.succeeded)
    }

    /// `fields` as structured content and as its JSON text, the two forms every tool answers in.
    static func structured(_ fields: [String: Value], isError: Bool) -> CallTool.Result {
        let value = Value.object(fields)
        let text = String(decoding: PlainJSON.encoded(value), as: UTF8.self)
        let content: [Tool.Content] = [.text(text: text, annotations: nil, _meta: nil)]
        let structuredContent: Value? = value
        return CallTool.Result(content: content, structuredContent: structuredContent, isError: isError, _meta: nil)
    }
}
