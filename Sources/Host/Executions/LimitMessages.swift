/// What a run stopped at one of its limits is told, worded here only, with the bounds a caller may
/// raise the limit to read from `ExecutionLimits`. The engine reports which limit stopped a run
/// (its status); the host words it, whether the engine stopped the run or the pool killed its worker.
enum LimitMessage {
    static func timedOut(seconds: Int) -> String {
        "Execution timed out after \(seconds) s. Raise the limit with execution_timeout_secs "
            + "(up to \(ExecutionLimits.timeoutSeconds.upperBound)) or --execution-timeout."
    }

    /// A run that waited its whole time limit for a free worker, and so never ran.
    static func timedOutWaiting(seconds: Int, workers: Int) -> String {
        "Execution timed out after waiting \(seconds)s for a free worker: the server is saturated "
            + "(--max-concurrent-executions \(workers))."
    }

    static func outOfMemory(heapMB: Int) -> String {
        "Out of memory: the JavaScript heap limit of \(heapMB) MB was reached. Raise it with \(raiseHeap)."
    }

    /// V8 met its fatal out-of-memory handler: one step it cannot interrupt went far past the limit,
    /// and the worker process died with it.
    static func outOfMemoryInOneStep(heapMB: Int) -> String {
        "Out of memory: the code needed far more than the JavaScript heap limit of \(heapMB) MB in one step "
            + "(such as one huge array or string), which V8 cannot interrupt. Allocate less, or raise \(raiseHeap). "
            + "The worker process was replaced; the server keeps serving."
    }

    private static var raiseHeap: String {
        "heap_memory_max_mb (up to \(ExecutionLimits.callHeapMB.upperBound)) or --heap-memory-max"
    }
}

/// A run the pool ended at its deadline, as the engine would have reported it.
func timedOutOutcome(seconds: Int) -> RunOutcome {
    RunOutcome(status: .timedOut, error: LimitMessage.timedOut(seconds: seconds))
}
