import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One long-lived `esbuild --service` process per worker, spoken to over esbuild's stdio
/// protocol: a transform costs well under a millisecond instead of a new process each time.
/// Requests go one at a time; the process is started on first use and again after a failure,
/// and it exits when the worker does (its stdin closes).
final class EsbuildService: @unchecked Sendable {
    struct Result {
        let code: String
        let map: String
    }

    struct Failure: Error {
        /// esbuild's first error, 1-based line and column of the user's code.
        let message: String
        let line: Int?
        let column: Int?
    }

    private let executable: String
    private let lock = NSLock()
    private var process: Process?
    private var input: FileHandle?
    private var outputFD: Int32 = -1
    private var nextID: UInt32 = 0

    init(executable: String) { self.executable = executable }

    /// `loader` is "ts" or "tsx". Throws a Failure for code esbuild rejects, anything else when
    /// the service failed twice in a row (a failed service is stopped; the retry starts another).
    func transform(_ code: String, loader: String, timeout: TimeInterval) throws -> Result {
        lock.lock()
        defer { lock.unlock() }
        do {
            return try attempt(code, loader: loader, timeout: timeout)
        } catch let failure as Failure {
            throw failure
        } catch {
            return try attempt(code, loader: loader, timeout: timeout)
        }
    }

    private func attempt(_ code: String, loader: String, timeout: TimeInterval) throws -> Result {
        do {
            try startIfNeeded()
            let request: EsbuildValue = .map([
                ("command", .string("transform")),
                ("flags", .array([.string("--loader=\(loader)"), .string("--sourcemap=external"),
                                  .string("--log-level=silent")])),
                ("inputFS", .bool(false)),
                ("input", .bytes(Array(code.utf8))),
            ])
            let id = nextID
            nextID &+= 1
            try input!.write(contentsOf: EsbuildValue.packet(id: id, isRequest: true, value: request))
            let deadline = Date().addingTimeInterval(timeout)
            let response = try readResponse(deadline: deadline)
            if case .array(let errors)? = response["errors"], case .map(let first)? = errors.first {
                let fields = Dictionary(first, uniquingKeysWith: { a, _ in a })
                var line: Int?, column: Int?
                if case .map(let location)? = fields["location"] {
                    let place = Dictionary(location, uniquingKeysWith: { a, _ in a })
                    if case .int(let l)? = place["line"], case .int(let c)? = place["column"] {
                        line = Int(l)
                        column = Int(c) + 1
                    }
                }
                throw Failure(message: fields["text"]?.text ?? "esbuild rejected the code", line: line, column: column)
            }
            return Result(code: response["code"]?.text ?? "", map: response["map"]?.text ?? "")
        } catch let failure as Failure {
            throw failure
        } catch {
            stop()
            throw error
        }
    }

    private func startIfNeeded() throws {
        if let process, process.isRunning { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--service=\(try version())"]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        input = stdin.fileHandleForWriting
        outputFD = stdout.fileHandleForReading.fileDescriptor
        // The service first says which version it is.
        _ = try readPacket(deadline: Date().addingTimeInterval(5))
    }

    private func stop() {
        process?.terminate()
        process = nil
        input = nil
        outputFD = -1
    }

    /// The version `--service=` must name (esbuild refuses to serve a host of another version),
    /// asked of the executable once.
    private var knownVersion: String?

    private func version() throws -> String {
        if let knownVersion { return knownVersion }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--version"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let version = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        knownVersion = version
        return version
    }

    private func readResponse(deadline: Date) throws -> [String: EsbuildValue] {
        while true {
            let packet = try readPacket(deadline: deadline)
            let (isRequest, value) = try EsbuildValue.decodePacket(packet)
            // The service asks nothing of a transform-only host but pings; answer them empty.
            if isRequest {
                try input!.write(contentsOf: EsbuildValue.packet(id: 0, isRequest: false, value: .map([])))
                continue
            }
            guard case .map(let fields) = value else { throw ServiceError("esbuild answered something that is not a map") }
            return Dictionary(fields, uniquingKeysWith: { a, _ in a })
        }
    }

    private func readPacket(deadline: Date) throws -> [UInt8] {
        let header = try readExactly(4, deadline: deadline)
        let length = Int(UInt32(header[0]) | UInt32(header[1]) << 8 | UInt32(header[2]) << 16 | UInt32(header[3]) << 24)
        return try readExactly(length, deadline: deadline)
    }

    private func readExactly(_ count: Int, deadline: Date) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw ServiceError("esbuild did not answer in time") }
            var poller = pollfd(fd: outputFD, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(remaining * 1000) + 1)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            let got = bytes.withUnsafeMutableBytes { read(outputFD, $0.baseAddress! + filled, count - filled) }
            guard got > 0 else { throw ServiceError("esbuild stopped") }
            filled += got
        }
        return bytes
    }

    private struct ServiceError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

/// A value of esbuild's stdio protocol: tagged, little-endian, length-prefixed.
enum EsbuildValue {
    case null
    case bool(Bool)
    case int(Int32)
    case string(String)
    case bytes([UInt8])
    case array([EsbuildValue])
    case map([(String, EsbuildValue)])

    /// Text from a string or bytes value (esbuild versions differ in which they send).
    var text: String? {
        switch self {
        case .string(let text): text
        case .bytes(let bytes): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    static func packet(id: UInt32, isRequest: Bool, value: EsbuildValue) -> Data {
        var body: [UInt8] = []
        append32(id << 1 | (isRequest ? 0 : 1), to: &body)
        value.encode(into: &body)
        var packet: [UInt8] = []
        append32(UInt32(body.count), to: &packet)
        return Data(packet + body)
    }

    static func decodePacket(_ bytes: [UInt8]) throws -> (isRequest: Bool, value: EsbuildValue) {
        var reader = Reader(bytes: bytes)
        let id = try reader.uint32()
        return (id & 1 == 0, try reader.value())
    }

    private func encode(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(0)
        case .bool(let flag): out += [1, flag ? 1 : 0]
        case .int(let number): out.append(2); Self.append32(UInt32(bitPattern: number), to: &out)
        case .string(let text): out.append(3); Self.appendBytes(Array(text.utf8), to: &out)
        case .bytes(let bytes): out.append(4); Self.appendBytes(bytes, to: &out)
        case .array(let items):
            out.append(5)
            Self.append32(UInt32(items.count), to: &out)
            items.forEach { $0.encode(into: &out) }
        case .map(let fields):
            out.append(6)
            Self.append32(UInt32(fields.count), to: &out)
            for (key, value) in fields {
                Self.appendBytes(Array(key.utf8), to: &out)
                value.encode(into: &out)
            }
        }
    }

    private static func append32(_ value: UInt32, to out: inout [UInt8]) {
        out += [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)]
    }

    private static func appendBytes(_ bytes: [UInt8], to out: inout [UInt8]) {
        append32(UInt32(bytes.count), to: &out)
        out += bytes
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func uint32() throws -> UInt32 {
            guard offset + 4 <= bytes.count else { throw DecodingError.truncated }
            defer { offset += 4 }
            return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
                | UInt32(bytes[offset + 3]) << 24
        }

        mutating func chunk() throws -> [UInt8] {
            let length = Int(try uint32())
            guard offset + length <= bytes.count else { throw DecodingError.truncated }
            defer { offset += length }
            return Array(bytes[offset..<offset + length])
        }

        mutating func value() throws -> EsbuildValue {
            guard offset < bytes.count else { throw DecodingError.truncated }
            let tag = bytes[offset]
            offset += 1
            switch tag {
            case 0: return .null
            case 1:
                guard offset < bytes.count else { throw DecodingError.truncated }
                defer { offset += 1 }
                return .bool(bytes[offset] != 0)
            case 2: return .int(Int32(bitPattern: try uint32()))
            case 3: return .string(String(decoding: try chunk(), as: UTF8.self))
            case 4: return .bytes(try chunk())
            case 5: return .array(try (0..<Int(try uint32())).map { _ in try value() })
            case 6:
                return .map(try (0..<Int(try uint32())).map { _ in
                    (String(decoding: try chunk(), as: UTF8.self), try value())
                })
            default: throw DecodingError.unknownTag(tag)
            }
        }
    }

    enum DecodingError: Error {
        case truncated
        case unknownTag(UInt8)
    }
}
