/// When an HTTP/1 connection must have finished sending its next request head: `timeout` after it
/// opened, and `timeout` after the first byte of each later request. A client that trickles a
/// head (slowloris), or opens a connection and sends nothing, is closed then. Between requests a
/// kept-alive connection has no deadline here: the idle timeout covers it.
struct RequestHeadDeadline {
    let timeout: Duration
    /// When the connection is closed unless a head arrives first; nil while requests are handled
    /// or a kept-alive connection waits for the next one.
    private(set) var deadline: ContinuousClock.Instant?
    private var requestsInFlight = 0
    private var awaitingNextRequest = false

    init(timeout: Duration, openedAt now: ContinuousClock.Instant) {
        self.timeout = timeout
        deadline = now + timeout
    }

    /// Bytes came in; the first of a new request starts its deadline. Returns whether it did.
    mutating func bytesArrived(at now: ContinuousClock.Instant) -> Bool {
        guard awaitingNextRequest else { return false }
        awaitingNextRequest = false
        deadline = now + timeout
        return true
    }

    mutating func headArrived() {
        requestsInFlight += 1
        awaitingNextRequest = false
        deadline = nil
    }

    mutating func responseEnded() {
        requestsInFlight -= 1
        if requestsInFlight == 0 { awaitingNextRequest = true }
    }

    func isOverdue(at now: ContinuousClock.Instant) -> Bool {
        deadline.map { now >= $0 } ?? false
    }
}
