import ArgumentParser
import Foundation
import Logging

// Heap retention: --heap-retention-days, --heap-store-max-bytes, --heap-sweep-interval (docs/storage.md).
extension MCPV8Command {
    static let defaultHeapSweepInterval = 3600.0
    static let heapSweepIntervals = 0.1...604_800.0

    func validateRetentionFlags() throws {
        let limited = heapRetentionDays != nil || heapStoreMaxBytes != nil
        if stateless && limited {
            throw ValidationError("--stateless conflicts with --heap-retention-days and --heap-store-max-bytes: "
                + "stateless mode stores no heaps.")
        }
        if let days = heapRetentionDays, !(days > 0 && days.isFinite) {
            throw ValidationError("--heap-retention-days must be a number of days above 0 (fractions allowed), got \(days).")
        }
        if let bytes = heapStoreMaxBytes, bytes < 1 {
            throw ValidationError("--heap-store-max-bytes must be at least 1 (bytes), got \(bytes).")
        }
        if let interval = heapSweepInterval {
            guard limited else {
                throw ValidationError("--heap-sweep-interval needs --heap-retention-days or --heap-store-max-bytes.")
            }
            guard Self.heapSweepIntervals.contains(interval) else {
                throw ValidationError("--heap-sweep-interval must be 0.1 to 604800 seconds, got \(interval).")
            }
        }
    }

    /// The background sweep the retention flags ask for; nil when they set no limit (keep forever).
    func heapSweeper(store: any HeapStore, metadata: any MetadataStore, logger: Logger) -> HeapSweeper? {
        let limits = RetentionLimits(maxAge: heapRetentionDays.map { $0 * 86_400 }, maxBytes: heapStoreMaxBytes)
        guard limits.limitsAnything else { return nil }
        let interval = Duration.milliseconds(Int((heapSweepInterval ?? Self.defaultHeapSweepInterval) * 1000))
        return HeapSweeper(store: store, metadata: metadata, limits: limits, interval: interval, logger: logger)
    }
}
