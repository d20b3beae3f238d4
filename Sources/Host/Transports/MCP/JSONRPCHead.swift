import Foundation
import HostSupport
import MCP

/// The members of a JSON-RPC message a transport looks at to track requests and answers: its id,
/// and whether it has a method (a request or notification) or an error. Decoding only these costs
/// a scan of the text; `PlainJSON.value` would build every value in it, the result included.
struct JSONRPCHead: Decodable {
    /// nil when the message has no id (JSON null when it has a null one).
    let id: Value?
    let hasMethod: Bool
    let hasError: Bool

    private enum CodingKeys: String, CodingKey { case id, method, error }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // Not a conditional expression: `Value` takes the nil literal, so its `nil` would read as JSON null.
        if container.contains(.id) {
            id = try container.decode(PlainJSON.Node.self, forKey: .id).value
        } else {
            id = nil
        }
        hasMethod = container.contains(.method)
        hasError = container.contains(.error)
    }

    /// The heads of the messages in `data`: one object, or the objects of a batch; none for anything else.
    static func heads(in data: Data) -> [JSONRPCHead] {
        let decoder = JSONDecoder()
        if let head = try? decoder.decode(JSONRPCHead.self, from: data) { return [head] }
        return (try? decoder.decode([BatchMember].self, from: data))?.compactMap(\.head) ?? []
    }

    /// A member of a batch, which need not be an object.
    private struct BatchMember: Decodable {
        let head: JSONRPCHead?

        init(from decoder: Decoder) throws {
            head = try? JSONRPCHead(from: decoder)
        }
    }
}
