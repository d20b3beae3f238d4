/// Which MCP sessions may stay open: each tenant at most `perTenant` (with tenants, its equal share
/// of `total`; without, all of it), within a tenant each token subject at most `perSubject` (callers
/// without a token share one allowance: nothing tells them apart), and at most `total` in all. A
/// subject at its cap has its own least recently used session closed to make room, so one caller
/// cannot crowd the others out; a tenant at its share, or a server full of other subjects'
/// sessions, refuses. Tenants' shares add up to no more than `total`, so one tenant opening
/// sessions never closes or refuses another's.
struct SessionCaps {
    enum Admission: Equatable {
        /// Open the session, after closing `evicting` (the subject's least recently used one).
        case open(evicting: String?)
        /// Refused: `reason` says which allowance is full ("Too many open MCP sessions ...").
        case refuse(reason: String)
    }

    let perSubject: Int
    let total: Int
    /// How many tenants share `total`: set at start-up, and by `share(among:)` after a reload.
    private(set) var tenants: Int
    var perTenant: Int { total / tenants }
    private var lastUse: [String: UInt64] = [:]
    /// Each session's caller (see `Namespace.caller`).
    private var owner: [String: Namespace] = [:]
    private var byCaller: [Namespace: Set<String>] = [:]
    private var byTenant: [String: Int] = [:]
    /// Orders uses; a counter, not a clock, so two uses never tie.
    private var uses: UInt64 = 0

    /// `tenants`: how many tenants share `total` (1 without tenants).
    init(perSubject: Int, total: Int, tenants: Int) {
        precondition(perSubject >= 1 && tenants >= 1 && total >= tenants)
        self.perSubject = perSubject
        self.tenants = tenants
        self.total = total
    }

    /// A reload changed the tenants: each gets an equal share of `total` from the next session on.
    /// Sessions already open stay open; a tenant over its new share opens no more until under it.
    mutating func share(among tenants: Int) {
        self.tenants = min(max(tenants, 1), total)
    }

    var count: Int { owner.count }

    func count(of caller: Namespace) -> Int { byCaller[caller.caller]?.count ?? 0 }

    func count(ofTenant tenant: String) -> Int { byTenant[tenant, default: 0] }

    func holds(_ id: String) -> Bool { owner[id] != nil }

    /// Records session `id` of the caller of `namespace` as open, unless refused.
    mutating func admit(_ id: String, namespace: Namespace) -> Admission {
        let caller = namespace.caller
        var evicted: String?
        if let own = byCaller[caller], own.count >= perSubject {
            evicted = own.min { lastUse[$0]! < lastUse[$1]! }
            remove(evicted!)
        } else if count(ofTenant: caller.tenant) >= perTenant, perTenant < total {
            return .refuse(reason: "Too many open MCP sessions for tenant '\(caller.tenant)' (\(perTenant), its "
                + "share of the server's \(total))")
        } else if owner.count >= total {
            return .refuse(reason: "Too many open MCP sessions (\(total))")
        }
        owner[id] = caller
        byCaller[caller, default: []].insert(id)
        byTenant[caller.tenant, default: 0] += 1
        touch(id)
        return .open(evicting: evicted)
    }

    /// Marks a request on session `id`.
    mutating func touch(_ id: String) {
        guard owner[id] != nil else { return }
        uses += 1
        lastUse[id] = uses
    }

    mutating func remove(_ id: String) {
        guard let caller = owner.removeValue(forKey: id) else { return }
        lastUse[id] = nil
        byCaller[caller]?.remove(id)
        if byCaller[caller]?.isEmpty == true { byCaller[caller] = nil }
        byTenant[caller.tenant]! -= 1
        if byTenant[caller.tenant] == 0 { byTenant[caller.tenant] = nil }
    }
}
