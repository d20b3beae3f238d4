import Foundation

/// What a stateless run returns to its caller.
public struct StatelessResult: Sendable {
    public var status: RunStatus
    /// Console output, one line per `\n`-terminated line, with a closing note if it was cut.
    public var output: String
    public var resultJSON: String?
    public var error: String?

    public var succeeded: Bool { status == .completed }
}

/// Runs code in a fresh context on the worker pool and gathers its output.
public struct StatelessExecutor: Sendable {
    public let pool: WorkerPool
    /// The server's own defaults, which the tools' schemas state; a run gets its tenant's.
    public let defaults: ExecutionDefaults

    public init(pool: WorkerPool, defaults: ExecutionDefaults) {
        self.pool = pool
        self.defaults = defaults
    }

    /// The run takes a place in `namespace`'s share of the worker pool; what it does not ask for,
    /// it gets from its tenant's `defaults`.
    public func execute(_ parameters: RunParameters, in namespace: Namespace = .default,
                        defaults: ExecutionDefaults) async throws -> StatelessResult {
        let request = RunRequest(code: parameters.code,
                                 heapLimitMB: parameters.heapMB ?? defaults.heapMB,
                                 timeoutSeconds: parameters.timeoutSeconds ?? defaults.timeoutSeconds,
                                 outputLimitBytes: defaults.outputLimitBytes, namespace: namespace)
        let output = ExecutionOutput()
        let outcome = try await pool.run(request, onOutput: output.append)
        output.finish(outcome, outputLimitBytes: request.outputLimitBytes)
        return StatelessResult(status: outcome.status, output: output.text,
                               resultJSON: outcome.resultJSON, error: outcome.error)
    }
}
