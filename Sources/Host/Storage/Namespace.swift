/// Whose sessions, heap tags, heaps and executions a call sees: the verified token subject when
/// the server checks tokens, else one default namespace shared by every caller. Another
/// namespace's session names, tags, heap ids and executions answer as ones that do not exist.
public struct Namespace: Hashable, Sendable {
    /// How it is stored: the subject, or "" for the default namespace (a token's subject is never empty).
    public let key: String

    public static let `default` = Namespace(key: "")

    public init(key: String) { self.key = key }

    /// The namespace of a caller with this verified token subject; nil (no tokens checked) is the default.
    public init(subject: String?) { self.init(key: subject ?? "") }
}
