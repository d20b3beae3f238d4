import Foundation
import HostSupport
import Logging
import MCP
import MCPBridgeSpawn
#if canImport(Glibc)
import Glibc
#endif

/// A stdio MCP server started as a child process: newline-delimited JSON-RPC on its stdin and
/// stdout, read by a blocking thread of its own. The child leads its own process group and gets
/// SIGKILL when this process dies; `disconnect` kills the group.
actor ChildProcessTransport: Transport {
    nonisolated let logger: Logger
    private let server: UpstreamServer
    private let onClose: @Sendable (String) -> Void
    private let messages: AsyncThrowingStream<Data, Error>
    private let continuation: AsyncThrowingStream<Data, Error>.Continuation
    private let writeQueue = DispatchQueue(label: "mcp-v8.mcp-upstream.stdin")
    private var pid: pid_t = 0
    private var input: Int32 = -1

    /// Lines longer than this are not MCP messages: the child is stopped.
    static let maximumLineBytes = 64 * 1024 * 1024
    /// What a child gets of this process's environment, before the server's own `env`.
    static let inheritedVariables = ["HOME", "LANG", "LC_ALL", "LOGNAME", "PATH", "SHELL", "TERM", "TMPDIR", "USER"]

    /// `onClose` hears why the child's stdout ended (it exited, or sent something that is not MCP).
    init(server: UpstreamServer, logger: Logger, onClose: @escaping @Sendable (String) -> Void) {
        self.server = server
        self.logger = logger
        self.onClose = onClose
        (messages, continuation) = AsyncThrowingStream.makeStream()
    }

    func connect() async throws {
        guard pid == 0, let command = server.command else { return }
        var environment: [String: String] = [:]
        for name in Self.inheritedVariables {
            if let value = ProcessInfo.processInfo.environment[name] { environment[name] = value }
        }
        environment.merge(server.env ?? [:]) { $1 }
        let argv = [command] + (server.args ?? [])
        let envp = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var stdinFD: Int32 = -1
        var stdoutFD: Int32 = -1
        var childPID: pid_t = 0
        var error = [CChar](repeating: 0, count: 512)
        let capacity = error.count
        let status = withCStrings(argv) { argvPointer in
            withCStrings(envp) { envpPointer in
                mcpbridge_spawn(argvPointer, envpPointer, &stdinFD, &stdoutFD, &childPID, &error, capacity)
            }
        }
        guard status == 0 else {
            throw UpstreamError.unreachable(server.name, reason: error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        pid = childPID
        input = stdinFD
        let readFD = stdoutFD
        let (continuation, onClose, name, logger) = (self.continuation, self.onClose, server.name, self.logger)
        let reader = Thread {
            let reason = Self.readLines(from: readFD, into: continuation)
            close(readFD)
            logger.debug("MCP server '\(name)' closed its stdout: \(reason)")
            continuation.finish(throwing: UpstreamError.lost(name, reason: reason))
            onClose(reason)
        }
        reader.name = "mcp-v8 mcp-upstream \(server.name)"
        reader.start()
    }

    func disconnect() async {
        if pid > 0 { mcpbridge_kill(pid) }
        pid = -1
        if input >= 0 {
            let input = self.input
            writeQueue.async { close(input) }
            self.input = -1
        }
    }

    func send(_ data: Data) async throws {
        guard input >= 0 else { throw UpstreamError.lost(server.name, reason: "it is not running") }
        var line = data
        line.append(UInt8(ascii: "\n"))
        let (output, frozen, name) = (input, line, server.name)
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, Error>) in
            writeQueue.async {
                let failure = frozen.withUnsafeBytes { writeFully(output, $0) } ? 0 : errno
                done.resume(with: failure == 0 ? .success(())
                    : .failure(UpstreamError.lost(name, reason: "writing to it failed: \(String(cString: strerror(failure)))")))
            }
        }
    }

    func receive() -> AsyncThrowingStream<Data, Error> { messages }

    /// Reads until end of file; returns why it stopped.
    private static func readLines(from fd: Int32, into continuation: AsyncThrowingStream<Data, Error>.Continuation) -> String {
        switch HostSupport.readLines(from: fd, maximumLineBytes: maximumLineBytes, onLine: { continuation.yield($0) }) {
        case .endOfFile: "it exited or closed its stdout"
        case .failed(let error): "reading its stdout failed: \(String(cString: strerror(error)))"
        case .lineTooLong: "it sent a line of more than \(maximumLineBytes) bytes, which is not an MCP message"
        }
    }
}

/// Writes all of `bytes`; returns 0, or the errno that stopped it.
/// `strings` as a NULL-terminated `const char *const *` for the duration of `body`.
private func withCStrings<Result>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> Result) -> Result {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
