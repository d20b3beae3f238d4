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
    public let defaults: ExecutionDefaults

    public init(pool: WorkerPool, defaults: ExecutionDefaults) {
        self.pool = pool
        self.defaults = defaults
    }

    public func execute(_ parameters: RunParameters) async throws -> StatelessResult {
        let request = RunRequest(code: parameters.code,
                                 heapLimitMB: parameters.heapMB ?? defaults.heapMB,
                                 timeoutSeconds: parameters.timeoutSeconds ?? defaults.timeoutSeconds,
                                 outputLimitBytes: defaults.outputLimitBytes)
        let collector = OutputCollector()
        let outcome = try await pool.run(request, onOutput: collector.append)
        var output = collector.text
        if outcome.outputTruncated {
            output += truncationNote(printed: outcome.outputBytes, limit: request.outputLimitBytes)
        }
        return StatelessResult(status: outcome.status, output: output,
                               resultJSON: outcome.resultJSON, error: outcome.error)
    }
}

func truncationNote(printed: UInt64, limit: Int) -> String {
    "[output truncated: the run printed \(printed) bytes; only the first \(limit) are kept "
        + "(raise --max-output-bytes)]\n"
}

/// Console lines arriving from a worker's reader thread.
final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = ""

    func append(_ lines: [OutputLine]) {
        lock.lock()
        defer { lock.unlock() }
        for line in lines {
            buffer += line.text
            buffer += "\n"
        }
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return buffer
    }
}
