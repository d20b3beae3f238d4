import Foundation
import Logging

/// Deletes the heaps retention no longer keeps (`RetentionSelection`), once at start and then every
/// `interval`, in the background of a stateful server.
///
/// Between the choice and a delete a run may resume the heap: right before each delete the sweep
/// reads the heap's last resume again and skips the heap if it changed. (A tag set on the heap in
/// between is not re-checked: it is lost with the heap.) A resume records itself
/// before it reads the heap, so what remains is a resume recorded in the moment between that
/// re-check and the delete; it then finds no heap and fails as "heap not found" (a store reads
/// heaps whole, so never half a heap). A run that stores the same bytes again in that moment
/// answers with a heap that is gone. Nodes sharing PostgreSQL sweep one at a time (an advisory
/// lock, `MetadataStore.exclusiveSweep`); should two overlap anyway, deletes are idempotent.
public final class HeapSweeper: Sendable {
    public let store: any HeapStore
    public let metadata: any MetadataStore
    public let limits: RetentionLimits
    public let interval: Duration
    private let logger: Logger

    public init(store: any HeapStore, metadata: any MetadataStore, limits: RetentionLimits, interval: Duration,
                logger: Logger) {
        self.store = store
        self.metadata = metadata
        self.limits = limits
        self.interval = interval
        self.logger = logger
    }

    /// What one sweep did.
    public struct Report: Sendable, Equatable {
        public var deleted: [HeapID] = []
        /// Chosen, but resumed between the choice and the delete, so kept.
        public var resumedMeanwhile: [HeapID] = []
        public var keptBytes = 0
        public var overBoundByReferencedHeaps = false
    }

    /// Sweeps now and then every `interval` until the task is cancelled; a failed sweep is logged
    /// and the next one tries again.
    public func start() -> Task<Void, Never> {
        Task.detached { [self] in
            var warnedOverBound = false
            while !Task.isCancelled {
                do {
                    if let report = try await metadata.exclusiveSweep({ try await self.sweep(now: Date()) }) {
                        if !report.deleted.isEmpty {
                            logger.info("heap retention: deleted \(report.deleted.count) heaps; \(report.keptBytes) bytes kept")
                        }
                        // Said once, not every round: only the operator can change it.
                        if report.overBoundByReferencedHeaps && !warnedOverBound, let maxBytes = limits.maxBytes {
                            logger.warning("""
                                heap retention: the heap store holds \(report.keptBytes) bytes, over \
                                --heap-store-max-bytes \(maxBytes), and every heap left is referenced by a session log, \
                                a tag or a kept execution, so none can be deleted
                                """)
                        }
                        warnedOverBound = report.overBoundByReferencedHeaps
                    } else {
                        logger.debug("heap retention: another node is sweeping; this one skips the round")
                    }
                } catch {
                    logger.warning("heap retention: the sweep failed and will run again in \(interval): \(error)")
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One sweep: chooses what to delete, then deletes it heap by heap (forgetting each one's owners,
    /// tags and last resume), skipping a heap resumed since the choice.
    public func sweep(now: Date) async throws -> Report {
        let stored = try store.list()
        let referenced = try await metadata.referencedHeaps()
        let resumes = try await metadata.lastResumes()
        let selection = RetentionSelection(stored: stored, referenced: referenced, lastResumes: resumes, now: now,
                                           limits: limits)
        var report = Report(keptBytes: selection.keptBytes,
                            overBoundByReferencedHeaps: selection.overBoundByReferencedHeaps)
        let sizes = Dictionary(stored.map { ($0.id, $0.bytes) }, uniquingKeysWith: max)
        for (id, lastUse) in selection.deletions {
            if let resumed = try await metadata.lastResume(of: id.hex), resumed > lastUse {
                report.resumedMeanwhile.append(id)
                report.keptBytes += sizes[id] ?? 0
                continue
            }
            try store.delete(id)
            try await metadata.forget(heap: id.hex)
            report.deleted.append(id)
        }
        return report
    }
}
