import Foundation
import HostSupport
import Logging
import MCP

/// A client's transport as swift-sdk's Server sees it. Each message is decoded once, here: one that
/// is not JSON-RPC is answered here (see `JSONRPCRefusal`) and never reaches the Server, and the
/// arguments of a tool call are set aside for the handler (see `SetAsideArguments`).
actor JSONRPCCheckingTransport: Transport {
    nonisolated let logger: Logger
    private let client: any Transport
    private let arguments: SetAsideArguments

    init(_ client: any Transport, arguments: SetAsideArguments, logger: Logger) {
        self.client = client
        self.arguments = arguments
        self.logger = logger
    }

    func connect() async throws { try await client.connect() }

    func disconnect() async { await client.disconnect() }

    func send(_ data: Data) async throws {
        // A call refused before its handler ran (an error answer, which is short) leaves its arguments behind.
        if data.count <= 4096 {
            for head in JSONRPCHead.heads(in: data) where head.hasError {
                if let id = head.id { arguments.discard(request: id) }
            }
        }
        try await client.send(data)
    }

    func receive() -> AsyncThrowingStream<Data, Error> {
        let (messages, continuation) = AsyncThrowingStream<Data, Error>.makeStream()
        let (client, arguments) = (self.client, self.arguments)
        let forwarding = Task {
            do {
                for try await message in await client.receive() {
                    let value = try? PlainJSON.value(from: message)
                    if let refusal = JSONRPCRefusal.answer(refusing: value) {
                        try? await client.send(refusal)
                    } else if let value, let handedOn = Self.settingArgumentsAside(value, in: arguments) {
                        continuation.yield(PlainJSON.encoded(handedOn))
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

    /// `message` with the arguments of its tool calls set aside; nil if it has none.
    private static func settingArgumentsAside(_ message: Value, in arguments: SetAsideArguments) -> Value? {
        switch message {
        case .object(var fields):
            guard fields["method"] == "tools/call", let id = fields["id"], case .object(var params)? = fields["params"],
                  case .object(let written)? = params["arguments"] else { return nil }
            params["arguments"] = arguments.setAside(written, request: id)
            fields["params"] = .object(params)
            return .object(fields)
        case .array(let batch):
            let handedOn = batch.map { settingArgumentsAside($0, in: arguments) }
            guard handedOn.contains(where: { $0 != nil }) else { return nil }
            return .array(zip(batch, handedOn).map { $1 ?? $0 })
        default:
            return nil
        }
    }
}
