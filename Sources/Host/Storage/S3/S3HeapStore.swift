import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Heaps as objects `<prefix><heap id>` in an S3 bucket (or any S3-compatible store), holding the
/// same sealed envelopes as `DirectoryHeapStore`'s files. A PUT replaces an object whole, so a
/// reader sees the old object or the new one, and storing a heap that is there already rewrites
/// the same bytes: two servers storing one heap at once leave one object, and its LastModified
/// (`list`'s `created`) is the last store. Every read is verified before it is returned, so a
/// damaged object is reported, never handed to V8; a DELETE removes an object whole, so a GET
/// racing it answers the whole object or 404.
public struct S3HeapStore: HeapStore {
    public let bucket: String
    public let prefix: String
    let client: S3Client
    /// Keys per ListObjectsV2 page; nil lets the server choose (1000 on S3). Tests make it small.
    var listPageSize: Int?

    public init(bucket: String, prefix: String, connection: S3Connection) throws(S3ConfigurationError) {
        try S3Addressing.checkBucketName(bucket)
        try S3Addressing.checkPrefix(prefix)
        self.bucket = bucket
        self.prefix = prefix
        client = S3Client(addressing: S3Addressing(bucket: bucket, connection: connection), retry: S3RetryPolicy())
    }

    func key(_ id: HeapID) -> String { prefix + id.hex }

    /// Lists one key of the bucket, so that a bucket that does not exist or refuses these
    /// credentials stops the server at start rather than failing its first run.
    public func checkAccess() throws(S3ConfigurationError) {
        let response: S3Client.Response
        do {
            response = try client.send("GET", key: nil, query: [("list-type", "2"), ("max-keys", "1"), ("prefix", prefix)])
        } catch {
            throw S3ConfigurationError(description: "cannot reach the bucket: \(error)")
        }
        switch response.status {
        case 200: return
        case 404:
            throw S3ConfigurationError(description: "the bucket '\(bucket)' does not exist \(S3Client.errorSummary(response.body))")
        case 401, 403:
            throw S3ConfigurationError(description: "the bucket '\(bucket)' refuses these credentials (\(response.status) "
                + "\(S3Client.errorSummary(response.body))); check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the region")
        default:
            throw S3ConfigurationError(description: "listing the bucket '\(bucket)' answered \(response.status) "
                + S3Client.errorSummary(response.body))
        }
    }

    public func put(_ heap: SealedHeap) throws(HeapStoreError) {
        let response = try send("PUT", heap.id, body: heap.bytes)
        guard response.status == 200 else { throw failure("PUT", heap.id, response) }
    }

    public func get(_ id: HeapID) throws(HeapStoreError) -> SealedHeap? {
        let response = try send("GET", id)
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw failure("GET", id, response) }
        let heap = SealedHeap(id: id, bytes: response.body)
        do {
            _ = try HeapEnvelope.open(heap)
        } catch .corrupt(let id, let reason) {
            throw .corrupt(id: id, reason: "the object s3://\(bucket)/\(key(heap.id)) is damaged: \(reason)")
        }
        return heap
    }

    public func exists(_ id: HeapID) throws(HeapStoreError) -> Bool {
        let response = try send("HEAD", id)
        switch response.status {
        case 200: return true
        case 404: return false
        default: throw failure("HEAD", id, response)
        }
    }

    /// Deletes a heap's object; a heap that is not there is not an error.
    public func delete(_ id: HeapID) throws(HeapStoreError) {
        let response = try send("DELETE", id)
        guard [200, 204, 404].contains(response.status) else { throw failure("DELETE", id, response) }
    }

    /// Every heap under the prefix, page by page (ListObjectsV2 with continuation tokens). Keys
    /// under the prefix that are not a heap id are not heaps of ours and are left out.
    public func list() throws(HeapStoreError) -> [StoredHeapInfo] {
        var heaps: [StoredHeapInfo] = []
        var token: String?
        repeat {
            var query = [(name: "list-type", value: "2"), (name: "prefix", value: prefix)]
            if let token { query.append((name: "continuation-token", value: token)) }
            if let listPageSize { query.append((name: "max-keys", value: String(listPageSize))) }
            let response: S3Client.Response
            do {
                response = try client.send("GET", key: nil, query: query)
            } catch {
                throw .io(error.description)
            }
            guard response.status == 200, let page = ListObjectsPage(parsing: response.body) else {
                throw .io("S3 list of s3://\(bucket)/\(prefix) answered \(response.status) \(S3Client.errorSummary(response.body))")
            }
            for object in page.objects where object.key.hasPrefix(prefix) {
                guard let id = try? HeapID(validating: String(object.key.dropFirst(prefix.count))),
                      key(id) == object.key else { continue }
                heaps.append(StoredHeapInfo(id: id, bytes: object.size, created: object.lastModified))
            }
            token = page.isTruncated ? page.nextToken : nil
        } while token != nil
        return heaps
    }

    private func send(_ method: String, _ id: HeapID, body: Data? = nil) throws(HeapStoreError) -> S3Client.Response {
        do {
            return try client.send(method, key: key(id), body: body)
        } catch {
            throw .io("heap \(id): \(error)")
        }
    }

    private func failure(_ method: String, _ id: HeapID, _ response: S3Client.Response) -> HeapStoreError {
        .io("heap \(id): S3 \(method) s3://\(bucket)/\(key(id)) answered \(response.status) \(S3Client.errorSummary(response.body))")
    }
}

/// One page of a ListObjectsV2 answer.
struct ListObjectsPage {
    struct Object {
        var key = ""
        var size = 0
        var lastModified = Date(timeIntervalSince1970: 0)
    }

    var objects: [Object] = []
    var isTruncated = false
    var nextToken: String?

    /// nil when the body is not a ListBucketResult.
    init?(parsing body: Data) {
        let reader = Reader()
        let parser = XMLParser(data: body)
        parser.delegate = reader
        guard parser.parse(), reader.sawResult else { return nil }
        self = reader.page
    }

    private final class Reader: NSObject, XMLParserDelegate {
        var page = ListObjectsPage(empty: ())
        var sawResult = false
        var current: Object?
        var text = ""

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if name == "ListBucketResult" { sawResult = true }
            if name == "Contents" { current = Object() }
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            switch name {
            case "Key": current?.key = text
            case "Size": current?.size = Int(text) ?? 0
            case "LastModified": current?.lastModified = Self.parseDate(text) ?? current?.lastModified ?? Date(timeIntervalSince1970: 0)
            case "Contents": if let current { page.objects.append(current) }; current = nil
            case "IsTruncated": page.isTruncated = text == "true"
            case "NextContinuationToken": page.nextToken = text
            default: break
            }
        }

        /// "2026-12-07T21:37:55Z" or with fractional seconds "2026-12-07T21:37:55.123Z".
        static func parseDate(_ text: String) -> Date? {
            let formatter = ISO8601DateFormatter()
            if let date = formatter.date(from: text) { return date }
            formatter.formatOptions.insert(.withFractionalSeconds)
            return formatter.date(from: text)
        }
    }

    private init(empty: Void) {}
}
