import Foundation
import PostgresNIO

/// Where the PostgreSQL metadata store is: `--database-url
/// postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require|verify-full]`.
/// Its `description` never shows the password, so it can name the database in messages and logs.
public struct PostgresURL: Sendable, CustomStringConvertible {
    /// As libpq reads `sslmode`: `prefer` (the default) uses TLS when the server offers it,
    /// `require` insists on it, and neither checks the certificate; `verify-full` insists and
    /// checks the certificate and the host name against the system's trusted roots.
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public let host: String
    public let port: Int
    public let username: String
    public let password: String?
    public let database: String
    public let sslMode: SSLMode

    public init(_ text: String) throws(PostgresURLError) {
        let form = "postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require|verify-full]"
        guard let components = URLComponents(string: text), let scheme = components.scheme,
              ["postgres", "postgresql"].contains(scheme.lowercased()) else {
            throw PostgresURLError("--database-url must have the form \(form)")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresURLError("--database-url names no host; the form is \(form)")
        }
        guard let user = components.user, !user.isEmpty else {
            throw PostgresURLError("--database-url names no user; the form is \(form)")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresURLError("--database-url names no database (the path after the host); the form is \(form)")
        }
        var sslMode = SSLMode.prefer
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else {
                throw PostgresURLError("--database-url: unknown parameter '\(item.name.prefix(40))'; only sslmode is read")
            }
            guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                throw PostgresURLError("--database-url: sslmode '\((item.value ?? "").prefix(40))' is not one of "
                    + SSLMode.allCases.map(\.rawValue).joined(separator: ", "))
            }
            sslMode = mode
        }
        self.host = host
        port = components.port ?? 5432
        username = components.percentEncodedUser?.removingPercentEncoding ?? user
        password = components.percentEncodedPassword?.removingPercentEncoding
        self.database = database.removingPercentEncoding ?? database
        self.sslMode = sslMode
    }

    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database)?sslmode=\(sslMode.rawValue)"
    }

    private var tlsConfiguration: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if sslMode != .verifyFull { configuration.certificateVerification = .none }
        return configuration
    }

    /// The pool's configuration: connections are made as they are needed and again after a restart.
    func clientConfiguration(connectTimeout: Duration) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = switch sslMode {
        case .disable: .disable
        case .prefer: .prefer(tlsConfiguration)
        case .require, .verifyFull: .require(tlsConfiguration)
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password,
                                                         database: database, tls: tls)
        configuration.options.connectTimeout = connectTimeout
        return configuration
    }

    /// One connection's configuration (the migrations', which holds the advisory lock).
    func connectionConfiguration(connectTimeout: Duration) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS = switch sslMode {
        case .disable: .disable
        case .prefer: .prefer(try NIOSSLContext(configuration: tlsConfiguration))
        case .require, .verifyFull: .require(try NIOSSLContext(configuration: tlsConfiguration))
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: username,
                                                             password: password, database: database, tls: tls)
        configuration.options.connectTimeout = TimeAmount(connectTimeout)
        return configuration
    }
}

public struct PostgresURLError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
