import Foundation
import HostSupport
import HTTPTypes
import Hummingbird
import MCP

/// JSON bodies in and out of the HTTP endpoints, and the conversions between hummingbird's
/// requests and responses and swift-sdk's framework-neutral ones.
enum HTTPMessages {
    static let jsonContentType = "application/json"

    static func json(_ value: Value, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: jsonContentType],
                 body: .init(byteBuffer: ByteBuffer(bytes: PlainJSON.encoded(value))))
    }

    /// `{"error": message}` with the status; every failure of every endpoint looks like this.
    static func error(_ status: HTTPResponse.Status, _ message: String,
                      headers: HTTPFields = [:]) -> Response {
        var response = json(["error": .string(message)], status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    /// The request body, at most `limit` bytes (413 beyond).
    static func body(of request: Request, limit: Int) async throws -> Data {
        do {
            var buffer = try await request.body.collect(upTo: limit)
            return buffer.readData(length: buffer.readableBytes) ?? Data()
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw HTTPEndpointError(.contentTooLarge,
                                    "The request body is larger than \(limit) bytes (--max-request-bytes).")
        }
    }

    /// A JSON request body, as received and parsed: 415 unless it is declared JSON, 400 unless it parses.
    static func jsonBody(of request: Request, limit: Int) async throws -> (data: Data, value: Value) {
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix(jsonContentType) else {
            throw HTTPEndpointError(.unsupportedMediaType,
                                    "The request body must be JSON (Content-Type: application/json); got "
                                    + (contentType.isEmpty ? "no Content-Type." : "'\(contentType.prefix(80))'."))
        }
        let data = try await body(of: request, limit: limit)
        do {
            return (data, try PlainJSON.value(from: data))
        } catch {
            throw HTTPEndpointError(.badRequest, "The request body is not valid JSON.")
        }
    }

    /// A JSON object request body (see `jsonBody`; 400 unless it is an object).
    static func jsonObject(of request: Request, limit: Int) async throws -> [String: Value] {
        guard case .object(let object) = try await jsonBody(of: request, limit: limit).value else {
            throw HTTPEndpointError(.badRequest, "The request body must be a JSON object.")
        }
        return object
    }

    static func mcpRequest(_ request: Request, body: Data?) -> MCP.HTTPRequest {
        var headers: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
        return MCP.HTTPRequest(method: request.method.rawValue, headers: headers, body: body, path: request.uri.path)
    }

    static func response(_ mcpResponse: MCP.HTTPResponse) -> Response {
        var headers = HTTPFields()
        for (name, value) in mcpResponse.headers {
            if let fieldName = HTTPField.Name(name) { headers[fieldName] = value }
        }
        let status = HTTPResponse.Status(code: mcpResponse.statusCode)
        switch mcpResponse {
        case .stream(let stream, _):
            return Response(status: status, headers: headers, body: ResponseBody { writer in
                for try await chunk in stream { try await writer.write(ByteBuffer(bytes: chunk)) }
                try await writer.finish(nil)
            })
        default:
            let body = mcpResponse.bodyData.map { ResponseBody(byteBuffer: ByteBuffer(bytes: $0)) } ?? ResponseBody()
            return Response(status: status, headers: headers, body: body)
        }
    }
}

/// A failure an endpoint answers with its status and `{"error": message}`.
struct HTTPEndpointError: Error, CustomStringConvertible {
    let status: HTTPResponse.Status
    let description: String

    init(_ status: HTTPResponse.Status, _ description: String) {
        self.status = status
        self.description = description
    }
}
