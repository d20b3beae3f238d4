import Metrics
import Prometheus

/// What the server counts about executions, through swift-metrics (no-ops until a backend is
/// bootstrapped; the HTTP server bootstraps Prometheus and serves it at `/metrics`).
public enum ExecutionMetrics {
    /// Every run that reached a worker or was refused, by how it ended.
    static func finished(_ status: RunStatus, after duration: Duration) {
        Counter(label: "mcpv8_executions_total", dimensions: [("status", status.metricName)]).increment()
        Metrics.Timer(label: "mcpv8_execution_duration_seconds").recordNanoseconds(duration.nanoseconds)
    }

    /// Capability policy decisions a worker made, keyed "category/allowed" or "category/denied".
    static func policyDecisions(_ counts: [String: Int]?) {
        for (key, count) in counts ?? [:] {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            Counter(label: "mcpv8_policy_decisions_total", dimensions: [("category", parts[0]), ("decision", parts[1])])
                .increment(by: count)
        }
    }

    static func refusedBusy() {
        Counter(label: "mcpv8_executions_refused_busy_total").increment()
    }

    static func workerReplaced() {
        Counter(label: "mcpv8_worker_restarts_total").increment()
    }

    /// Makes Prometheus the metrics backend (once per process) and returns its registry.
    public static func bootstrapPrometheus() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        MetricsSystem.bootstrap(factory)
        // Counters exist from the start, so a scrape shows 0 rather than nothing.
        Counter(label: "mcpv8_executions_refused_busy_total").increment(by: 0)
        Counter(label: "mcpv8_worker_restarts_total").increment(by: 0)
        return registry
    }
}

private extension RunStatus {
    /// The status names the tools report (`timed_out`, ...), plus the engine's finer failures.
    var metricName: String {
        switch self {
        case .completed: "completed"
        case .error: "error"
        case .syntaxError: "syntax_error"
        case .timedOut: "timed_out"
        case .outOfMemory: "out_of_memory"
        case .cancelled: "cancelled"
        case .internalError: "internal_error"
        case .crashed: "crashed"
        }
    }
}
