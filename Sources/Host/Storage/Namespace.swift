/// Whose sessions, heap tags, heaps and executions a call sees: the verified token subject when
/// the server checks tokens, else one default namespace shared by every caller. With tenants, the
/// namespace is the tenant's, and within it the subject's unless the tenant shares its state.
/// Another namespace's session names, tags, heap ids and executions answer as ones that do not exist.
///
/// Two namespaces are the same when their keys are: `tenant` and `subject` say who is asking (for
/// policies, scheduling and logs), not whose state it is.
public struct Namespace: Hashable, Sendable {
    /// How it is stored: the subject, or "" for the default namespace (a token's subject is never
    /// empty); with tenants, the tenant's name and the subject after a separator.
    public let key: String
    /// The caller's tenant; "" on a server without `--tenants`.
    public let tenant: String
    /// The caller's verified token subject; nil when the server checks no tokens.
    public let subject: String?

    public static let `default` = Namespace(key: "")

    /// A namespace read back from storage: only its key is known.
    public init(key: String) {
        self.key = key
        tenant = ""
        subject = nil
    }

    /// The namespace of a caller with this verified token subject; nil (no tokens checked) is the default.
    public init(subject: String?) {
        key = subject ?? ""
        tenant = ""
        self.subject = subject
    }

    /// The namespace of a caller of `tenant`: the tenant's own when it shares its state among its
    /// callers, else the subject's within it. Tenant names hold no control characters, so no key of
    /// one tenant can be another's, nor a key of a server without tenants.
    public init(tenant: String, subject: String?, sharedState: Bool) {
        key = Self.tenantSeparator + tenant + Self.tenantSeparator + (sharedState ? "" : subject ?? "")
        self.tenant = tenant
        self.subject = subject
    }

    static let tenantSeparator = "\u{1}"

    public static func == (lhs: Namespace, rhs: Namespace) -> Bool { lhs.key == rhs.key }
    public func hash(into hasher: inout Hasher) { hasher.combine(key) }
}
