import Foundation

extension NodeName {
    /// A new MCP session id, `<node-name>.<uuid>`: only the node that opened a session holds it, so
    /// a load balancer sends the requests carrying the id to the node it names (docs/deploy/nginx.conf).
    public func newSessionID() -> String {
        "\(description).\(UUID().uuidString.lowercased())"
    }
}
