/// Where `cancel_execution` goes, decided from what this node and the store know; pure so its
/// cases are tested without nodes.
public enum CrossNodeCancel {
    public enum Route: Sendable, Equatable {
        /// This node runs it: its lifecycle decides, as for any local cancel.
        case local
        /// Another node runs it: ask that node (NOTIFY) and wait, bounded, for the store to show its end.
        case owner(node: String)
        /// It ended already: report how.
        case alreadyEnded
        case unknown
    }

    /// `runsHere`: this node holds it under its current lease. `stored`: the store's state of it, if any.
    public static func route(runsHere: Bool, stored: ExecutionLifecycle.State?, storedNode: String?) -> Route {
        if runsHere { return .local }
        guard let stored else { return .unknown }
        if stored.isFinal { return .alreadyEnded }
        return .owner(node: storedNode ?? "")
    }

    /// What the caller is told after asking another node: its end if the store shows it within the
    /// wait, else that the owner has not confirmed yet.
    public static func message(owner: String, endedAs state: ExecutionLifecycle.State) -> String {
        state.isFinal ? "Cancellation requested from node \(owner); it ended \(state.statusName)."
            : "Cancellation requested from node \(owner), which has not confirmed it yet; get_execution reports its end."
    }
}
