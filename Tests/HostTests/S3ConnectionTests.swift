@testable import Host
import Foundation
import XCTest

/// The pure parts of the S3 heap store: reading the AWS environment and files, addressing, the
/// URI encoding SigV4 signs, and the retry schedule.
final class S3ConnectionTests: XCTestCase {
    private let keys = ["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET", "HOME": "/home/u"]

    private func resolve(_ environment: [String: String], files: [String: String] = [:]) throws -> S3Connection {
        try S3Connection.resolve(environment: environment, readFile: { files[$0] })
    }

    func testEnvironmentVariablesComeFirst() throws {
        let files = ["/home/u/.aws/credentials": "[default]\naws_access_key_id = FILE\naws_secret_access_key = FILESECRET\n",
                     "/home/u/.aws/config": "[default]\nregion = eu-west-1\n"]
        var environment = keys
        environment["AWS_SESSION_TOKEN"] = "TOKEN"
        environment["AWS_DEFAULT_REGION"] = "eu-central-1"
        let connection = try resolve(environment, files: files)
        XCTAssertEqual(connection.credentials, S3Credentials(accessKeyID: "AKID", secretAccessKey: "SECRET", sessionToken: "TOKEN"))
        XCTAssertEqual(connection.region, "eu-central-1")
        environment["AWS_REGION"] = "ap-south-1"
        XCTAssertEqual(try resolve(environment, files: files).region, "ap-south-1")
        XCTAssertNil(connection.endpoint)
        XCTAssertFalse(connection.pathStyle)
        XCTAssertFalse("\(connection.credentials)".contains("SECRET"), "the description never shows the secret")
    }

    func testProfilesFromTheSharedFiles() throws {
        let credentials = """
            # comment
            [default]
            aws_access_key_id = DEFAULTID
            aws_secret_access_key = DEFAULTSECRET

            [dev]
            aws_access_key_id=DEVID
            aws_secret_access_key = dev=secret
            aws_session_token = DEVTOKEN
            """
        let config = """
            [default]
            region = us-west-2
            [profile dev]
            region = eu-north-1
            endpoint_url = http://storage.internal:9000
            s3 =
              addressing_style = path
            """
        let files = ["/home/u/.aws/credentials": credentials, "/home/u/.aws/config": config]
        let plain = try resolve(["HOME": "/home/u"], files: files)
        XCTAssertEqual(plain.credentials.accessKeyID, "DEFAULTID")
        XCTAssertEqual(plain.region, "us-west-2")
        XCTAssertFalse(plain.pathStyle)
        let dev = try resolve(["HOME": "/home/u", "AWS_PROFILE": "dev"], files: files)
        XCTAssertEqual(dev.credentials, S3Credentials(accessKeyID: "DEVID", secretAccessKey: "dev=secret", sessionToken: "DEVTOKEN"))
        XCTAssertEqual(dev.region, "eu-north-1")
        XCTAssertEqual(dev.endpoint?.absoluteString, "http://storage.internal:9000")
        XCTAssertTrue(dev.pathStyle, "s3 = / addressing_style = path")
        // Other file locations, and credentials kept in the config file.
        let moved = try resolve(["HOME": "/home/u", "AWS_SHARED_CREDENTIALS_FILE": "/etc/c", "AWS_CONFIG_FILE": "/etc/k"],
                                files: ["/etc/k": "[default]\naws_access_key_id = K\naws_secret_access_key = S\n"])
        XCTAssertEqual(moved.credentials.accessKeyID, "K")
        XCTAssertEqual(moved.region, S3Connection.defaultRegion)
    }

    func testMissingCredentialsAndProfilesAreNamed() {
        XCTAssertThrowsError(try resolve(["HOME": "/home/u", "AWS_ACCESS_KEY_ID": "only-the-id"])) { error in
            XCTAssertTrue("\(error)".contains("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"), "\(error)")
            XCTAssertTrue("\(error)".contains("/home/u/.aws/credentials"), "\(error)")
        }
        XCTAssertThrowsError(try resolve(keys.merging(["AWS_PROFILE": "ghost"]) { $1 })) { error in
            XCTAssertTrue("\(error)".contains("AWS_PROFILE names the profile 'ghost'"), "\(error)")
        }
        XCTAssertThrowsError(try resolve(keys.merging(["AWS_ENDPOINT_URL": "ftp://x"]) { $1 })) { error in
            XCTAssertTrue("\(error)".contains("http:// or https:// URL"), "\(error)")
        }
        XCTAssertThrowsError(try resolve(keys.merging(["AWS_REGION": "us east"]) { $1 })) { error in
            XCTAssertTrue("\(error)".contains("letters, digits and '-'"), "\(error)")
        }
    }

    func testCustomEndpointsAndPathStyle() throws {
        let local = try resolve(keys.merging(["AWS_ENDPOINT_URL": "http://127.0.0.1:8333",
                                              "AWS_ENDPOINT_URL_S3": "http://localhost:9000/"]) { $1 })
        XCTAssertEqual(local.endpoint?.absoluteString, "http://localhost:9000/", "the S3 one wins")
        XCTAssertTrue(local.pathStyle)
        for host in ["127.0.0.1", "localhost", "[::1]", "10.1.2.3"] {
            XCTAssertTrue(try resolve(keys.merging(["AWS_ENDPOINT_URL": "http://\(host):1"]) { $1 }).pathStyle, host)
        }
        let named = try resolve(keys.merging(["AWS_ENDPOINT_URL": "https://minio.example.com"]) { $1 })
        XCTAssertFalse(named.pathStyle)
        XCTAssertTrue(try resolve(keys.merging(["AWS_ENDPOINT_URL": "https://minio.example.com",
                                                "AWS_S3_FORCE_PATH_STYLE": "true"]) { $1 }).pathStyle)
    }

    func testURLsAndKeyEncoding() throws {
        let aws = try resolve(keys.merging(["AWS_REGION": "eu-west-1"]) { $1 })
        XCTAssertEqual(S3Addressing(bucket: "heaps", connection: aws).objectURL("p/ab"),
                       "https://heaps.s3.eu-west-1.amazonaws.com/p/ab")
        var forced = aws
        forced.pathStyle = true
        XCTAssertEqual(S3Addressing(bucket: "heaps", connection: forced).objectURL("k"),
                       "https://s3.eu-west-1.amazonaws.com/heaps/k")
        let local = try resolve(keys.merging(["AWS_ENDPOINT_URL": "http://127.0.0.1:8333/base/"]) { $1 })
        let addressing = S3Addressing(bucket: "heaps", connection: local)
        XCTAssertEqual(addressing.objectURL("team a/h+é~_.-"), "http://127.0.0.1:8333/base/heaps/team%20a/h%2B%C3%A9~_.-")
        XCTAssertEqual(addressing.bucketURL(query: [("prefix", "a/b c"), ("list-type", "2"), ("continuation-token", "x=y+")]),
                       "http://127.0.0.1:8333/base/heaps/?continuation-token=x%3Dy%2B&list-type=2&prefix=a%2Fb%20c",
                       "sorted by name, every value encoded, '/' included")
        let named = try resolve(keys.merging(["AWS_ENDPOINT_URL": "https://store.example.com:9000"]) { $1 })
        XCTAssertEqual(S3Addressing(bucket: "heaps", connection: named).objectURL("k"), "https://heaps.store.example.com:9000/k")
    }

    func testBucketNamesAndPrefixesAreChecked() {
        for name in ["heaps", "my.heaps-1", "abc"] { XCTAssertNoThrow(try S3Addressing.checkBucketName(name), name) }
        for name in ["ab", "Heaps", "-heaps", "heaps-", "he_aps", "a/b", String(repeating: "a", count: 64)] {
            XCTAssertThrowsError(try S3Addressing.checkBucketName(name), name)
        }
        for prefix in ["", "heaps/", "team a/x-"] { XCTAssertNoThrow(try S3Addressing.checkPrefix(prefix), prefix) }
        for prefix in ["../x", "a/./b", "a/..", "line\nbreak"] { XCTAssertThrowsError(try S3Addressing.checkPrefix(prefix), prefix) }
    }

    func testRetriesBackOffAndStop() {
        let policy = S3RetryPolicy()
        let fail = S3RetryPolicy.Outcome.transportError
        XCTAssertEqual((1...4).map { policy.delay(after: $0, outcome: fail, elapsed: .zero, jitter: 1) },
                       [.milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600)])
        XCTAssertNil(policy.delay(after: 5, outcome: fail, elapsed: .zero, jitter: 1), "at most 5 attempts")
        var patient = policy
        patient.maxAttempts = 10
        XCTAssertEqual(patient.delay(after: 7, outcome: fail, elapsed: .zero, jitter: 1), .seconds(3), "capped")
        XCTAssertEqual(policy.delay(after: 1, outcome: fail, elapsed: .zero, jitter: 0.5), .milliseconds(100))
        XCTAssertNil(policy.delay(after: 1, outcome: fail, elapsed: .seconds(55), jitter: 1), "past the time budget")
        for status in [500, 502, 503, 504, 429] {
            XCTAssertNotNil(policy.delay(after: 1, outcome: .status(status), elapsed: .zero, jitter: 1), "\(status)")
        }
        for status in [200, 204, 400, 403, 404, 409] {
            XCTAssertNil(policy.delay(after: 1, outcome: .status(status), elapsed: .zero, jitter: 1), "\(status)")
        }
    }

    func testErrorDocumentsShowOnlyCodeAndMessage() {
        let body = Data("""
            <Error><Code>SignatureDoesNotMatch</Code><Message>no match</Message><AWSAccessKeyId>AKID</AWSAccessKeyId>\
            <StringToSign>secret-ish</StringToSign></Error>
            """.utf8)
        XCTAssertEqual(S3Client.errorSummary(body), "(SignatureDoesNotMatch: no match)")
        XCTAssertEqual(S3Client.errorSummary(Data()), "")
    }
}
