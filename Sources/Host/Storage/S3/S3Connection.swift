import Foundation

/// The keys requests are signed with. Its description never shows the secret or the token.
public struct S3Credentials: Sendable, Equatable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public var description: String { "access key \(accessKeyID)" }
}

public struct S3ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String
}

/// Where and as whom the S3 heap store connects, read from the environment and the shared files
/// the way the AWS SDKs read them (docs/storage.md lists the variables and the order).
public struct S3Connection: Sendable, Equatable {
    public var credentials: S3Credentials
    public var region: String
    /// A custom endpoint (an S3-compatible server); nil for AWS's own, https://s3.<region>.amazonaws.com.
    public var endpoint: URL?
    /// Path-style addressing (`<endpoint>/<bucket>/<key>`) instead of a virtual host per bucket.
    public var pathStyle: Bool

    /// The region when nothing names one: the one every S3-compatible server accepts.
    static let defaultRegion = "us-east-1"

    /// Reads the connection from `environment` and the shared files. `readFile` returns a file's
    /// text, or nil when it does not exist.
    public static func resolve(environment: [String: String],
                               readFile: (String) -> String? = { try? String(contentsOfFile: $0, encoding: .utf8) })
        throws(S3ConfigurationError) -> S3Connection {
        func variable(_ name: String) -> String? {
            environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        let home = variable("HOME") ?? NSHomeDirectory()
        let profileName = variable("AWS_PROFILE") ?? "default"
        let credentialsPath = variable("AWS_SHARED_CREDENTIALS_FILE") ?? "\(home)/.aws/credentials"
        let configPath = variable("AWS_CONFIG_FILE") ?? "\(home)/.aws/config"
        let credentialsFile = readFile(credentialsPath).map(AWSConfigFile.init(parsing:))
        let configFile = readFile(configPath).map(AWSConfigFile.init(parsing:))
        let fromCredentials = credentialsFile?.profile(profileName, isConfigFile: false)
        let fromConfig = configFile?.profile(profileName, isConfigFile: true)
        if variable("AWS_PROFILE") != nil && fromCredentials == nil && fromConfig == nil {
            throw S3ConfigurationError(description: "AWS_PROFILE names the profile '\(profileName)', which neither "
                + "\(credentialsPath) nor \(configPath) has")
        }

        let credentials: S3Credentials
        if let keyID = variable("AWS_ACCESS_KEY_ID"), let secret = variable("AWS_SECRET_ACCESS_KEY") {
            credentials = S3Credentials(accessKeyID: keyID, secretAccessKey: secret,
                                        sessionToken: variable("AWS_SESSION_TOKEN"))
        } else if let profile = [fromCredentials, fromConfig].compactMap({ $0 }).first(where: {
            $0["aws_access_key_id"] != nil && $0["aws_secret_access_key"] != nil
        }), let keyID = profile["aws_access_key_id"], let secret = profile["aws_secret_access_key"] {
            credentials = S3Credentials(accessKeyID: keyID, secretAccessKey: secret,
                                        sessionToken: profile["aws_session_token"])
        } else {
            throw S3ConfigurationError(description: "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                + "or give the profile '\(profileName)' aws_access_key_id and aws_secret_access_key in \(credentialsPath)")
        }

        let region = variable("AWS_REGION") ?? variable("AWS_DEFAULT_REGION") ?? fromConfig?["region"] ?? defaultRegion
        guard !region.isEmpty, region.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") }) else {
            throw S3ConfigurationError(description: "the AWS region is letters, digits and '-', such as us-east-1; got '\(region)'")
        }
        var endpoint: URL?
        if let text = variable("AWS_ENDPOINT_URL_S3") ?? variable("AWS_ENDPOINT_URL") ?? fromConfig?["endpoint_url"] {
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
                  let host = url.host, !host.isEmpty, url.query == nil else {
                throw S3ConfigurationError(description: "the S3 endpoint must be an http:// or https:// URL without a query; got '\(text)'")
            }
            endpoint = url
        }
        let forced = (variable("AWS_S3_FORCE_PATH_STYLE") ?? "").lowercased() == "true"
            || fromConfig?["s3.addressing_style"] == "path"
        let pathStyle = forced || endpoint.map { isLocalOrAddress($0.host ?? "") } ?? false
        return S3Connection(credentials: credentials, region: region, endpoint: endpoint, pathStyle: pathStyle)
    }

    /// An IP address or localhost cannot carry a bucket as a subdomain, so those endpoints get
    /// path-style addressing without being told.
    static func isLocalOrAddress(_ host: String) -> Bool {
        let host = host.lowercased()
        if host == "localhost" || host.hasSuffix(".localhost") || host.contains(":") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}

private func isAlphanumeric(_ byte: UInt8) -> Bool {
    (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
}
