import Foundation
import HostSupport
import MCP

/// The tools of stateful mode: `run_js` starts an execution from a heap; the others observe and
/// control executions. Field names follow the system mcp-v8 replaces.
enum StatefulTools {
    static let runJSParameters = ["code", "heap", "session", "tags", "heap_memory_max_mb", "execution_timeout_secs",
                                  "inline_wait_ms"]
    static let tagKeyLength = 1...200
    static let tagValueLength = 0...1000
    static let tagsPerCall = 100
    static let sessionFields = ["index", "input_heap", "output_heap", "code", "timestamp"]
    static let sessionNameLength = 1...200
    static let inlineWaitMilliseconds = 0...60_000
    static let defaultLineLimit = 1000
    static let lineLimits = 1...100_000
    static let byteLimits = 1...(16 * 1024 * 1024)

    static func definitions(runJSDescription: String, defaults: ExecutionDefaults, inlineWaitMilliseconds: Int) -> [Tool] {
        let executionID: Value = .object(["type": "string", "description": "The id run_js returned."])
        func tool(_ name: String, _ description: String, _ properties: [String: Value], required: [String]) -> Tool {
            Tool(name: name, description: description,
                 inputSchema: .object(["type": "object", "properties": .object(properties),
                                       "required": .array(required.map { .string($0) }),
                                       "additionalProperties": false]))
        }
        return [
            tool("run_js", runJSDescription, [
                "code": .object(["type": "string", "description": "JavaScript source to run."]),
                "heap": .object(["type": "string", "pattern": "^[0-9a-fA-F]{64}$",
                                 "description": "The heap (64 hex characters) to start from; omit for a new one."]),
                "session": .object(["type": "string", "minLength": 1, "maxLength": 200,
                                    "description": "A session name: the run is logged under it (list_sessions)."]),
                "tags": tagsSchema("Tags to set on the run's new heap (when it completes)."),
                "heap_memory_max_mb": RunJSTool.heapSchema(defaults),
                "execution_timeout_secs": RunJSTool.timeoutSchema(defaults),
                "inline_wait_ms": .object([
                    "type": "integer", "minimum": .int(Self.inlineWaitMilliseconds.lowerBound),
                    "maximum": .int(Self.inlineWaitMilliseconds.upperBound),
                    "description": .string("How long to wait for the run to end and answer inline "
                        + "(default \(inlineWaitMilliseconds); 0 returns only the execution_id)."),
                ]),
            ], required: ["code"]),
            tool("get_execution", "Status and result of an execution: execution_id, status "
                 + "(running|completed|failed|cancelled|timed_out), result, heap, error, started_at, completed_at.",
                 ["execution_id": executionID], required: ["execution_id"]),
            tool("get_execution_output", "A page of an execution's console output, readable while it runs. "
                 + "Line mode (line_offset, line_limit; 0-based, the default) or byte mode (byte_offset, "
                 + "byte_limit; pages never split a UTF-8 character). The answer gives the page as data and its "
                 + "position in both: line_offset, next_line_offset, byte_offset, next_byte_offset, total_lines, "
                 + "total_bytes, has_more.",
                 ["execution_id": executionID,
                  "line_offset": .object(["type": "integer", "minimum": 0]),
                  "line_limit": .object(["type": "integer", "minimum": .int(lineLimits.lowerBound),
                                         "maximum": .int(lineLimits.upperBound)]),
                  "byte_offset": .object(["type": "integer", "minimum": 0]),
                  "byte_limit": .object(["type": "integer", "minimum": .int(byteLimits.lowerBound),
                                         "maximum": .int(byteLimits.upperBound)])],
                 required: ["execution_id"]),
            tool("cancel_execution", "Stop a queued or running execution.", ["execution_id": executionID],
                 required: ["execution_id"]),
            tool("list_executions", "All executions of this server run, oldest first, with their status.", [:],
                 required: []),
            tool("list_sessions", "The names of the sessions your runs were logged under.", [:], required: []),
            tool("list_session_snapshots", "The runs logged under a session, in order: index, input_heap, "
                 + "output_heap (absent when the run failed), code, timestamp.",
                 ["session": .object(["type": "string"]),
                  "fields": .object(["type": "string", "description": .string(
                      "Comma-separated fields to return, from: \(sessionFields.joined(separator: ", ")) (default all).")])],
                 required: ["session"]),
            tool("get_heap_tags", "The tags of a heap.", ["heap": heapSchema], required: ["heap"]),
            tool("set_heap_tags", "Set tags on a stored heap: given keys get the given values; other keys stay.",
                 ["heap": heapSchema, "tags": tagsSchema("The tags to set.")], required: ["heap", "tags"]),
            tool("delete_heap_tags", "Remove tag keys from a heap.",
                 ["heap": heapSchema, "keys": .object(["type": "array", "items": .object(["type": "string"])])],
                 required: ["heap", "keys"]),
            tool("query_heaps_by_tags", "The heaps carrying every one of the given tags (key and value).",
                 ["tags": tagsSchema("The tags a heap must all carry.")], required: ["tags"]),
            tool("delete_heap", "Delete a heap you made; you can no longer resume it. Heaps are stored once per "
                 + "content, so identical heaps made by others are the same heap: this drops your ownership and "
                 + "your tags of it, and its bytes go only when no one else made it. Answers heap, deleted "
                 + "(whether the bytes went) and message.",
                 ["heap": heapSchema], required: ["heap"]),
        ]
    }

    static let heapSchema: Value = .object(["type": "string", "pattern": "^[0-9a-fA-F]{64}$",
                                            "description": "A heap id (64 hex characters)."])

    static func tagsSchema(_ description: String) -> Value {
        .object(["type": "object", "additionalProperties": .object(["type": "string", "maxLength": 1000]),
                 "maxProperties": .int(tagsPerCall), "description": .string(description)])
    }

    /// Carries out one stateful tool call in `namespace`: another namespace's executions, sessions,
    /// tags and heaps are unknown to it. Throws what `ToolFailure.classify` names for the caller.
    static func answer(_ name: String, _ arguments: [String: Value]?, registry: ExecutionRegistry,
                       inlineWaitMilliseconds: Int, namespace: Namespace, tenant: Tenant) async throws -> ToolAnswer {
        switch name {
        case "run_js":
            return try await runJS(arguments, registry: registry, defaultWait: inlineWaitMilliseconds, namespace: namespace,
                                   tenant: tenant)
        case "get_execution":
            return ToolAnswer(fields: fields(try await execution(arguments, tool: name, registry: registry,
                                                                  namespace: namespace)),
                              isError: false)
        case "get_execution_output": return try await output(arguments, registry: registry, namespace: namespace)
        case "cancel_execution":
            let id = try await execution(arguments, tool: name, registry: registry, namespace: namespace).id
            guard let (summary, answer) = try await registry.cancel(id) else { throw UnknownExecutionError(id) }
            let message = switch answer {
            case .requested: "Cancellation requested."
            case .alreadyEnded: "The execution had already ended (\(summary.state.statusName))."
            case .askedOwner(let node): CrossNodeCancel.message(owner: node, endedAs: summary.state)
            }
            var result = fields(summary)
            result["message"] = .string(message)
            return ToolAnswer(fields: result, isError: false)
        case "list_sessions":
            _ = try ToolArguments(arguments, tool: name, allowed: [])
            let sessions = try await registry.metadata.sessions(in: namespace).map { Value.string($0) }
            return ToolAnswer(fields: ["sessions": .array(sessions)], isError: false)
        case "list_session_snapshots": return try await sessionSnapshots(arguments, registry: registry, namespace: namespace)
        case "get_heap_tags", "set_heap_tags", "delete_heap_tags", "query_heaps_by_tags":
            return try await heapTags(name, arguments, registry: registry, namespace: namespace)
        case "delete_heap": return try await deleteHeap(arguments, registry: registry, namespace: namespace)
        default:
            _ = try ToolArguments(arguments, tool: name, allowed: [])
            let list = try await registry.list().filter { $0.owner == namespace }.map { summary -> Value in
                var entry: [String: Value] = ["execution_id": .string(summary.id),
                                              "status": .string(summary.state.statusName),
                                              "started_at": .string(timestamp(summary.startedAt))]
                if let completedAt = summary.completedAt { entry["completed_at"] = .string(timestamp(completedAt)) }
                return .object(entry)
            }
            return ToolAnswer(fields: ["executions": .array(list)], isError: false)
        }
    }

    private static func runJS(_ arguments: [String: Value]?, registry: ExecutionRegistry,
                              defaultWait: Int, namespace: Namespace, tenant: Tenant) async throws -> ToolAnswer {
        let checked = try ToolArguments(arguments, tool: "run_js", allowed: runJSParameters)
        let heap = try checked.optionalString("heap").map { text throws(ToolArgumentError) -> HeapID in
            do { return try HeapID(validating: text) } catch { throw ToolArgumentError("run_js: parameter 'heap': \(error)") }
        }
        let session = try checked.optionalString("session")
        if let session, !sessionNameLength.contains(session.count) {
            throw ToolArgumentError("run_js: parameter 'session' must be 1 to 200 characters long.")
        }
        let parameters = StatefulRunParameters(
            code: try checked.requiredString("code"), heap: heap, session: session,
            tags: try validatedTags(checked, tool: "run_js") ?? [:],
            heapMB: try checked.optionalInteger("heap_memory_max_mb", in: tenant.limits.callHeapMB, of: tenant),
            timeoutSeconds: try checked.optionalInteger("execution_timeout_secs", in: tenant.limits.callTimeoutSeconds,
                                                        of: tenant))
        let wait = try checked.optionalInteger("inline_wait_ms", in: inlineWaitMilliseconds) ?? defaultWait
        let id = try await registry.start(parameters, in: namespace, defaults: tenant.limits.defaults)
        await registry.wait(for: id, upTo: .milliseconds(wait))
        guard let summary = try await registry.summary(of: id), summary.completedAt != nil else {
            return ToolAnswer(fields: ["execution_id": .string(id), "status": "running"], isError: false)
        }
        var result = fields(summary)
        if let output = try await registry.output(of: id) {
            let page = output.page(lineOffset: 0, lineLimit: defaultLineLimit)
            result["output"] = .string(page.text)
            result["output_has_more"] = .bool(page.hasMore)
        }
        return ToolAnswer(fields: result, isError: summary.state != .completed)
    }

    private static func output(_ arguments: [String: Value]?, registry: ExecutionRegistry,
                               namespace: Namespace) async throws -> ToolAnswer {
        let name = "get_execution_output"
        let checked = try ToolArguments(arguments, tool: name,
                                        allowed: ["execution_id", "line_offset", "line_limit", "byte_offset", "byte_limit"])
        let id = try checked.requiredString("execution_id")
        let byteMode = checked.has("byte_offset") || checked.has("byte_limit")
        if byteMode && (checked.has("line_offset") || checked.has("line_limit")) {
            throw ToolArgumentError("\(name): use line_offset/line_limit or byte_offset/byte_limit, not both.")
        }
        guard let summary = try await registry.summary(of: id), summary.owner == namespace,
              let output = try await registry.output(of: id) else {
            throw UnknownExecutionError(id)
        }
        let page = byteMode
            ? output.page(byteOffset: try checked.optionalInteger("byte_offset", in: 0...Int.max) ?? 0,
                          byteLimit: try checked.optionalInteger("byte_limit", in: byteLimits) ?? 65536)
            : output.page(lineOffset: try checked.optionalInteger("line_offset", in: 0...Int.max) ?? 0,
                          lineLimit: try checked.optionalInteger("line_limit", in: lineLimits) ?? defaultLineLimit)
        return ToolAnswer(fields: [
            "execution_id": .string(id), "status": .string(summary.state.statusName), "data": .string(page.text),
            "line_offset": .int(page.lineOffset), "next_line_offset": .int(page.nextLineOffset),
            "byte_offset": .int(page.byteOffset), "next_byte_offset": .int(page.nextByteOffset),
            "total_lines": .int(page.totalLines), "total_bytes": .int(page.totalBytes), "has_more": .bool(page.hasMore),
        ], isError: false)
    }

    private static func validatedTags(_ checked: ToolArguments, tool: String) throws -> [String: String]? {
        guard let tags = try checked.optionalStringMap("tags") else { return nil }
        guard tags.count <= tagsPerCall else { throw ToolArgumentError("\(tool): at most \(tagsPerCall) tags per call.") }
        for (key, value) in tags {
            guard tagKeyLength.contains(key.count), tagValueLength.contains(value.count) else {
                throw ToolArgumentError("\(tool): tag keys are 1 to 200 characters and values at most 1000; "
                    + "'\(key.prefix(40))' is not.")
            }
        }
        return tags
    }

    private static func heapTags(_ name: String, _ arguments: [String: Value]?,
                                 registry: ExecutionRegistry, namespace: Namespace) async throws -> ToolAnswer {
        let allowed = ["get_heap_tags": ["heap"], "set_heap_tags": ["heap", "tags"],
                       "delete_heap_tags": ["heap", "keys"], "query_heaps_by_tags": ["tags"]][name] ?? []
        let checked = try ToolArguments(arguments, tool: name, allowed: allowed)
        if name == "query_heaps_by_tags" {
            guard let tags = try validatedTags(checked, tool: name), !tags.isEmpty else {
                throw ToolArgumentError("\(name): 'tags' must name at least one tag.")
            }
            let heaps = try await registry.metadata.heaps(taggedWith: tags, in: namespace)
            return ToolAnswer(fields: ["heaps": .array(heaps.map { .string($0) })], isError: false)
        }
        let heap = try heapArgument(checked, tool: name)
        // Another namespace's heap answers as a missing one.
        guard try await isStored(heap, for: namespace, registry: registry) else {
            throw ToolArgumentError("\(name): heap \(heap) was not found in the heap store.")
        }
        switch name {
        case "set_heap_tags":
            guard let tags = try validatedTags(checked, tool: name) else {
                throw ToolArgumentError("\(name): missing required parameter 'tags' (an object of strings).")
            }
            try await registry.metadata.setTags(tags, on: heap.hex, in: namespace)
        case "delete_heap_tags":
            try await registry.metadata.deleteTags(try checked.requiredStringArray("keys"), from: heap.hex, in: namespace)
        default:
            break
        }
        let tags = try await registry.metadata.tags(of: heap.hex, in: namespace).mapValues { Value.string($0) }
        return ToolAnswer(fields: ["heap": .string(heap.hex), "tags": .object(tags)], isError: false)
    }

    /// The required parameter `heap`, a valid heap id.
    private static func heapArgument(_ checked: ToolArguments, tool: String) throws -> HeapID {
        do {
            return try HeapID(validating: try checked.requiredString("heap"))
        } catch let error as HeapStoreError {
            throw ToolArgumentError("\(tool): parameter 'heap': \(error)")
        }
    }

    /// Whether `heap` is stored and `namespace` may use it.
    private static func isStored(_ heap: HeapID, for namespace: Namespace, registry: ExecutionRegistry) async throws -> Bool {
        try await registry.metadata.mayResume(heap.hex, in: namespace) && registry.store.exists(heap)
    }

    /// Deletes a heap of the caller's: its bytes when no other namespace made it too (a namespace
    /// names a heap in its logs and tags only if it may resume it, so no owner left means no other
    /// namespace uses it), else only the caller's ownership and tags. A namespace storing the same
    /// heap between the owners' check and the delete gets a heap that is gone (docs/storage.md).
    private static func deleteHeap(_ arguments: [String: Value]?, registry: ExecutionRegistry,
                                   namespace: Namespace) async throws -> ToolAnswer {
        let name = "delete_heap"
        let checked = try ToolArguments(arguments, tool: name, allowed: ["heap"])
        let heap = try heapArgument(checked, tool: name)
        // Another namespace's heap answers as a missing one, as a resume does.
        guard try await isStored(heap, for: namespace, registry: registry) else {
            throw UnknownHeapError(description: "\(name): heap \(heap) was not found in the heap store; "
                + "list_session_snapshots and query_heaps_by_tags show your heaps.")
        }
        let others = try await registry.metadata.owners(of: heap.hex).subtracting([namespace])
        guard others.isEmpty else {
            try await registry.metadata.dropOwnership(of: heap.hex, by: namespace)
            return ToolAnswer(fields: [
                "heap": .string(heap.hex), "deleted": false,
                "message": .string("Your ownership and tags of the heap were dropped, so you can no longer resume it; "
                    + "others made the same heap, so its bytes stay for them."),
            ], isError: false)
        }
        try registry.store.delete(heap)
        try await registry.metadata.forget(heap: heap.hex)
        return ToolAnswer(fields: ["heap": .string(heap.hex), "deleted": true, "message": "The heap was deleted."],
                          isError: false)
    }

    private static func sessionSnapshots(_ arguments: [String: Value]?, registry: ExecutionRegistry,
                                         namespace: Namespace) async throws -> ToolAnswer {
        let name = "list_session_snapshots"
        let checked = try ToolArguments(arguments, tool: name, allowed: ["session", "fields"])
        let session = try checked.requiredString("session")
        let fields = try checked.optionalString("fields").map {
            $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        } ?? sessionFields
        if let unknown = fields.first(where: { !sessionFields.contains($0) }) {
            throw ToolArgumentError("\(name): unknown field '\(unknown)'; allowed: \(sessionFields.joined(separator: ", ")).")
        }
        let snapshots = try await registry.metadata.entries(session: session, in: namespace).map { entry -> Value in
            var all: [String: Value] = ["index": .int(entry.index), "code": .string(entry.code),
                                        "timestamp": .string(timestamp(entry.timestamp))]
            if let input = entry.inputHeap { all["input_heap"] = .string(input) }
            if let output = entry.outputHeap { all["output_heap"] = .string(output) }
            return .object(all.filter { fields.contains($0.key) })
        }
        return ToolAnswer(fields: ["session": .string(session), "snapshots": .array(snapshots)], isError: false)
    }

    private static func execution(_ arguments: [String: Value]?, tool: String, registry: ExecutionRegistry,
                                  namespace: Namespace) async throws -> ExecutionSummary {
        let id = try ToolArguments(arguments, tool: tool, allowed: ["execution_id"]).requiredString("execution_id")
        guard let summary = try await registry.summary(of: id), summary.owner == namespace else { throw UnknownExecutionError(id) }
        return summary
    }

    static func fields(_ summary: ExecutionSummary) -> [String: Value] {
        var fields: [String: Value] = ["execution_id": .string(summary.id), "status": .string(summary.state.statusName),
                                       "started_at": .string(timestamp(summary.startedAt))]
        if let json = summary.resultJSON { fields["result"] = PlainJSON.result(json) }
        if let heap = summary.heap { fields["heap"] = .string(heap.hex) }
        if let error = summary.error, summary.state != .completed { fields["error"] = .string(error) }
        if let completedAt = summary.completedAt { fields["completed_at"] = .string(timestamp(completedAt)) }
        return fields
    }

    private static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
