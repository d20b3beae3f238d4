/// Which MCP sessions may stay open: at most `perSubject` for each token subject (callers without
/// a token share one allowance: nothing tells them apart) and at most `total` in all. A subject at
/// its cap has its own least recently used session closed to make room, so one caller cannot
/// crowd the others out; only a server full of other subjects' sessions refuses.
/// (Keyed by subject; per-tenant caps would key it by tenant and scale `perSubject` by weight.)
struct SessionCaps {
    enum Admission: Equatable {
        /// Open the session, after closing `evicting` (the subject's least recently used one).
        case open(evicting: String?)
        /// The server holds `total` sessions, none of them this subject's.
        case refuse
    }

    let perSubject: Int
    let total: Int
    private var lastUse: [String: UInt64] = [:]
    private var owner: [String: String?] = [:]
    private var bySubject: [String?: Set<String>] = [:]
    /// Orders uses; a counter, not a clock, so two uses never tie.
    private var uses: UInt64 = 0

    init(perSubject: Int, total: Int) {
        precondition(perSubject >= 1 && total >= perSubject)
        self.perSubject = perSubject
        self.total = total
    }

    var count: Int { owner.count }

    func count(of subject: String?) -> Int { bySubject[subject]?.count ?? 0 }

    func holds(_ id: String) -> Bool { owner[id] != nil }

    /// Records session `id` of `subject` as open, unless refused.
    mutating func admit(_ id: String, subject: String?) -> Admission {
        var evicted: String?
        if let own = bySubject[subject], own.count >= perSubject {
            evicted = own.min { lastUse[$0]! < lastUse[$1]! }
            remove(evicted!)
        } else if owner.count >= total {
            return .refuse
        }
        owner[id] = subject
        bySubject[subject, default: []].insert(id)
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
        guard let subject = owner.removeValue(forKey: id) else { return }
        lastUse[id] = nil
        bySubject[subject]?.remove(id)
        if bySubject[subject]?.isEmpty == true { bySubject[subject] = nil }
    }
}
