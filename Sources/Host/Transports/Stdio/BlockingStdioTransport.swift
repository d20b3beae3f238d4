import Foundation
import HostSupport
import Logging
import MCP
#if canImport(Glibc)
import Glibc
#endif

/// Newline-delimited JSON-RPC over stdin/stdout, read and written with blocking calls on threads
/// of their own. (swift-sdk's StdioTransport polls a non-blocking stdin with 10 ms sleeps, which
/// put 10 ms on every round trip.)
public actor BlockingStdioTransport: Transport {
    public let logger: Logger
    /// Longer lines are answered with an error and skipped, so one message cannot take the host's memory.
    private let maximumMessageBytes: Int
    private let input: Int32
    private let output: Int32
    private let messages: AsyncThrowingStream<Data, Error>
    private let continuation: AsyncThrowingStream<Data, Error>.Continuation
    /// Writes leave the cooperative thread pool: a client slow to read must not stall it.
    private let writeQueue = DispatchQueue(label: "mcp-v8.stdout")
    private var connected = false

    public init(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO, maximumMessageBytes: Int, logger: Logger) {
        self.maximumMessageBytes = maximumMessageBytes
        self.input = input
        self.output = output
        self.logger = logger
        (messages, continuation) = AsyncThrowingStream.makeStream()
    }

    public func connect() async throws {
        guard !connected else { return }
        connected = true
        let (input, continuation, logger) = (self.input, self.continuation, self.logger)
        let limit = maximumMessageBytes
        let reader = Thread { [weak self] in
            Self.readLines(from: input, maximumMessageBytes: limit, into: continuation, logger: logger) { head in
                let answer = JSONRPCRefusal.answer(
                    id: JSONRPCRefusal.leadingID(of: head), code: JSONRPCRefusal.invalidRequestCode,
                    message: "The request is larger than \(limit) bytes (--max-request-bytes); it was skipped.")
                Task { try? await self?.send(answer) }
            }
        }
        reader.name = "mcp-v8 stdin"
        reader.start()
    }

    public func disconnect() async {
        connected = false
        continuation.finish()
    }

    public func send(_ data: Data) async throws {
        var newlineTerminated = data
        newlineTerminated.append(UInt8(ascii: "\n"))
        let line = newlineTerminated
        let output = self.output
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, Error>) in
            writeQueue.async {
                let written = line.withUnsafeBytes { writeFully(output, $0) }
                done.resume(with: written ? .success(())
                    : .failure(MCPError.transportError(POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO))))
            }
        }
    }

    public func receive() -> AsyncThrowingStream<Data, Error> { messages }

    private static func readLines(from fd: Int32, maximumMessageBytes: Int,
                                  into continuation: AsyncThrowingStream<Data, Error>.Continuation, logger: Logger,
                                  refusingOversized refuse: @escaping (Data) -> Void) {
        let end = HostSupport.readLines(from: fd, maximumLineBytes: maximumMessageBytes, onOversizedLine: refuse,
                                        onLine: { continuation.yield($0) })
        if case .failed(let error) = end {
            logger.error("reading stdin failed: \(String(cString: strerror(error)))")
        }
        continuation.finish()
    }
}
