import CV8
import Foundation
import XCTest

/// Issue 16, item 3: processes that detach from their session are re-parented to a subreaper, and
/// cv8_kill_processes_of_runs kills them; the caller's children in its own session (its helpers,
/// as esbuild is a worker's) are left alone.
final class ContainmentTests: XCTestCase {
    func testDetachedProcessesAreKilledAndHelpersKept() throws {
        XCTAssertEqual(cv8_become_subreaper(), 0)
        let helper = try spawn("/usr/bin/sleep", ["4246.1"])
        let detacher = try spawn("/bin/sh", ["-c", "setsid -f sleep 4246.2; setsid sleep 4246.3 & sleep 4246.4 & exit"])
        var status: Int32 = 0
        XCTAssertEqual(waitpid(detacher, &status, 0), detacher)
        try waitFor { !processes(with: "4246.2").isEmpty && !processes(with: "4246.3").isEmpty }

        XCTAssertGreaterThanOrEqual(cv8_kill_processes_of_runs(), 2)
        XCTAssertEqual(processes(with: "4246.2") + processes(with: "4246.3"), [])
        // Left its parent's group but not its session: like a helper's child, it is not the sweep's.
        XCTAssertEqual(processes(with: "4246.4").count, 1)
        XCTAssertEqual(processes(with: "4246.1"), [helper])

        for pid in processes(with: "4246.4") + [helper] {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
        }
    }
}

/// A child of this process, in its session.
private func spawn(_ executable: String, _ arguments: [String]) throws -> pid_t {
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let status = posix_spawn(&pid, executable, nil, nil, argv, environ)
    guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EINVAL) }
    return pid
}

private func waitFor(_ condition: () -> Bool) throws {
    for _ in 0..<500 where !condition() { usleep(10_000) }
    XCTAssertTrue(condition())
}

/// Live processes with `argument` among their command-line arguments.
private func processes(with argument: String) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> pid_t? in
        guard let pid = pid_t(entry),
              let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
        let arguments = cmdline.split(separator: 0, omittingEmptySubsequences: false).dropFirst()
        return arguments.contains { String(decoding: $0, as: UTF8.self) == argument } ? pid : nil
    }
}
