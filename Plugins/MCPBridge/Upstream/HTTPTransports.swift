import Foundation
import HostSupport
import Logging
import MCP
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Streamable HTTP: each message is POSTed to the endpoint, which answers 202, a JSON message, or
/// an event stream of messages that ends with the answer. (swift-sdk's HTTPClientTransport hands
/// event-stream bodies on unparsed on Linux, so the bridge has its own.)
actor StreamableHTTPTransport: Transport {
    nonisolated let logger: Logger
    private let server: String
    private let endpoint: URL
    private let headers: [String: String]
    private let session: URLSession
    private let onClose: @Sendable (String) -> Void
    private let messages: AsyncThrowingStream<Data, Error>
    private let continuation: AsyncThrowingStream<Data, Error>.Continuation
    private var sessionID: String?
    /// The version the handshake settled on, sent with every later request as the protocol asks.
    private var protocolVersion: String?

    init(server: String, endpoint: URL, headers: [String: String], requestTimeout: TimeInterval, logger: Logger,
         onClose: @escaping @Sendable (String) -> Void) {
        self.server = server
        self.endpoint = endpoint
        self.headers = headers
        self.logger = logger
        self.onClose = onClose
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = requestTimeout
        configuration.timeoutIntervalForResource = requestTimeout
        session = URLSession(configuration: configuration)
        (messages, continuation) = AsyncThrowingStream.makeStream()
    }

    func connect() async throws {}

    func disconnect() async {
        if let sessionID {
            var request = URLRequest(url: endpoint, timeoutInterval: 2)
            request.httpMethod = "DELETE"
            headers.forEach { request.setValue($0.value, forHTTPHeaderField: $0.key) }
            request.setValue(sessionID, forHTTPHeaderField: "Mcp-Session-Id")
            _ = try? await session.data(for: request)
        }
        sessionID = nil
        // Cancel, not finish: a request the server never answers would otherwise live on until its
        // timeout, and FoundationNetworking spins a core on such a socket the whole time.
        session.invalidateAndCancel()
        continuation.finish()
    }

    func send(_ data: Data) async throws {
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.httpBody = data
        headers.forEach { request.setValue($0.value, forHTTPHeaderField: $0.key) }
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json, text/event-stream", forHTTPHeaderField: "Accept")
        if let sessionID { request.setValue(sessionID, forHTTPHeaderField: "Mcp-Session-Id") }
        if let protocolVersion { request.setValue(protocolVersion, forHTTPHeaderField: "MCP-Protocol-Version") }
        let body: Data
        let response: URLResponse
        do {
            (body, response) = try await session.data(for: request)
        } catch {
            let reason = error.localizedDescription
            onClose(reason)
            throw UpstreamError.lost(server, reason: reason)
        }
        guard let http = response as? HTTPURLResponse else {
            throw UpstreamError.protocolViolation(server, reason: "it answered something other than HTTP")
        }
        if let id = http.value(forHTTPHeaderField: "Mcp-Session-Id") { sessionID = id }
        switch http.statusCode {
        case 202, 204:
            return
        case 200..<300:
            let type = http.value(forHTTPHeaderField: "Content-Type")?.lowercased() ?? ""
            if type.hasPrefix("text/event-stream") {
                var parser = EventStreamParser()
                for event in parser.feed(body) + parser.finish() where event.name == "message" && !event.data.isEmpty {
                    deliver(Data(event.data.utf8))
                }
            } else if type.hasPrefix("application/json") {
                deliver(body)
            } else {
                throw UpstreamError.protocolViolation(server, reason: "it answered with Content-Type '\(type)', not JSON or an event stream")
            }
        case 404 where sessionID != nil:
            sessionID = nil
            onClose("its session ended (HTTP 404)")
            throw UpstreamError.lost(server, reason: "its session ended (HTTP 404)")
        default:
            let snippet = String(decoding: body.prefix(300), as: UTF8.self)
            throw UpstreamError.protocolViolation(server, reason: "it answered HTTP \(http.statusCode)\(snippet.isEmpty ? "" : ": \(snippet)")")
        }
    }

    func receive() -> AsyncThrowingStream<Data, Error> { messages }

    private func deliver(_ message: Data) {
        if protocolVersion == nil {
            struct InitializeAnswer: Decodable {
                struct Result: Decodable { let protocolVersion: String }
                let result: Result
            }
            protocolVersion = try? JSONDecoder().decode(InitializeAnswer.self, from: message).result.protocolVersion
        }
        continuation.yield(message)
    }
}

/// The older HTTP+SSE transport: a GET opens an event stream whose first `endpoint` event names
/// where to POST messages; answers arrive as `message` events on the stream.
actor LegacySSETransport: Transport {
    nonisolated let logger: Logger
    private let server: String
    private let streamURL: URL
    private let headers: [String: String]
    private let requestTimeout: TimeInterval
    private let onClose: @Sendable (String) -> Void
    private let messages: AsyncThrowingStream<Data, Error>
    private let continuation: AsyncThrowingStream<Data, Error>.Continuation
    private var postSession: URLSession?
    private var streamSession: URLSession?
    private var messageEndpoint: URL?

    init(server: String, url: URL, headers: [String: String], requestTimeout: TimeInterval, logger: Logger,
         onClose: @escaping @Sendable (String) -> Void) {
        self.server = server
        self.streamURL = url
        self.headers = headers
        self.requestTimeout = requestTimeout
        self.logger = logger
        self.onClose = onClose
        (messages, continuation) = AsyncThrowingStream.makeStream()
    }

    func connect() async throws {
        guard streamSession == nil else { return }
        let (server, streamURL, continuation, onClose) = (self.server, self.streamURL, self.continuation, self.onClose)
        let waiting = OnceBox<URL>()
        let delegate = EventStreamDelegate(
            onEvent: { event in
                if event.name == "endpoint" {
                    guard let url = URL(string: event.data, relativeTo: streamURL)?.absoluteURL,
                          url.scheme == streamURL.scheme, url.host == streamURL.host, url.port == streamURL.port else {
                        waiting.resume(throwing: UpstreamError.protocolViolation(
                            server, reason: "its endpoint event names '\(event.data.prefix(200))', not a path on \(streamURL.host ?? "its host")"))
                        return
                    }
                    waiting.resume(returning: url)
                } else if event.name == "message", !event.data.isEmpty {
                    continuation.yield(Data(event.data.utf8))
                }
            },
            onEnd: { reason in
                waiting.resume(throwing: UpstreamError.unreachable(server, reason: reason))
                continuation.finish(throwing: UpstreamError.lost(server, reason: reason))
                onClose(reason)
            })
        let configuration = URLSessionConfiguration.ephemeral
        // The stream stays open and quiet between messages.
        configuration.timeoutIntervalForRequest = 86_400
        configuration.timeoutIntervalForResource = 86_400 * 365
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
        streamSession = session
        var request = URLRequest(url: streamURL)
        headers.forEach { request.setValue($0.value, forHTTPHeaderField: $0.key) }
        request.setValue("text/event-stream", forHTTPHeaderField: "Accept")
        session.dataTask(with: request).resume()
        let endpoint = try await waiting.value()
        messageEndpoint = endpoint
        let postConfiguration = URLSessionConfiguration.ephemeral
        postConfiguration.timeoutIntervalForRequest = requestTimeout
        postConfiguration.timeoutIntervalForResource = requestTimeout
        postSession = URLSession(configuration: postConfiguration)
    }

    func disconnect() async {
        streamSession?.invalidateAndCancel()
        postSession?.invalidateAndCancel()
        streamSession = nil
        postSession = nil
        continuation.finish()
    }

    func send(_ data: Data) async throws {
        guard let messageEndpoint, let postSession else { throw UpstreamError.lost(server, reason: "it is not connected") }
        var request = URLRequest(url: messageEndpoint)
        request.httpMethod = "POST"
        request.httpBody = data
        headers.forEach { request.setValue($0.value, forHTTPHeaderField: $0.key) }
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let body: Data
        let response: URLResponse
        do {
            (body, response) = try await postSession.data(for: request)
        } catch {
            throw UpstreamError.lost(server, reason: error.localizedDescription)
        }
        guard let http = response as? HTTPURLResponse, (200..<300).contains(http.statusCode) else {
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            let snippet = String(decoding: body.prefix(300), as: UTF8.self)
            throw UpstreamError.protocolViolation(server, reason: "it answered HTTP \(status) to a message\(snippet.isEmpty ? "" : ": \(snippet)")")
        }
    }

    func receive() -> AsyncThrowingStream<Data, Error> { messages }
}

/// Feeds an event stream's bytes to `onEvent` as they arrive; `onEnd` once, with why it ended.
private final class EventStreamDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var parser = EventStreamParser()
    private var ended = false
    private let onEvent: @Sendable (EventStreamParser.Event) -> Void
    private let onEnd: @Sendable (String) -> Void

    init(onEvent: @escaping @Sendable (EventStreamParser.Event) -> Void, onEnd: @escaping @Sendable (String) -> Void) {
        self.onEvent = onEvent
        self.onEnd = onEnd
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let type = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")?.lowercased() ?? ""
        if status == 200 && type.hasPrefix("text/event-stream") {
            completionHandler(.allow)
        } else {
            completionHandler(.cancel)
            end(status == 200 ? "its event stream answered Content-Type '\(type)'" : "its event stream answered HTTP \(status)")
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        lock.lock()
        let events = parser.feed(data)
        let overflowing = parser.bufferedBytes > ChildProcessTransport.maximumLineBytes
        lock.unlock()
        events.forEach(onEvent)
        if overflowing {
            dataTask.cancel()
            end("it sent an event of more than \(ChildProcessTransport.maximumLineBytes) bytes")
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        end(error.map { $0.localizedDescription } ?? "its event stream ended")
    }

    private func end(_ reason: String) {
        lock.lock()
        let first = !ended
        ended = true
        lock.unlock()
        if first { onEnd(reason) }
    }
}

/// Server-sent events (the WHATWG format), parsed from bytes in any chunking.
struct EventStreamParser {
    struct Event: Equatable, Sendable {
        /// "message" when the event names none.
        var name: String
        var data: String
    }

    private var buffer = Data()
    private var name = ""
    private var dataLines: [String] = []

    var bufferedBytes: Int { buffer.count + dataLines.reduce(0) { $0 + $1.utf8.count } }

    mutating func feed(_ bytes: Data) -> [Event] {
        buffer.append(bytes)
        var events: [Event] = []
        var lineStart = buffer.startIndex
        while let newline = buffer[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
            var line = buffer[lineStart..<newline]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if let event = take(String(decoding: line, as: UTF8.self)) { events.append(event) }
            lineStart = buffer.index(after: newline)
        }
        buffer.removeSubrange(buffer.startIndex..<lineStart)
        return events
    }

    /// The stream ended: an event not yet closed by a blank line still counts.
    mutating func finish() -> [Event] {
        var events = feed(Data("\n".utf8))
        if let event = take("") { events.append(event) }
        return events
    }

    private mutating func take(_ line: String) -> Event? {
        if line.isEmpty {
            defer {
                name = ""
                dataLines = []
            }
            guard !dataLines.isEmpty else { return nil }
            return Event(name: name.isEmpty ? "message" : name, data: dataLines.joined(separator: "\n"))
        }
        if line.hasPrefix(":") { return nil }
        let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        var value = parts.count == 2 ? String(parts[1]) : ""
        if value.hasPrefix(" ") { value.removeFirst() }
        switch parts[0] {
        case "event": name = value
        case "data": dataLines.append(value)
        default: break
        }
        return nil
    }
}
