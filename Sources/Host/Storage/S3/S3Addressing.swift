import Foundation

/// The URLs of a bucket and its objects, encoded as SigV4 signs them: every byte but the unreserved
/// ones (A-Z a-z 0-9 - . _ ~) percent-encoded, '/' kept in keys, and query parameters sorted by name,
/// since libcurl 7.88 signs the path and query exactly as given.
struct S3Addressing: Sendable, Equatable {
    let bucket: String
    let connection: S3Connection

    /// Bucket names as S3 allows them for new buckets: 3-63 lowercase letters, digits, '.' and '-',
    /// starting and ending with a letter or digit. They end up in host names and paths.
    static func checkBucketName(_ name: String) throws(S3ConfigurationError) {
        let bytes = Array(name.utf8)
        let allowed = bytes.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 46 || $0 == 45 }
        let edges = [bytes.first, bytes.last].allSatisfy { $0.map { (97...122).contains($0) || (48...57).contains($0) } ?? false }
        guard (3...63).contains(bytes.count), allowed, edges else {
            throw S3ConfigurationError(description: "a bucket name is 3-63 lowercase letters, digits, '.' and '-', "
                + "starting and ending with a letter or digit; got '\(name)'")
        }
    }

    /// Key prefixes must not hold "." or ".." path segments, which HTTP software between us and the
    /// store may resolve away, nor control characters.
    static func checkPrefix(_ prefix: String) throws(S3ConfigurationError) {
        let segments = prefix.split(separator: "/", omittingEmptySubsequences: false)
        guard !segments.contains(where: { $0 == "." || $0 == ".." }),
              !prefix.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }),
              prefix.utf8.count <= 512 else {
            throw S3ConfigurationError(description: "a key prefix has at most 512 bytes, no control characters "
                + "and no '.' or '..' segments; got '\(prefix)'")
        }
    }

    /// `https://<bucket>.s3.<region>.amazonaws.com`, or the custom endpoint, with the bucket as the
    /// first path segment when addressing is path-style.
    private var base: String {
        guard let endpoint = connection.endpoint else {
            let host = "s3.\(connection.region).amazonaws.com"
            return connection.pathStyle ? "https://\(host)/\(bucket)" : "https://\(bucket).\(host)"
        }
        let scheme = endpoint.scheme!.lowercased()
        var host = endpoint.host!
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        let port = endpoint.port.map { ":\($0)" } ?? ""
        var path = endpoint.path
        while path.hasSuffix("/") { path.removeLast() }
        let origin = "\(scheme)://" + (connection.pathStyle ? "" : "\(bucket).") + host + port
        return connection.pathStyle ? origin + path + "/" + bucket : origin + path
    }

    func objectURL(_ key: String) -> String { "\(base)/\(Self.encode(key, keepingSlashes: true))" }

    func bucketURL(query: [(name: String, value: String)]) -> String {
        let pairs: [(name: String, value: String)] = query.map {
            (Self.encode($0.name, keepingSlashes: false), Self.encode($0.value, keepingSlashes: false))
        }
        let sorted = pairs.sorted { (a, b) -> Bool in a.name == b.name ? a.value < b.value : a.name < b.name }
        let text = sorted.map { pair -> String in pair.name + "=" + pair.value }.joined(separator: "&")
        return "\(base)/" + (text.isEmpty ? "" : "?\(text)")
    }

    /// SigV4's URI encoding (RFC 3986 unreserved characters stay, everything else as %XX of its UTF-8).
    static func encode(_ text: String, keepingSlashes: Bool) -> String {
        var out = ""
        for byte in text.utf8 {
            let unreserved = (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
            if unreserved || (keepingSlashes && byte == UInt8(ascii: "/")) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
