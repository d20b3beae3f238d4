/// When a failed S3 request is tried again: after connection errors and timeouts, 5xx answers
/// (503 SlowDown included) and 429, with exponential backoff, at most `maxAttempts` times and never
/// past `budget` from the first attempt's start. Anything else (403, 404, ...) is final at once.
struct S3RetryPolicy: Sendable, Equatable {
    var maxAttempts = 5
    var firstDelay: Duration = .milliseconds(200)
    var maxDelay: Duration = .seconds(3)
    /// The whole request with its retries: each attempt's time limit is what is left of it.
    var budget: Duration = .seconds(60)
    var connectTimeout: Duration = .seconds(5)

    enum Outcome: Equatable {
        case status(Int)
        case transportError
    }

    static func isRetryable(_ outcome: Outcome) -> Bool {
        switch outcome {
        case .transportError: true
        case .status(let status): status == 429 || (500...599).contains(status)
        }
    }

    /// The wait before the next attempt after `attempt` (1 for the first) ended with `outcome`
    /// `elapsed` into the request, or nil to give up. `jitter` (0.5-1) spreads out the retries of
    /// many requests that failed together.
    func delay(after attempt: Int, outcome: Outcome, elapsed: Duration, jitter: Double) -> Duration? {
        guard Self.isRetryable(outcome), attempt < maxAttempts else { return nil }
        var wait = firstDelay
        for _ in 1..<attempt where wait < maxDelay { wait *= 2 }
        wait = min(wait, maxDelay) * jitter
        // Not worth starting an attempt that would have less than a connect timeout left.
        guard elapsed + wait + connectTimeout <= budget else { return nil }
        return wait
    }
}
