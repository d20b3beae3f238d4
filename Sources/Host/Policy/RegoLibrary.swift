import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// rego-cpp's C API (`librego_shared.so` from the `regopy` wheel), loaded with dlopen so the
/// server neither links it nor needs it until a local Rego policy is configured.
final class RegoLibrary: @unchecked Sendable {
    typealias Handle = UnsafeMutableRawPointer

    private let newInterpreterLoud: @convention(c) () -> Handle?
    private let setLogLevel: @convention(c) (Handle?, UInt32) -> UInt32
    let freeInterpreter: @convention(c) (Handle?) -> Void
    let addModule: @convention(c) (Handle?, UnsafePointer<CChar>, UnsafePointer<CChar>) -> UInt32
    let setQuery: @convention(c) (Handle?, UnsafePointer<CChar>) -> UInt32
    let build: @convention(c) (Handle?) -> Handle?
    let bundleOK: @convention(c) (Handle?) -> Bool
    let freeBundle: @convention(c) (Handle?) -> Void
    let setInputTerm: @convention(c) (Handle?, UnsafePointer<CChar>) -> UInt32
    let bundleQuery: @convention(c) (Handle?, Handle?) -> Handle?
    let outputJSONSize: @convention(c) (Handle?) -> UInt32
    let outputJSON: @convention(c) (Handle?, UnsafeMutablePointer<CChar>, UInt32) -> UInt32
    let freeOutput: @convention(c) (Handle?) -> Void
    let errorSize: @convention(c) (Handle?) -> UInt32
    let error: @convention(c) (Handle?, UnsafeMutablePointer<CChar>, UInt32) -> UInt32
    // Input documents built node by node: several times faster than parsing JSON text as a term.
    let newInput: @convention(c) () -> Handle?
    let freeInput: @convention(c) (Handle?) -> Void
    let setInput: @convention(c) (Handle?, Handle?) -> UInt32
    let inputInt: @convention(c) (Handle?, Int64) -> UInt32
    let inputFloat: @convention(c) (Handle?, Double) -> UInt32
    let inputString: @convention(c) (Handle?, UnsafePointer<CChar>) -> UInt32
    let inputBoolean: @convention(c) (Handle?, Bool) -> UInt32
    let inputNull: @convention(c) (Handle?) -> UInt32
    let inputObjectItem: @convention(c) (Handle?) -> UInt32
    let inputObject: @convention(c) (Handle?, UInt32) -> UInt32
    let inputArray: @convention(c) (Handle?, UInt32) -> UInt32

    /// rego-cpp's status code for success.
    static let ok: UInt32 = 0

    /// Where the library is looked for: `explicitPath` when given, else a release bundle's `lib/`
    /// (`make dist`), else a `vendor/regopy` (where scripts/setup puts it) in the folder of this binary
    /// or any folder above it.
    static func locate(explicitPath: String?) throws -> String {
        if let explicitPath { return explicitPath }
        let bundled = ThisBinary.bundleLibraryFolder.appendingPathComponent("librego_shared.so").path
        if FileManager.default.fileExists(atPath: bundled) { return bundled }
        var folder = URL(fileURLWithPath: ThisBinary.path).deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("vendor/regopy/regopy/librego_shared.so").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        throw PolicyError(
            "local Rego policies need rego-cpp's librego_shared.so, which was not found in ../lib beside this binary "
            + "nor in a vendor/regopy folder above it: run scripts/setup, or name the file with --rego-library")
    }

    init(path: String) throws {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw PolicyError("could not load rego-cpp from \(path): \(String(cString: dlerror()))")
        }
        func symbol<T>(_ name: String, as _: T.Type) throws -> T {
            guard let pointer = dlsym(handle, name) else {
                throw PolicyError("\(path) is not rego-cpp's C library: it lacks \(name)")
            }
            return unsafeBitCast(pointer, to: T.self)
        }
        newInterpreterLoud = try symbol("regoNew", as: (@convention(c) () -> Handle?).self)
        setLogLevel = try symbol("regoSetLogLevel", as: (@convention(c) (Handle?, UInt32) -> UInt32).self)
        freeInterpreter = try symbol("regoFree", as: (@convention(c) (Handle?) -> Void).self)
        addModule = try symbol("regoAddModule", as: (@convention(c) (Handle?, UnsafePointer<CChar>, UnsafePointer<CChar>) -> UInt32).self)
        setQuery = try symbol("regoSetQuery", as: (@convention(c) (Handle?, UnsafePointer<CChar>) -> UInt32).self)
        build = try symbol("regoBuild", as: (@convention(c) (Handle?) -> Handle?).self)
        bundleOK = try symbol("regoBundleOk", as: (@convention(c) (Handle?) -> Bool).self)
        freeBundle = try symbol("regoFreeBundle", as: (@convention(c) (Handle?) -> Void).self)
        setInputTerm = try symbol("regoSetInputTerm", as: (@convention(c) (Handle?, UnsafePointer<CChar>) -> UInt32).self)
        bundleQuery = try symbol("regoBundleQuery", as: (@convention(c) (Handle?, Handle?) -> Handle?).self)
        outputJSONSize = try symbol("regoOutputJSONSize", as: (@convention(c) (Handle?) -> UInt32).self)
        outputJSON = try symbol("regoOutputJSON", as: (@convention(c) (Handle?, UnsafeMutablePointer<CChar>, UInt32) -> UInt32).self)
        freeOutput = try symbol("regoFreeOutput", as: (@convention(c) (Handle?) -> Void).self)
        errorSize = try symbol("regoErrorSize", as: (@convention(c) (Handle?) -> UInt32).self)
        error = try symbol("regoError", as: (@convention(c) (Handle?, UnsafeMutablePointer<CChar>, UInt32) -> UInt32).self)
        newInput = try symbol("regoNewInput", as: (@convention(c) () -> Handle?).self)
        freeInput = try symbol("regoFreeInput", as: (@convention(c) (Handle?) -> Void).self)
        setInput = try symbol("regoSetInput", as: (@convention(c) (Handle?, Handle?) -> UInt32).self)
        inputInt = try symbol("regoInputInt", as: (@convention(c) (Handle?, Int64) -> UInt32).self)
        inputFloat = try symbol("regoInputFloat", as: (@convention(c) (Handle?, Double) -> UInt32).self)
        inputString = try symbol("regoInputString", as: (@convention(c) (Handle?, UnsafePointer<CChar>) -> UInt32).self)
        inputBoolean = try symbol("regoInputBoolean", as: (@convention(c) (Handle?, Bool) -> UInt32).self)
        inputNull = try symbol("regoInputNull", as: (@convention(c) (Handle?) -> UInt32).self)
        inputObjectItem = try symbol("regoInputObjectItem", as: (@convention(c) (Handle?) -> UInt32).self)
        inputObject = try symbol("regoInputObject", as: (@convention(c) (Handle?, UInt32) -> UInt32).self)
        inputArray = try symbol("regoInputArray", as: (@convention(c) (Handle?, UInt32) -> UInt32).self)
    }

    /// A new interpreter that keeps quiet: rego-cpp prints compile errors to stdout unless its
    /// interpreter's log level is 0 (none), and stdout is where stdio clients read JSON-RPC.
    /// Errors are read with regoError instead.
    func newInterpreter() -> Handle? {
        guard let interpreter = newInterpreterLoud() else { return nil }
        _ = setLogLevel(interpreter, 0)
        return interpreter
    }

    /// The interpreter's last error message.
    func lastError(_ interpreter: Handle?) -> String {
        readString(size: errorSize(interpreter)) { error(interpreter, $0, $1) }
    }

    /// The output's JSON text ("undefined" when the query has no value).
    func outputText(_ output: Handle?) -> String {
        readString(size: outputJSONSize(output)) { outputJSON(output, $0, $1) }
    }

    private func readString(size: UInt32, _ fill: (UnsafeMutablePointer<CChar>, UInt32) -> UInt32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(size) + 1)
        guard fill(&buffer, UInt32(buffer.count)) == Self.ok else { return "" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
