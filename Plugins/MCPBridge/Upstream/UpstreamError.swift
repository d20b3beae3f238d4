import Foundation
import HostSupport

/// Why a request to an upstream MCP server failed, worded for the guest (and the log).
public enum UpstreamError: Error, CustomStringConvertible, Sendable, Equatable {
    /// It could not be started or connected to, or did not complete the handshake.
    case unreachable(String, reason: String)
    /// It went away (exited, closed the connection) while a request was in flight.
    case lost(String, reason: String)
    /// It did not answer in time.
    case timedOut(String, what: String, milliseconds: Int)
    /// It answered something that is not MCP.
    case protocolViolation(String, reason: String)
    /// It answered the request with a JSON-RPC error.
    case refused(String, what: String, message: String)

    public var description: String {
        switch self {
        case let .unreachable(server, reason): "upstream '\(server)' is not reachable: \(reason)"
        case let .lost(server, reason): "upstream '\(server)' went away during the request: \(reason)"
        case let .timedOut(server, what, milliseconds): "upstream '\(server)' did not answer \(what) within \(milliseconds) ms"
        case let .protocolViolation(server, reason): "upstream '\(server)' did not speak MCP: \(reason)"
        case let .refused(server, what, message): "upstream '\(server)' refused \(what): \(message)"
        }
    }

    /// The guest's `error.code`.
    public var code: String {
        switch self {
        case .unreachable: "ERR_MCP_UNREACHABLE"
        case .lost: "ECONNRESET"
        case .timedOut: "ETIMEDOUT"
        case .protocolViolation: "ERR_MCP_PROTOCOL"
        case .refused: "ERR_MCP_REFUSED"
        }
    }

    /// The part after the server's name, for wrapping into another kind.
    var reason: String {
        switch self {
        case let .unreachable(_, reason), let .lost(_, reason), let .protocolViolation(_, reason): reason
        case let .timedOut(_, what, milliseconds): "no answer to \(what) within \(milliseconds) ms"
        case let .refused(_, _, message): message
        }
    }
}
