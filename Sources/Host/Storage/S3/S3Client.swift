import CS3Curl
import Foundation

/// An S3 request's failure, worded with the method, the s3:// address and the status or the
/// connection error, never the credentials.
struct S3RequestError: Error, CustomStringConvertible {
    let method: String
    let address: String
    /// The last HTTP status, nil when no answer came.
    let status: Int?
    /// S3's error code (NoSuchBucket, AccessDenied, ...) and message, or the connection error.
    let reason: String
    let attempts: Int

    var description: String {
        let tries = attempts > 1 ? " (after \(attempts) attempts)" : ""
        if let status { return "S3 \(method) \(address) answered \(status) \(reason)\(tries)" }
        return "S3 \(method) \(address) failed: \(reason)\(tries)"
    }
}

/// Signed requests to one bucket, retried by `S3RetryPolicy`. Calls block their thread, as the
/// heap store protocol's do.
struct S3Client: Sendable {
    let addressing: S3Addressing
    let retry: S3RetryPolicy
    /// Larger answers are refused: the largest sealed heap is far smaller.
    static let maxResponseBytes = 1 << 30

    struct Response {
        let status: Int
        let body: Data
    }

    var bucket: String { addressing.bucket }

    /// Sends one request to the object `key` (nil: the bucket itself, with `query`), retrying as
    /// the policy says. An answer with a status that is not retried (404 included) is returned.
    func send(_ method: String, key: String?, query: [(name: String, value: String)] = [], body: Data? = nil)
        throws(S3RequestError) -> Response {
        let url = key.map(addressing.objectURL) ?? addressing.bucketURL(query: query)
        let address = "s3://\(bucket)/\(key ?? "")"
        let connection = addressing.connection
        var headers = ["Content-Type: application/octet-stream"]
        if let token = connection.credentials.sessionToken { headers.append("x-amz-security-token: \(token)") }
        let sigv4 = "aws:amz:\(connection.region):s3"
        let clock = ContinuousClock()
        let start = clock.now
        var attempt = 0
        while true {
            attempt += 1
            let remaining = retry.budget - (clock.now - start)
            var response = cs3_response()
            let texts = [method, url, connection.credentials.accessKeyID, connection.credentials.secretAccessKey, sigv4]
            (body ?? Data()).withUnsafeBytes { bytes in
                withCStrings(texts + headers) { strings in
                    var request = cs3_request(
                        method: strings[0], url: strings[1], headers: strings + texts.count, access_key: strings[2],
                        secret_key: strings[3], sigv4: strings[4], body: bytes.bindMemory(to: UInt8.self).baseAddress,
                        body_length: bytes.count, connect_timeout_ms: Int(retry.connectTimeout.milliseconds),
                        timeout_ms: max(Int(remaining.milliseconds), 1000), max_response_bytes: Self.maxResponseBytes)
                    _ = cs3_perform(&request, &response)
                }
            }
            defer { cs3_response_free(&response) }
            let outcome: S3RetryPolicy.Outcome
            let answer = Data(UnsafeBufferPointer(start: response.body, count: response.body_length))
            if response.transport_error == 0 {
                let status = Int(response.status)
                if !S3RetryPolicy.isRetryable(.status(status)) { return Response(status: status, body: answer) }
                outcome = .status(status)
            } else {
                outcome = .transportError
            }
            let failure = S3RequestError(
                method: method, address: address, status: response.transport_error == 0 ? Int(response.status) : nil,
                reason: response.transport_error == 0 ? Self.errorSummary(answer)
                    : withUnsafeBytes(of: response.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) },
                attempts: attempt)
            guard let wait = retry.delay(after: attempt, outcome: outcome, elapsed: clock.now - start,
                                         jitter: Double.random(in: 0.5...1)) else { throw failure }
            Thread.sleep(forTimeInterval: wait.seconds)
        }
    }

    /// "(Code: Message)" from an S3 error document; only these two, since some servers echo the
    /// string they signed (with the access key id) in others.
    static func errorSummary(_ body: Data) -> String {
        let text = String(decoding: body.prefix(4096), as: UTF8.self)
        func element(_ name: String) -> String? {
            guard let open = text.range(of: "<\(name)>"),
                  let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex) else { return nil }
            return String(text[open.upperBound..<close.lowerBound])
        }
        switch (element("Code"), element("Message")) {
        case let (code?, message?): return "(\(code): \(message))"
        case let (code?, nil): return "(\(code))"
        default: return ""
        }
    }
}

private func withCStrings<Result>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> Result) -> Result {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

private extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
