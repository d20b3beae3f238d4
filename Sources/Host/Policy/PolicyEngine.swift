import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// Deny by default: decides, per capability category, whether an operation's input document is
/// allowed, by the category's policies in its mode (all or any). A category with no policy
/// allows nothing; an unreachable OPA or a failing evaluation denies, saying so.
public final class PolicyEngine: Sendable {
    /// How long a remote OPA may take to answer before the operation is denied.
    static let opaTimeout: TimeAmount = .seconds(5)

    private enum Evaluator: Sendable {
        case rego(RegoPolicy, path: String)
        case opa(url: String, policyPath: String)
    }

    private struct CategoryPolicies: Sendable {
        let mode: PolicyConfiguration.Mode
        let evaluators: [Evaluator]
    }

    private let categories: [String: CategoryPolicies]
    private let logger: Logger

    /// Compiles every local Rego policy now, so a broken one stops the server at start-up.
    public init(configuration: PolicyConfiguration, regoLibraryPath: String?, logger: Logger) throws {
        let needsRego = configuration.categories.values.contains { $0.sources.contains { if case .rego = $0 { true } else { false } } }
        let library = needsRego ? try RegoLibrary(path: RegoLibrary.locate(explicitPath: regoLibraryPath)) : nil
        var categories: [String: CategoryPolicies] = [:]
        for (category, policies) in configuration.categories {
            let evaluators = try policies.sources.map { source -> Evaluator in
                switch source {
                case .rego(let path):
                    do {
                        return .rego(try RegoPolicy(library: library!, path: path, category: category), path: path)
                    } catch {
                        throw PolicyError("the \(category) policy \(source) does not load: \(error)")
                    }
                case .opa(let url, let policyPath):
                    return .opa(url: url, policyPath: policyPath)
                }
            }
            categories[category] = CategoryPolicies(mode: policies.mode, evaluators: evaluators)
        }
        self.categories = categories
        self.logger = logger
    }

    public struct Decision: Sendable {
        public let allowed: Bool
        /// Which policy decided, and why when it denied.
        public let reason: String
    }

    /// Blocks until decided (a remote OPA is an HTTP request): never call it on an event loop.
    /// `tenant`, the run's (nil without tenants), is named in the log line.
    public func decide(category: String, inputJSON: String, tenant: String? = nil) -> Decision {
        let started = ContinuousClock.now
        let decision = evaluate(category: category, inputJSON: inputJSON)
        var metadata: Logger.Metadata = [
            "category": .string(category), "input_digest": .string(Self.digest(inputJSON)),
            "allowed": .stringConvertible(decision.allowed), "policy": .string(decision.reason),
            "latency_us": .stringConvertible((ContinuousClock.now - started).nanoseconds / 1000),
        ]
        if let tenant { metadata["tenant"] = .string(tenant) }
        logger.debug("policy decision", metadata: metadata)
        return decision
    }

    private func evaluate(category: String, inputJSON: String) -> Decision {
        guard let policies = categories[category], !policies.evaluators.isEmpty else {
            return Decision(allowed: false, reason: "no \(category) policy is configured")
        }
        var denials: [String] = []
        for evaluator in policies.evaluators {
            let (allowed, reason) = ask(evaluator, inputJSON: inputJSON)
            if allowed && policies.mode == .any { return Decision(allowed: true, reason: reason) }
            if !allowed && policies.mode == .all { return Decision(allowed: false, reason: reason) }
            if !allowed { denials.append(reason) }
        }
        if policies.mode == .all { return Decision(allowed: true, reason: "every \(category) policy allowed it") }
        return Decision(allowed: false, reason: "no \(category) policy allowed it (\(denials.joined(separator: "; ")))")
    }

    private func ask(_ evaluator: Evaluator, inputJSON: String) -> (Bool, String) {
        switch evaluator {
        case .rego(let policy, let path):
            do {
                let allowed = try policy.allows(inputJSON: inputJSON)
                return (allowed, allowed ? "allowed by file://\(path)" : "file://\(path) did not allow it")
            } catch {
                return (false, "file://\(path) failed to evaluate, so it denies: \(error)")
            }
        case .opa(let url, let policyPath):
            let endpoint = "\(url)/v1/data/\(policyPath)"
            switch Self.askOPA(endpoint: endpoint, inputJSON: inputJSON) {
            case .success(let allowed):
                return (allowed, allowed ? "allowed by OPA \(endpoint)" : "OPA \(endpoint) did not allow it")
            case .failure(let error):
                return (false, "OPA \(endpoint) could not be asked, so it denies: \(error)")
            }
        }
    }

    /// `POST {"input": ...}`; the decision is `result.allow`, and only `true` allows.
    private static func askOPA(endpoint: String, inputJSON: String) -> Result<Bool, PolicyError> {
        let answer = BlockingResult<Result<Bool, PolicyError>>()
        Task {
            do {
                var request = HTTPClientRequest(url: endpoint)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: #"{"input":"# + inputJSON + "}"))
                let response = try await HTTPClient.shared.execute(request, timeout: opaTimeout)
                let body = try await response.body.collect(upTo: 1 << 20)
                guard response.status == .ok else {
                    answer.set(.failure(PolicyError("it answered HTTP \(response.status.code)")))
                    return
                }
                let decided = try? JSONDecoder().decode(OPAAnswer.self, from: Data(buffer: body))
                answer.set(.success(decided?.result?.allow == true))
            } catch {
                answer.set(.failure(PolicyError("\(error)")))
            }
        }
        return answer.wait()
    }

    private struct OPAAnswer: Decodable {
        struct Document: Decodable {
            let allow: Bool?
            init(from decoder: Decoder) throws {
                // A document without a boolean `allow` (or not an object at all) denies.
                allow = try? decoder.container(keyedBy: Key.self).decode(Bool.self, forKey: .allow)
            }
            enum Key: CodingKey { case allow }
        }
        let result: Document?
    }

    /// A short digest of an input document for logs: decisions can be correlated without the
    /// log holding what the guest asked for.
    static func digest(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}

/// A value handed from a task to a thread that waits for it.
final class BlockingResult<Value: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Value?

    func set(_ newValue: Value) {
        condition.lock()
        value = newValue
        condition.signal()
        condition.unlock()
    }

    func wait() -> Value {
        condition.lock()
        defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value!
    }
}
