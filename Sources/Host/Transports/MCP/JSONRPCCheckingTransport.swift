import Foundation
import Logging
import MCP

/// A client's transport as swift-sdk's Server sees it: a message that is not JSON-RPC is answered
/// here (see `JSONRPCRefusal`) and never reaches the Server.
actor JSONRPCCheckingTransport: Transport {
    nonisolated let logger: Logger
    private let client: any Transport

    init(_ client: any Transport, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    func connect() async throws { try await client.connect() }

    func disconnect() async { await client.disconnect() }

    func send(_ data: Data) async throws { try await client.send(data) }

    func receive() -> AsyncThrowingStream<Data, Error> {
        let (messages, continuation) = AsyncThrowingStream<Data, Error>.makeStream()
        let client = self.client
        let forwarding = Task {
            do {
                for try await message in await client.receive() {
                    if let refusal = JSONRPCRefusal.answer(refusing: message) {
                        try? await client.send(refusal)
                    } else {
                        continuation.yield(message)
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in forwarding.cancel() }
        return messages
    }
}
