import MCP

/// What a tool call answers: its fields, and whether they report a failed run. Each transport
/// words it its own way (MCP: structured content and text; REST: a JSON body).
public struct ToolAnswer: Sendable {
    public var fields: [String: Value]
    /// The call was carried out, but the run it reports failed (a thrown error, a limit, a cancel).
    public var isError: Bool
}

/// Why a tool call could not be carried out, as the caller should hear it.
public enum ToolFailure: Sendable, Equatable {
    case invalidArgument
    case notFound
    case busy
    case storage
    /// The caller's tenant is no longer configured.
    case forbidden
    /// The metadata store cannot be reached just now; a later call may succeed.
    case unavailable

    /// The kind and message of an error a tool call may throw at its caller; nil for anything
    /// else, which is a server fault.
    public static func classify(_ error: any Error) -> (kind: ToolFailure, message: String)? {
        switch error {
        case let error as ToolArgumentError: (.invalidArgument, error.description)
        case let error as UnknownExecutionError: (.notFound, error.description)
        case let error as UnknownHeapError: (.notFound, error.description)
        case let error as ServerBusyError: (.busy, error.description)
        case let error as HeapStoreError: (.storage, error.description)
        case let error as TenantRefusal: (.forbidden, error.description)
        case let error as MetadataUnavailableError: (.unavailable, error.description)
        default: nil
        }
    }
}

public struct UnknownExecutionError: Error, CustomStringConvertible {
    public let description: String

    init(_ id: String) {
        description = "no execution has the id '\(id.prefix(80))'; list_executions shows the known ones."
    }
}
