// swift-tools-version:6.1
import Foundation
import PackageDescription

/// libnode (V8) is unpacked by scripts/setup into vendor/libnode; MCPV8_LIBNODE overrides the prefix.
let packageDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
let libnodePrefix = ProcessInfo.processInfo.environment["MCPV8_LIBNODE"]
    ?? "\(packageDirectory)/vendor/libnode/usr"
let libnodeInclude = "\(libnodePrefix)/include/node"
let libnodeLib = "\(libnodePrefix)/lib/x86_64-linux-gnu"
/// acorn (Debian's node-acorn, unpacked by scripts/setup) parses ES-module code inside V8.
let acornDirectory = "\(packageDirectory)/vendor/acorn/usr/share/nodejs/acorn/dist"

let package = Package(
    name: "mcp-v8",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mcp-v8", targets: ["mcp-v8"]),
        // Capability plugins, loaded by the server from next to its binary (libmcpv8-<category>.so).
        .library(name: "mcpv8-fetch", type: .dynamic, targets: ["FetchPlugin"]),
        .library(name: "mcpv8-fs", type: .dynamic, targets: ["FSPlugin"]),
        .library(name: "mcpv8-subprocess", type: .dynamic, targets: ["SubprocessPlugin"]),
        .library(name: "mcpv8-modules", type: .dynamic, targets: ["ModulesPlugin"]),
        // The MCP bridge's file is named by its category, as every bundled plugin's: the server finds
        // it by that name and operators pass it to --plugin, so it is not called MCPBridge.
        .library(name: "mcpv8-mcp_tools", type: .dynamic, targets: ["MCPBridgePlugin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", exact: "0.12.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
    ],
    targets: [
        .target(
            name: "CV8",
            exclude: ["prelude"],
            cxxSettings: [
                // prelude/*.js and acorn.js are compiled into the binary with #embed.
                .unsafeFlags([
                    "-I", libnodeInclude, "--embed-dir=\(acornDirectory)",
                    "-fno-rtti", "-O2", "-Wno-c23-extensions",
                ]),
            ],
            linkerSettings: [
                .linkedLibrary("node"),
                // Heap snapshot envelopes: LZ4 (liblz4-dev) and SHA-256 from OpenSSL (libssl-dev).
                .linkedLibrary("lz4"),
                .linkedLibrary("crypto"),
                .unsafeFlags(["-L", libnodeLib, "-Xlinker", "-rpath", "-Xlinker", libnodeLib]),
            ]
        ),
        // The plugin ABI: one C header (include/mcpv8_capability.h) and a check of its layout.
        .target(name: "CapabilityABI"),
        // Descriptor I/O and the plain JSON writer, shared by the host and the MCP bridge.
        .target(
            name: "HostSupport",
            dependencies: [.product(name: "MCP", package: "swift-sdk")]),
        // One signed S3 request through libcurl (curl_easy_setopt is variadic, which Swift cannot call),
        // for the S3 heap store; SHA-256 of the bodies from OpenSSL's libcrypto.
        .target(name: "CS3Curl", linkerSettings: [.linkedLibrary("curl"), .linkedLibrary("crypto")]),
        // README and docs/*.md compiled in with #embed, for the docs:// resources.
        .target(name: "CDocs", cSettings: [.unsafeFlags(["--embed-dir=\(packageDirectory)", "-Wno-c23-extensions"])]),
        // The git commit of a release build, for --version: scripts/stamp-commit writes it into the git-ignored
        // .build/release-info, so committing does not make the tree dirty and debug builds say "unknown".
        .target(
            name: "CBuildInfo",
            cSettings: [
                .unsafeFlags(["-Wno-c23-extensions"]),
                .unsafeFlags(["--embed-dir=\(packageDirectory)/.build/release-info"], .when(configuration: .release)),
            ]),
        .target(
            name: "Host",
            dependencies: [
                "CV8",
                "CS3Curl",
                "CDocs",
                "CBuildInfo",
                "CapabilityABI",
                "HostSupport",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // Metadata in PostgreSQL (--database-url).
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // --config files in TOML.
                .product(name: "TOMLKit", package: "TOMLKit"),
                // The bridge's connections, for the host's runjs__<server>__<tool> tools.
                "MCPBridge",
            ]
        ),
        .executableTarget(name: "mcp-v8", dependencies: ["Host"]),
        // Plugins are plain C against CapabilityABI (plus cJSON, libcurl for fetch and modules, and
        // a few helpers of their own in PluginSupport); each embeds its JavaScript prelude with #embed.
        .target(
            name: "PluginSupport", dependencies: ["CapabilityABI"], path: "Plugins/Support",
            linkerSettings: [.linkedLibrary("curl"), .linkedLibrary("cjson")]),
        .target(
            name: "FetchPlugin", dependencies: ["CapabilityABI", "PluginSupport"], path: "Plugins/Fetch",
            exclude: ["fetch_prelude.js"], publicHeadersPath: ".",
            cSettings: [.unsafeFlags(["-Wno-c23-extensions"])],
            linkerSettings: [.linkedLibrary("curl"), .linkedLibrary("cjson")]),
        .target(
            name: "FSPlugin", dependencies: ["CapabilityABI", "PluginSupport"], path: "Plugins/FS",
            exclude: ["fs_prelude.js"], publicHeadersPath: ".",
            cSettings: [.unsafeFlags(["-Wno-c23-extensions"])],
            linkerSettings: [.linkedLibrary("cjson")]),
        .target(
            name: "SubprocessPlugin", dependencies: ["CapabilityABI", "PluginSupport"], path: "Plugins/Subprocess",
            exclude: ["subprocess_prelude.js"], publicHeadersPath: ".",
            cSettings: [.unsafeFlags(["-Wno-c23-extensions"])],
            linkerSettings: [.linkedLibrary("cjson")]),
        .target(
            name: "ModulesPlugin", dependencies: ["CapabilityABI", "PluginSupport"], path: "Plugins/Modules",
            exclude: ["modules_prelude.js"], publicHeadersPath: ".",
            cSettings: [.unsafeFlags(["-Wno-c23-extensions"])],
            // SHA-256 names the cache's files (OpenSSL's libcrypto, from libssl-dev).
            linkerSettings: [.linkedLibrary("curl"), .linkedLibrary("cjson"), .linkedLibrary("crypto")]),
        // The MCP bridge is Swift (swift-sdk's client), and every part of it is named MCPBridge*: the
        // MCPBridge module (Upstream/) holds the connections to the other MCP servers ("upstreams"),
        // used by the plugin in workers and by the host for its runjs__<server>__<tool> tools. What
        // users already name keeps its own name: the `mcp_tools` policy category, the plugin name
        // `mcp` (the guest global and the `mcp.` settings prefix) and the library file above.
        .target(name: "MCPBridgeSpawn", path: "Plugins/MCPBridge/Spawn"),
        .target(
            name: "MCPBridge",
            dependencies: [
                "HostSupport",
                "MCPBridgeSpawn",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Plugins/MCPBridge/Upstream"),
        .target(
            name: "MCPBridgePlugin", dependencies: ["CapabilityABI", "HostSupport", "MCPBridge"],
            path: "Plugins/MCPBridge/Plugin"),
        .testTarget(name: "CV8Tests", dependencies: ["CV8"]),
        .testTarget(
            name: "HostTests",
            dependencies: ["Host", .product(name: "PostgresNIO", package: "postgres-nio")]),
        .testTarget(name: "HostSupportTests", dependencies: ["HostSupport"]),
        .testTarget(name: "MCPBridgeTests", dependencies: ["MCPBridge"]),
        // The FS plugin's path resolution, called directly (Plugins/FS/fs_paths.h).
        .testTarget(name: "FSPluginTests", dependencies: ["FSPlugin"]),
        // The C helpers policy decisions rely on, called directly.
        .testTarget(name: "PluginSupportTests", dependencies: ["PluginSupport"]),
    ],
    cxxLanguageStandard: .cxx17
)
