import Foundation
@testable import Host
import Logging
import PostgresNIO

/// A real PostgreSQL server for the tests (Debian's `postgresql`, installed by scripts/setup):
/// started on first use, once per test process, in a temporary folder on a free loopback port, and
/// stopped when the process exits. `initdb` refuses to run as root, so as root the server's
/// programs run as the `postgres` user. Each caller gets a database of its own (`makeDatabase`).
actor TestPostgres {
    static let shared = TestPostgres()
    static let password = "mcpv8 test password"

    private var server: (port: Int, folder: URL)?
    private var databases = 0

    /// A new, empty database and the URL to reach it (sslmode=disable: the test server has no certificate).
    func makeDatabase() async throws -> PostgresURL {
        let port = try await start()
        databases += 1
        let name = "test_\(getpid())_\(databases)"
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: "127.0.0.1", port: port, username: "postgres", password: Self.password,
                                 database: "postgres", tls: .disable),
            id: 0, logger: Logger(label: "test-postgres"))
        defer { Task { try? await connection.close() } }
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Logger(label: "test-postgres"))
        return try url(database: name, port: port)
    }

    func url(database: String, port: Int, password: String = TestPostgres.password) throws -> PostgresURL {
        let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password
        return try PostgresURL("postgres://postgres:\(encoded)@127.0.0.1:\(port)/\(database)?sslmode=disable")
    }

    /// The port of the server, starting it on first use.
    func start() async throws -> Int {
        if let server { return server.port }
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("mcp-v8-postgres-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let passwordFile = folder.appendingPathComponent("password")
        try Self.password.write(to: passwordFile, atomically: true, encoding: .utf8)
        if getuid() == 0 { try run(["chown", "-R", "postgres:postgres", folder.path]) }
        try run(asServer: "initdb", ["-D", folder.appendingPathComponent("data").path, "-U", "postgres",
                                     "--pwfile=\(passwordFile.path)", "--auth-local=trust", "--auth-host=scram-sha-256",
                                     "-E", "UTF8", "--locale=C"])
        let port = try Self.freePort()
        server = (port, folder)
        stoppedAtExit = (folder, Self.programs)
        atexit { TestPostgres.stopAtExit() }
        try resume()
        return port
    }

    /// Stops the server at once (as a crash would); `resume` starts it again on the same port and data.
    func kill() throws {
        guard let server else { return }
        try run(asServer: "pg_ctl", ["-D", server.folder.appendingPathComponent("data").path, "-m", "immediate", "-w", "stop"])
    }

    func resume() throws {
        guard let server else { return }
        // fsync off: the tests' data need not survive a power cut (a crashed server, as `kill` makes, loses nothing).
        try run(asServer: "pg_ctl", [
            "-D", server.folder.appendingPathComponent("data").path, "-l", server.folder.appendingPathComponent("log").path,
            "-w", "-o", "-p \(server.port) -c listen_addresses=127.0.0.1 -k \(server.folder.path) -c fsync=off "
                + "-c full_page_writes=off", "start"])
    }

    /// The server's programs, of the newest PostgreSQL installed.
    static let programs: URL? = {
        let root = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return versions.compactMap(Int.init).max().map { root.appendingPathComponent("\($0)/bin") }
    }()

    private func run(asServer program: String, _ arguments: [String]) throws {
        guard let programs = Self.programs else {
            throw TestPostgresError("PostgreSQL is not installed (/usr/lib/postgresql/*/bin); scripts/setup installs it")
        }
        let path = programs.appendingPathComponent(program).path
        try run(getuid() == 0 ? ["runuser", "-u", "postgres", "--", path] + arguments : [path] + arguments)
    }

    private func run(_ command: [String]) throws {
        try Self.run(command)
    }

    /// Runs `command` and waits for it, its output into a file. Not with Foundation's Process: the
    /// server pg_ctl starts inherits the descriptor Process watches for the child's end, so
    /// waiting for pg_ctl never ended.
    static func run(_ command: [String]) throws {
        let log = NSTemporaryDirectory() + "mcp-v8-postgres-\(UUID()).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let arguments = (["/usr/bin/env"] + command).map { strdup($0) } + [nil]
        defer { arguments.forEach { free($0) } }
        var pid = pid_t()
        guard posix_spawn(&pid, "/usr/bin/env", &actions, nil, arguments, environ) == 0 else {
            throw TestPostgresError("cannot start \(command[0])")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw TestPostgresError("\(command.joined(separator: " ")) failed: \(text)")
        }
    }

    /// A loopback port nothing listens on now.
    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(socket, address, length) == 0 && getsockname(socket, address, &length) == 0
            }
        }
        guard bound else { throw TestPostgresError("no free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Stops the server and removes its folder when the test process ends.
    static func stopAtExit() {
        guard let (folder, programs) = stoppedAtExit, let programs else { return }
        let pgctl = programs.appendingPathComponent("pg_ctl").path
        let stop = ["-D", folder.appendingPathComponent("data").path, "-m", "immediate", "-w", "stop"]
        try? run(getuid() == 0 ? ["runuser", "-u", "postgres", "--", pgctl] + stop : [pgctl] + stop)
        try? FileManager.default.removeItem(at: folder)
    }
}

/// What `atexit` needs to stop the server (its handler can capture nothing).
nonisolated(unsafe) private var stoppedAtExit: (URL, URL?)?

struct TestPostgresError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
