import Metrics
import Prometheus

/// What the server counts about executions, through swift-metrics (no-ops until a backend is
/// bootstrapped; the HTTP server bootstraps Prometheus and serves it at `/metrics`).
///
/// With tenants, executions, durations, policy decisions, refusals and queue depth carry a `tenant`
/// label; without, the implicit tenant "" adds none, so the names and series stay as they were.
/// A server has tenants or not for its whole life, and Prometheus cannot mix a name's labelled and
/// unlabelled series.
public enum ExecutionMetrics {
    /// Every run that reached a worker or was refused, by how it ended.
    static func finished(_ status: RunStatus, after duration: Duration, tenant: String) {
        Counter(label: "mcpv8_executions_total", dimensions: [("status", status.metricName)] + label(tenant)).increment()
        Metrics.Timer(label: "mcpv8_execution_duration_seconds", dimensions: label(tenant))
            .recordNanoseconds(duration.nanoseconds)
    }

    /// Capability policy decisions a worker made, keyed "category/allowed" or "category/denied".
    static func policyDecisions(_ counts: [String: Int]?, tenant: String) {
        for (key, count) in counts ?? [:] {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            Counter(label: "mcpv8_policy_decisions_total",
                    dimensions: [("category", parts[0]), ("decision", parts[1])] + label(tenant))
                .increment(by: count)
        }
    }

    static func refusedBusy(tenant: String) {
        Counter(label: "mcpv8_executions_refused_busy_total", dimensions: label(tenant)).increment()
    }

    /// The levels a scrape reads: runs waiting for a worker (by tenant) and workers running one.
    static func levels(queuedPerTenant: [String: Int], busyWorkers: Int) {
        for (tenant, queued) in queuedPerTenant {
            Gauge(label: "mcpv8_queue_depth", dimensions: label(tenant)).record(queued)
        }
        Gauge(label: "mcpv8_busy_workers").record(busyWorkers)
    }

    /// The `tenant` label of a run of `tenant`: none for the implicit tenant of a server without tenants.
    private static func label(_ tenant: String) -> [(String, String)] {
        tenant.isEmpty ? [] : [("tenant", tenant)]
    }

    static func workerReplaced() {
        Counter(label: "mcpv8_worker_restarts_total").increment()
    }

    /// Makes Prometheus the metrics backend (once per process) and returns its registry. `tenants`:
    /// the tenants' names, or [""] without tenants.
    public static func bootstrapPrometheus(tenants: some Sequence<String>) -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2.5), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        MetricsSystem.bootstrap(factory)
        // Counters exist from the start, so a scrape shows 0 rather than nothing.
        for tenant in tenants {
            Counter(label: "mcpv8_executions_refused_busy_total", dimensions: label(tenant)).increment(by: 0)
        }
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
