import Foundation

/// This binary's real path: started again in the worker role, and where bundled plugins and
/// the vendored rego-cpp are looked for.
enum ThisBinary {
    static let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? CommandLine.arguments[0]
}
