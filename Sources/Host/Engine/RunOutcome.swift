// How a run ended: what workers report to the host in their frames (WorkerProtocol.swift). Apart from
// JSEngine.swift, which reads these from CV8, so the worker protocol builds without the engine.
import Foundation

/// How a run ended, as the engine reports it.
public enum RunStatus: String, Codable, Sendable, CaseIterable {
    case completed, error, syntaxError, timedOut, outOfMemory, cancelled, internalError
    /// The worker process running the code died (host-side only; the engine never reports it).
    case crashed
}

public enum ConsoleLevel: Int, Codable, Sendable {
    case log = 0, info, warn, error, debug
}

/// What a finished run produced, besides its console output.
public struct RunOutcome: Codable, Sendable, Equatable {
    public var status: RunStatus
    /// The result as JSON text; nil when the value was undefined or the run failed.
    public var resultJSON: String?
    public var error: String?
    public var outputTruncated: Bool
    /// Bytes of console output the run produced, including any that were dropped.
    public var outputBytes: UInt64
    /// The end state of a stateful run that completed, sealed for storage; nil otherwise.
    public var newHeap: SealedHeap?
    /// Capability policy decisions made in the worker since its last report, by
    /// "category/allowed|denied" (for metrics); nil when there were none.
    public var policyDecisions: [String: Int]?

    public init(status: RunStatus, resultJSON: String? = nil, error: String? = nil,
                outputTruncated: Bool = false, outputBytes: UInt64 = 0, newHeap: SealedHeap? = nil) {
        self.status = status
        self.resultJSON = resultJSON
        self.error = error
        self.outputTruncated = outputTruncated
        self.outputBytes = outputBytes
        self.newHeap = newHeap
    }
}
