import ArgumentParser
import Foundation
import Logging

// Where stateful mode keeps heaps: --directory-path (the default) or --s3-bucket (docs/storage.md).
extension MCPV8Command {
    func validateHeapStoreFlags() throws {
        if let s3Bucket {
            if stateless {
                throw ValidationError("--stateless and --s3-bucket conflict: stateless mode stores no heaps.")
            }
            if directoryPath != nil {
                throw ValidationError("--s3-bucket and --directory-path conflict: heaps go to one store, "
                    + "the bucket or the directory.")
            }
            do {
                try S3Addressing.checkBucketName(s3Bucket)
                try S3Addressing.checkPrefix(s3Prefix ?? "")
            } catch {
                throw ValidationError("--s3-bucket \(s3Bucket): \(error)")
            }
        } else if s3Prefix != nil {
            throw ValidationError("--s3-prefix needs --s3-bucket.")
        } else if cacheDir != nil {
            throw ValidationError("--cache-dir needs --s3-bucket: it caches the bucket's heaps on the local disk.")
        }
        if cacheMaxBytes != nil && cacheDir == nil {
            throw ValidationError("--cache-max-bytes needs --cache-dir.")
        }
        if let cacheMaxBytes, cacheMaxBytes < 1 {
            throw ValidationError("--cache-max-bytes must be at least 1 (bytes), got \(cacheMaxBytes).")
        }
    }

    static let defaultCacheMaxBytes = 8 << 30

    /// The store the flags choose, checked now: a directory this process can write to, or a bucket
    /// these credentials can list.
    func heapStore(logger: Logger) throws -> HeapStore {
        if let s3Bucket {
            let bucket: S3HeapStore
            do {
                let connection = try S3Connection.resolve(environment: ProcessInfo.processInfo.environment)
                bucket = try S3HeapStore(bucket: s3Bucket, prefix: s3Prefix ?? "", connection: connection)
                try bucket.checkAccess()
            } catch {
                throw ValidationError("--s3-bucket \(s3Bucket): \(error)")
            }
            guard let cacheDir else { return bucket }
            return try Self.openStore(in: cacheDir, flag: "--cache-dir") { directory in
                try CachedHeapStore(remote: bucket, directory: directory,
                                    maxBytes: cacheMaxBytes ?? Self.defaultCacheMaxBytes, logger: logger)
            }
        }
        return try Self.openStore(in: directoryPath ?? Self.defaultHeapDirectory, flag: "--directory-path") { directory in
            try DirectoryHeapStore(directory: directory)
        }
    }

    /// Where heaps go, for the start-up log line.
    var heapStoreDescription: String {
        let heaps = s3Bucket.map { "s3://\($0)/\(s3Prefix ?? "")" } ?? directoryPath ?? Self.defaultHeapDirectory
        return heaps + (cacheDir.map { ", cached in \($0)" } ?? "")
    }
}
