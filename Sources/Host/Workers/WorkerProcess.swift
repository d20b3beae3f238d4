import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A worker process as the host sees it: started with posix_spawn (never fork: V8's threads do
/// not survive a fork), fed requests on its fd 3, read from its fd 4 by a thread of its own.
final class WorkerProcess: @unchecked Sendable {
    let pid: pid_t
    private let requests: FrameWriter
    private let requestFD: Int32

    /// Starts `executable` in the worker role and sends it `configuration`, its first frame.
    /// `onEvent` runs on the reader thread for each event; `onExit` runs once, with a description
    /// of how the process ended, after its last event.
    init(executable: String, arguments: [String], configuration: WorkerCapabilities,
         onEvent: @escaping @Sendable (WorkerEvent) -> Void,
         onExit: @escaping @Sendable (String) -> Void) throws {
        let spawned = try WorkerRole.spawn(executable: executable, arguments: arguments)
        pid = spawned.pid
        requestFD = spawned.requestFD
        requests = FrameWriter(fd: spawned.requestFD)
        // The worker reads it before anything else; if it died at once, the send fails and the
        // reader below sees its exit.
        requests.send(WorkerRequest.configure(configuration))

        let spawnedPID = pid
        let eventRead = spawned.eventFD
        let reader = Thread {
            let events = FrameReader(fd: eventRead)
            while let event = events.receive(WorkerEvent.self) { onEvent(event) }
            Glibc.close(eventRead)
            // Reading stops at the end of the stream, or at a frame that cannot be read (one over
            // the frame limit): a worker left alive then would hang, unread, until its deadline.
            // Not yet reaped, the pid is still this worker's.
            _ = Glibc.kill(spawnedPID, SIGKILL)
            onExit(WorkerRole.waitForExit(spawnedPID).description)
        }
        reader.name = "mcp-v8 worker \(pid) reader"
        reader.start()
    }

    @discardableResult
    func send(_ request: WorkerRequest) -> Bool { requests.send(request) }

    func kill() { _ = Glibc.kill(pid, SIGKILL) }

    /// Closing the request pipe tells the worker to exit.
    func close() { Glibc.close(requestFD) }
}

/// This binary started again in the worker role, for the pool's workers and the plugin check.
enum WorkerRole {
    /// Starts `executable` with posix_spawn, its stdout going to the host's stderr, its fd 3
    /// reading `requestFD` and its fd 4 writing `eventFD`. Both returned ends are close-on-exec.
    static func spawn(executable: String, arguments: [String]) throws -> (pid: pid_t, requestFD: Int32, eventFD: Int32) {
        let (requestRead, requestWrite) = try makePipe()
        let (eventRead, eventWrite) = try makePipe()

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, 2, 1)
        posix_spawn_file_actions_adddup2(&actions, requestRead, WorkerMain.requestFD)
        posix_spawn_file_actions_adddup2(&actions, eventWrite, WorkerMain.eventFD)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // A worker V8 ends reports its reason over the event pipe; Swift's multi-page crash
        // backtrace would only flood the server's log.
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        Glibc.close(requestRead)
        Glibc.close(eventWrite)
        guard status == 0 else {
            Glibc.close(requestWrite)
            Glibc.close(eventRead)
            throw EngineError(description: "could not start a worker process: \(String(cString: strerror(status)))")
        }
        return (pid, requestWrite, eventRead)
    }

    /// How a process ended.
    struct Exit: CustomStringConvertible {
        /// The signal that killed it; nil when it exited.
        var signal: Int32?
        var description: String
    }

    /// Reaps `pid`.
    static func waitForExit(_ pid: pid_t) -> Exit {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return Exit(signal: nil, description: "exited (status unknown)") }
        }
        let terminationSignal = status & 0x7f
        if terminationSignal == 0 { return Exit(signal: nil, description: "exited with status \((status >> 8) & 0xff)") }
        let name = strsignal(terminationSignal).map { String(cString: $0) } ?? "signal"
        return Exit(signal: terminationSignal, description: "was killed by signal \(terminationSignal) (\(name))")
    }
}

/// A pipe whose ends are close-on-exec and numbered above the worker's fixed descriptors, so a
/// dup2 onto fd 3 or 4 in the child never meets an end that is already there.
private func makePipe() throws -> (read: Int32, write: Int32) {
    var fds: [Int32] = [0, 0]
    guard pipe(&fds) == 0 else {
        throw EngineError(description: "pipe failed: \(String(cString: strerror(errno)))")
    }
    let moved = fds.map { fd -> Int32 in
        let high = fcntl(fd, F_DUPFD_CLOEXEC, 10)
        Glibc.close(fd)
        return high
    }
    guard moved.allSatisfy({ $0 >= 0 }) else {
        throw EngineError(description: "fcntl(F_DUPFD_CLOEXEC) failed: \(String(cString: strerror(errno)))")
    }
    return (moved[0], moved[1])
}
