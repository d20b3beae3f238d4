import Foundation

/// This binary's real path: started again in the worker role, and where bundled plugins and
/// the vendored rego-cpp are looked for.
enum ThisBinary {
    static let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? CommandLine.arguments[0]

    /// A release bundle's `lib/` (`make dist`): `../lib` beside this binary, which is in `bin/`.
    static var bundleLibraryFolder: URL {
        URL(fileURLWithPath: path).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("lib")
    }

    /// Where bundled plugins are looked for, in order: this binary's folder (a build), then a bundle's `lib/`.
    static var libraryFolders: [URL] {
        [URL(fileURLWithPath: path).deletingLastPathComponent(), bundleLibraryFolder]
    }
}
