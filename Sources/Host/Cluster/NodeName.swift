import Foundation

/// The name a node goes by among the nodes sharing one database (`--node-name`): it starts the
/// ids of the Streamable HTTP sessions the node opens, so a load balancer can route a session's
/// requests back to it, and it names the node in executions it leaves behind. Letters, digits
/// and `-`, 1 to 63 of them (a DNS label), so it is safe in a header, a URL and a log line.
public struct NodeName: Sendable, Hashable, CustomStringConvertible {
    public let description: String

    public init(validating name: String) throws(NodeNameError) {
        guard (1...63).contains(name.utf8.count), name.first != "-", name.last != "-",
              name.utf8.allSatisfy({ Self.allowed.contains($0) }) else {
            throw NodeNameError(description: "--node-name must be 1-63 letters, digits and '-' (not at either end), "
                + "such as node-1; got '\(name)'")
        }
        description = name
    }

    /// The host's name made into a node name (characters outside the allowed ones become `-`):
    /// the default, distinct for nodes on distinct machines.
    public static func ofThisHost() -> NodeName {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? ""
        var name = String(host.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }.prefix(63))
        while name.hasPrefix("-") { name.removeFirst() }
        while name.hasSuffix("-") { name.removeLast() }
        return (try? NodeName(validating: name)) ?? NodeName(trusted: "node")
    }

    private init(trusted name: String) { description = name }

    private static let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-".utf8)
}

public struct NodeNameError: Error, CustomStringConvertible {
    public let description: String
}
