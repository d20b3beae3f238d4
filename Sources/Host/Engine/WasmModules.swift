import CV8
import Foundation

/// The modules of a process, compiled once by V8; every run re-creates them without compiling.
public final class PreloadedWasmModules: @unchecked Sendable {
    public let specs: [WasmModuleSpec]
    /// What each module exports and imports, for the tool descriptions.
    public let summaries: [WasmModuleSummary]
    private let compiled: UnsafeMutableBufferPointer<OpaquePointer?>

    /// Reads and compiles every module; errors name the module, its file and V8's reason.
    public init(specs: [WasmModuleSpec], runtime: JSRuntime) throws {
        var modules: [OpaquePointer?] = []
        var summaries: [WasmModuleSummary] = []
        do {
            for spec in specs {
                let (module, summary) = try Self.compile(spec, runtime: runtime)
                modules.append(module)
                summaries.append(summary)
            }
        } catch {
            // deinit does not run for an init that throws, so the modules compiled before the bad
            // one are freed here, and the buffer is allocated only once all compiled (LeakSanitizer
            // found it lost when it was allocated first).
            modules.forEach { cv8_wasm_module_free($0) }
            throw error
        }
        compiled = .allocate(capacity: modules.count)
        _ = compiled.initialize(from: modules)
        self.specs = specs
        self.summaries = summaries
    }

    private static func compile(_ spec: WasmModuleSpec, runtime: JSRuntime) throws -> (OpaquePointer, WasmModuleSummary) {
        guard let bytes = FileManager.default.contents(atPath: spec.path) else {
            throw WasmModuleError("WebAssembly module '\(spec.name)': cannot read \(spec.path)")
        }
        let summary: WasmModuleSummary
        do {
            summary = try WasmModuleSummary(bytes: [UInt8](bytes))
        } catch {
            throw WasmModuleError("WebAssembly module '\(spec.name)' (\(spec.path)): \(error)")
        }
        var message: UnsafeMutablePointer<CChar>?
        let module = bytes.withUnsafeBytes {
            cv8_wasm_module_compile(runtime.pointer, spec.name, $0.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                    $0.count, &message)
        }
        guard let module else {
            throw WasmModuleError("WebAssembly module '\(spec.name)' (\(spec.path)) does not compile: "
                                  + takeCV8Error(message, fallback: "no reason given").description)
        }
        return (module, summary)
    }

    deinit {
        compiled.forEach { cv8_wasm_module_free($0) }
        compiled.deallocate()
    }

    func install(into request: inout cv8_run_request) {
        guard !specs.isEmpty else { return }
        request.wasm_modules = UnsafePointer(compiled.baseAddress)
        request.wasm_module_count = compiled.count
    }
}

/// What a WebAssembly binary exports and imports, read from its export and import sections.
public struct WasmModuleSummary: Sendable, Equatable {
    public var exports: [String] = []
    public var imports: [String] = []

    public init(bytes: [UInt8]) throws {
        guard bytes.count >= 8, bytes[0..<4] == [0x00, 0x61, 0x73, 0x6d] else {
            throw WasmModuleError("not a WebAssembly binary (it does not begin with \\0asm)")
        }
        guard bytes[4..<8] == [0x01, 0x00, 0x00, 0x00] else {
            throw WasmModuleError("WebAssembly binary version \(bytes[4]) is not supported (only 1)")
        }
        var reader = WasmReader(bytes: bytes, offset: 8)
        while !reader.atEnd {
            let section = try reader.byte()
            let size = try reader.unsigned()
            let end = reader.offset + size
            guard end <= bytes.count else { throw WasmModuleError("a section runs past the end of the file") }
            if section == 2 {
                for _ in 0..<(try reader.unsigned()) {
                    imports.append("\(try reader.name()).\(try reader.name())")
                    try reader.skipImportDescription()
                }
            } else if section == 7 {
                for _ in 0..<(try reader.unsigned()) {
                    exports.append(try reader.name())
                    _ = try reader.byte()
                    _ = try reader.unsigned()
                }
            }
            reader.offset = end
        }
    }
}

/// Reads the parts of the WebAssembly binary format the summary needs (LEB128 numbers, names).
private struct WasmReader {
    let bytes: [UInt8]
    var offset: Int

    var atEnd: Bool { offset >= bytes.count }

    mutating func byte() throws -> UInt8 {
        guard offset < bytes.count else { throw WasmModuleError("the binary ends in the middle of a section") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func unsigned() throws -> Int {
        var result = 0
        var shift = 0
        while true {
            let next = try byte()
            result |= Int(next & 0x7f) << shift
            if next & 0x80 == 0 { return result }
            shift += 7
            guard shift < 35 else { throw WasmModuleError("a number in the binary is too long") }
        }
    }

    mutating func name() throws -> String {
        let length = try unsigned()
        guard offset + length <= bytes.count else { throw WasmModuleError("a name runs past the end of the file") }
        defer { offset += length }
        return String(decoding: bytes[offset..<offset + length], as: UTF8.self)
    }

    /// Function (type index), table (type, limits), memory (limits) or global (type, mutability).
    mutating func skipImportDescription() throws {
        switch try byte() {
        case 0: _ = try unsigned()
        case 1: _ = try byte(); try skipLimits()
        case 2: try skipLimits()
        case 3: _ = try byte(); _ = try byte()
        default: _ = try unsigned() // tags and later kinds carry an index
        }
    }

    mutating func skipLimits() throws {
        let flags = try byte()
        _ = try unsigned()
        if flags & 1 != 0 { _ = try unsigned() }
    }
}
