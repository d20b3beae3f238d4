import CDocs
import MCP

/// The documentation an agent can read before it writes code, as MCP resources: the README, the
/// policy and configuration guides (compiled into the binary), the REST API's OpenAPI document,
/// and two pages made for the caller: the tools it is offered, with every parameter, and the
/// capabilities its runs have (its tenant's, where tenants exist).
enum DocumentationResources {
    struct Page {
        let resource: Resource
        let text: () -> String
    }

    static func pages(instructions: String, tools: [Tool]) -> [Page] {
        [
            page("readme", "README", "What mcp-v8 is, its tools, flags and REST API.", "text/markdown") {
                String(cString: mcpv8_doc_readme())
            },
            page("tools", "Tools", "The tools this connection is offered: what each does and its parameters.",
                 "text/markdown") { toolsPage(tools) },
            page("capabilities", "Capabilities",
                 "What this connection's runs may reach (fetch, fs, ...) and how to call it from code.",
                 "text/markdown") { "# Capabilities of this connection's runs\n\n\(instructions)\n" },
            page("policies", "Policies", "How policies allow capability operations, and the input each one judges.",
                 "text/markdown") { String(cString: mcpv8_doc_policies()) },
            page("configuration", "Configuration", "Flags, MCP_V8_* variables and --config files.", "text/markdown") {
                String(cString: mcpv8_doc_configuration())
            },
            page("openapi", "REST API", "The REST API (POST /api/exec, /api/executions/...) as OpenAPI 3.",
                 "application/json") { OpenAPIDocument.text },
        ]
    }

    private static func page(_ name: String, _ title: String, _ description: String, _ mimeType: String,
                             _ text: @escaping () -> String) -> Page {
        Page(resource: Resource(name: name, uri: "docs://\(name)", title: title, description: description,
                                mimeType: mimeType),
             text: text)
    }

    static func register(on server: Server, instructions: String, tools: @escaping @Sendable () -> [Tool]) async {
        await server.withMethodHandler(ListResources.self) { _ in
            ListResources.Result(resources: pages(instructions: instructions, tools: []).map(\.resource))
        }
        await server.withMethodHandler(ReadResource.self) { request in
            let pages = pages(instructions: instructions, tools: tools())
            guard let page = pages.first(where: { $0.resource.uri == request.uri }) else {
                throw MCPError.invalidParams("Unknown resource '\(request.uri)'; available: "
                    + pages.map(\.resource.uri).joined(separator: ", ") + ".")
            }
            return ReadResource.Result(contents: [.text(page.text(), uri: page.resource.uri, mimeType: page.resource.mimeType)])
        }
    }

    /// Each tool with its description and parameters, as Markdown.
    static func toolsPage(_ tools: [Tool]) -> String {
        var text = "# Tools\n"
        for tool in tools {
            text += "\n## \(tool.name)\n\n\(tool.description ?? "")\n"
            guard case .object(let schema) = tool.inputSchema, case .object(let properties)? = schema["properties"],
                  !properties.isEmpty else { continue }
            let required = Set(schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            text += "\n| parameter | type | required | meaning |\n| --- | --- | --- | --- |\n"
            for (name, property) in properties.sorted(by: { $0.key < $1.key }) {
                let type = property.objectValue?["type"]?.stringValue ?? "any"
                let meaning = (property.objectValue?["description"]?.stringValue ?? "")
                    .replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
                text += "| `\(name)` | \(type) | \(required.contains(name) ? "yes" : "no") | \(meaning) |\n"
            }
        }
        return text
    }

    /// `/llms.txt`: what the server is and the caller's tools, in the llms.txt layout (a title, a
    /// summary, then sections), for an agent that reads the web rather than MCP resources.
    static func llmsText(instructions: String, tools: [Tool]) -> String {
        """
        # mcp-v8

        > An MCP server that runs JavaScript and TypeScript in sandboxed V8 isolates. Call `run_js` with `code`; \
        in stateful mode a run returns a `heap` to continue from in a later call, and reaches the network or files \
        only through capabilities a policy allows.

        \(instructions)

        ## Over HTTP

        - MCP (Streamable HTTP): POST /mcp
        - REST: POST /api/exec with {"code": "..."}; the OpenAPI document is at \(OpenAPIDocument.path)
        - MCP resources: docs://readme, docs://tools, docs://capabilities, docs://policies, docs://configuration, docs://openapi

        \(toolsPage(tools).replacingOccurrences(of: "# Tools\n", with: "## Tools\n").replacingOccurrences(of: "\n## ", with: "\n### "))
        """
    }
}
