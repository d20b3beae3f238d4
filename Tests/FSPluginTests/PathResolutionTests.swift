import FSPlugin
import Foundation
import XCTest

/// The promises of the FS plugin's path helpers (Plugins/FS/fs_paths.h), called directly: the
/// policy judges the path fs_resolve_path returns, and acting reaches only that path.
final class PathResolutionTests: XCTestCase {
    /// A fresh directory per test, by its resolved path.
    private var root = ""

    override func setUpWithError() throws {
        let made = FileManager.default.temporaryDirectory.appendingPathComponent("fs-paths-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: made, withIntermediateDirectories: false)
        root = try XCTUnwrap(Self.realPath(made.path))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    // ---- resolving ----------------------------------------------------------------------------

    func testDotAndDotDotAreRemovedAndMissingComponentsKeptAsWritten() {
        XCTAssertEqual(resolve("\(root)/a/./b/../c"), .resolved("\(root)/a/c"))
        XCTAssertEqual(resolve("\(root)/a/b/../../.."), .resolved((root as NSString).deletingLastPathComponent))
    }

    func testDotDotStopsAtTheRoot() {
        XCTAssertEqual(resolve("/.."), .resolved("/"))
        XCTAssertEqual(resolve("/"), .resolved("/"))
        XCTAssertEqual(resolve("/../../..\(root)/x"), .resolved("\(root)/x"))
    }

    func testRepeatedAndTrailingSlashesCollapse() {
        XCTAssertEqual(resolve("//\(root)///a//"), .resolved("\(root)/a"))
    }

    func testRelativeAndEmptyPathsAreTakenAgainstTheWorkingDirectory() throws {
        let directory = try XCTUnwrap(Self.realPath(FileManager.default.currentDirectoryPath))
        let prefix = directory == "/" ? "" : directory
        XCTAssertEqual(resolve("x/../y"), .resolved("\(prefix)/y"))
        // Empty resolves to the working directory, which is why the plugin refuses an empty path.
        XCTAssertEqual(resolve(""), .resolved(directory))
    }

    func testSymlinksLeavingAFolderResolveToWhereTheyLead() throws {
        try makeDirectories("inside", "outside/deep")
        try link("inside/absolute", to: "\(root)/outside")
        try link("inside/relative", to: "../outside")
        try link("inside/top", to: "/")
        XCTAssertEqual(resolve("\(root)/inside/absolute/secret"), .resolved("\(root)/outside/secret"))
        XCTAssertEqual(resolve("\(root)/inside/relative/secret"), .resolved("\(root)/outside/secret"))
        XCTAssertEqual(resolve("\(root)/inside/top/etc/passwd"), .resolved("/etc/passwd"))
    }

    func testDotDotAfterASymlinkClimbsFromItsTarget() throws {
        try makeDirectories("inside", "outside/deep")
        try link("inside/link", to: "\(root)/outside/deep")
        // Physical, as the kernel walks it: not back into inside/.
        XCTAssertEqual(resolve("\(root)/inside/link/../x"), .resolved("\(root)/outside/x"))
    }

    func testFinalSymlinkIsFollowedOnlyWhenAsked() throws {
        try makeDirectories("target")
        try link("link", to: "\(root)/target")
        XCTAssertEqual(resolve("\(root)/link", followFinal: true), .resolved("\(root)/target"))
        XCTAssertEqual(resolve("\(root)/link", followFinal: false), .resolved("\(root)/link"))
        XCTAssertEqual(resolve("\(root)/link/", followFinal: false), .resolved("\(root)/link"))
        // Only the final component is spared: one in the middle is always followed.
        XCTAssertEqual(resolve("\(root)/link/x", followFinal: false), .resolved("\(root)/target/x"))
    }

    func testSymlinkChainIsFollowedUpToTheHopLimitAndNoFurther() throws {
        let limit = Int(FS_MAX_SYMLINK_HOPS)
        XCTAssertEqual(limit, 40)
        try makeDirectories("target")
        // chain0 -> chain1 -> ... -> chain<limit> -> target: limit + 1 hops from chain0, limit from chain1.
        for index in 0...limit {
            try link("chain\(index)", to: index == limit ? "\(root)/target" : "chain\(index + 1)")
        }
        XCTAssertEqual(resolve("\(root)/chain1/file"), .resolved("\(root)/target/file"))
        let unresolved = resolve("\(root)/chain0/file")
        XCTAssertEqual(unresolved, .resolved("\(root)/chain\(limit)/file"))
        // Acting follows no symlink, so what stayed unresolved fails instead of going anywhere.
        XCTAssertEqual(openResolved("\(root)/chain\(limit)/file"), .failed(ENOTDIR))
    }

    func testSymlinkLoopStaysUnresolvedAndActingOnItFails() throws {
        try link("a", to: "b")
        try link("b", to: "a")
        guard case .resolved(let path) = resolve("\(root)/a/file") else { return XCTFail("a loop must not fail to resolve") }
        XCTAssertTrue(path.hasPrefix("\(root)/"), path)
        XCTAssertEqual(openResolved(path), .failed(ENOTDIR))
        XCTAssertEqual(openResolved("\(root)/a"), .failed(ELOOP))
    }

    func testResultLongerThanPathMaxFailsWithNameTooLong() {
        let long = root + String(repeating: "/abcdefg", count: Int(PATH_MAX) / 8)
        XCTAssertEqual(resolve(long), .failed(ENAMETOOLONG))
    }

    func testLongInputThatResolvesShortIsResolved() {
        let input = root + String(repeating: "/a/..", count: 2 * Int(PATH_MAX) / 5) + "/x"
        XCTAssertGreaterThan(input.utf8.count, Int(PATH_MAX))
        XCTAssertEqual(resolve(input), .resolved("\(root)/x"))
    }

    func testNulEndsThePath() {
        // The resolver reads a C string: what follows a NUL never counts (the prelude refuses
        // such paths before they reach the plugin, since they would name another file).
        XCTAssertEqual(resolve("\(root)/x\u{0}/../../etc/passwd"), .resolved("\(root)/x"))
    }

    // ---- acting without following symlinks ----------------------------------------------------

    func testActingReachesRealPathsAndRefusesEverySymlink() throws {
        try makeDirectories("real")
        XCTAssertTrue(FileManager.default.createFile(atPath: "\(root)/real/file", contents: Data("x".utf8)))
        try link("swapped", to: "\(root)/real")
        XCTAssertEqual(openResolved("\(root)/real/file"), .opened)
        // A symlink swapped in after the policy's decision: in the middle, and as the final component.
        XCTAssertEqual(openResolved("\(root)/swapped/file"), .failed(ENOTDIR))
        XCTAssertEqual(openResolved("\(root)/swapped"), .failed(ELOOP))
        var status = stat()
        XCTAssertEqual(fs_stat_resolved("\(root)/swapped", &status), 0)
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFLNK)
        XCTAssertEqual(fs_stat_resolved("\(root)/swapped/file", &status), ENOTDIR)
    }

    func testOpenParentCreatesMissingDirectoriesButNotThroughASymlink() throws {
        try makeDirectories("real")
        try link("swapped", to: "\(root)/real")
        XCTAssertEqual(openParent("\(root)/new/deeper/leaf", createMissing: true), .opened(lastName: "leaf"))
        var isDirectory: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(root)/new/deeper", isDirectory: &isDirectory))
        XCTAssertTrue(isDirectory.boolValue)

        XCTAssertEqual(openParent("\(root)/swapped/made/leaf", createMissing: true), .failed(ENOTDIR))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(root)/real/made"))
        XCTAssertEqual(openParent("/", createMissing: false), .opened(lastName: "."))
    }

    // ---- helpers ------------------------------------------------------------------------------

    private enum Resolution: Equatable {
        case resolved(String)
        case failed(Int32)
    }

    private enum Opening: Equatable {
        case opened
        case failed(Int32)
    }

    private enum ParentOpening: Equatable {
        case opened(lastName: String)
        case failed(Int32)
    }

    private func resolve(_ path: String, followFinal: Bool = true) -> Resolution {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        let failure = fs_resolve_path(path, followFinal, &buffer)
        return failure == 0 ? .resolved(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }) : .failed(failure)
    }

    private func openResolved(_ path: String) -> Opening {
        let file = fs_open_resolved(path, O_RDONLY, 0)
        guard file >= 0 else { return .failed(errno) }
        close(file)
        return .opened
    }

    private func openParent(_ path: String, createMissing: Bool) -> ParentOpening {
        path.withCString { path in
            var name: UnsafePointer<CChar>?
            let directory = fs_open_parent(path, &name, createMissing)
            guard directory >= 0 else { return .failed(errno) }
            close(directory)
            return .opened(lastName: name.map { String(cString: $0) } ?? "")
        }
    }

    private func makeDirectories(_ paths: String...) throws {
        for path in paths {
            try FileManager.default.createDirectory(atPath: "\(root)/\(path)", withIntermediateDirectories: true)
        }
    }

    private func link(_ path: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: "\(root)/\(path)", withDestinationPath: target)
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
