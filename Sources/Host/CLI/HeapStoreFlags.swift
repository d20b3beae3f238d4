import ArgumentParser
import Foundation

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
        }
    }

    /// The store the flags choose, checked now: a directory this process can write to, or a bucket
    /// these credentials can list.
    func heapStore() throws -> HeapStore {
        if let s3Bucket {
            do {
                let connection = try S3Connection.resolve(environment: ProcessInfo.processInfo.environment)
                let store = try S3HeapStore(bucket: s3Bucket, prefix: s3Prefix ?? "", connection: connection)
                try store.checkAccess()
                return store
            } catch {
                throw ValidationError("--s3-bucket \(s3Bucket): \(error)")
            }
        }
        let directory = directoryPath ?? Self.defaultHeapDirectory
        try Self.prepareWritableDirectory(directory, flag: "--directory-path")
        do {
            return try DirectoryHeapStore(directory: URL(fileURLWithPath: directory))
        } catch {
            throw ValidationError("--directory-path \(directory): \(error)")
        }
    }

    /// Where heaps go, for the start-up log line.
    var heapStoreDescription: String {
        s3Bucket.map { "s3://\($0)/\(s3Prefix ?? "")" } ?? directoryPath ?? Self.defaultHeapDirectory
    }
}
