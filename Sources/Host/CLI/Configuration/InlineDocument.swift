#if canImport(Glibc)
import Glibc
#endif

/// Where a document a configuration file gives inline (a table of tenants, say) can be read by
/// the flag that expects a file: an in-memory file of this process (POSIX shared memory, unlinked
/// at once, so only this process's descriptor holds it), named by its `/proc/self/fd` path.
/// Nothing is written to disk, so secrets in it stay off it, nothing is left behind when the
/// server stops, and its workers do not inherit it (shm_open sets close-on-exec).
enum InlineDocument {
    static func make(for entry: FlagCatalog.Entry, json: String) throws(ConfigurationError) -> String {
        // --policies-json takes the JSON itself.
        if entry.name == "policies-json" { return json }
        let name = "/mcp-v8-\(getpid())-\(entry.key)-\(UInt64.random(in: 0...UInt64.max))"
        let fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0o600)
        shm_unlink(name)
        guard fd >= 0 else {
            throw ConfigurationError("cannot hold the \(entry.key) table in memory: \(String(cString: strerror(errno)))")
        }
        let bytes = Array(json.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard count > 0 else {
                close(fd)
                throw ConfigurationError("cannot hold the \(entry.key) table in memory: \(String(cString: strerror(errno)))")
            }
            written += count
        }
        return "/proc/self/fd/\(fd)"
    }
}
