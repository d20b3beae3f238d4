/// The limits a run may ask for, and the server-wide defaults a run gets when it asks for none.
public enum ExecutionLimits {
    /// `--heap-memory-max`, in MB.
    public static let serverHeapMB = 1...64
    /// `heap_memory_max_mb` per call, in MB.
    public static let callHeapMB = 4...64
    /// `--execution-timeout` and `execution_timeout_secs`, in seconds.
    public static let timeoutSeconds = 1...300
    /// `--max-output-bytes`.
    public static let outputBytes = 1024...(64 * 1024 * 1024)
    /// `--max-concurrent-executions`.
    public static let concurrentExecutions = 1...64
    /// `--max-queued-executions`.
    public static let queuedExecutions = 0...100_000
    /// `--worker-memory-max`, in MB: an idle worker maps about 100 MB.
    public static let workerMemoryMB = 256...65536
    /// `--max-executions-per-subject`.
    public static let executionsPerSubject = 1...100_000
    /// `--max-heap-bytes`: the sealed heap a stateful run may leave. The top stays well under the
    /// worker pipe's frame limit, so a heap that passes always reaches the host.
    public static let heapBytes = (1024 * 1024)...(256 * 1024 * 1024)
    public static let defaultHeapBytes = 64 * 1024 * 1024
}

public struct ExecutionDefaults: Sendable, Equatable {
    public var heapMB: Int
    public var timeoutSeconds: Int
    public var outputLimitBytes: Int

    public init(heapMB: Int, timeoutSeconds: Int, outputLimitBytes: Int) {
        self.heapMB = heapMB
        self.timeoutSeconds = timeoutSeconds
        self.outputLimitBytes = outputLimitBytes
    }
}

/// The parameters of one `run_js` call, validated.
public struct RunParameters: Sendable, Equatable {
    public var code: String
    public var heapMB: Int?
    public var timeoutSeconds: Int?

    public init(code: String, heapMB: Int? = nil, timeoutSeconds: Int? = nil) {
        self.code = code
        self.heapMB = heapMB
        self.timeoutSeconds = timeoutSeconds
    }
}
