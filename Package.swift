// swift-tools-version:6.2
import PackageDescription

/// Settings every target of ours shares.
///
/// - `ExistentialAny` (SE-0335, https://github.com/swiftlang/swift-evolution/blob/main/proposals/0335-existential-any.md):
///   existential types are spelled `any P`, so the cost of an existential is visible where it is paid.
/// - `MemberImportVisibility` (SE-0444, https://github.com/swiftlang/swift-evolution/blob/main/proposals/0444-member-import-visibility.md):
///   a file sees members only from modules it imports itself.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// Linux only: the stages and the core call Linux system interfaces directly (Glibc, copy_file_range, FICLONE,
// SEEK_DATA/SEEK_HOLE, O_NOFOLLOW|O_NONBLOCK opens, flock), so no other platform is declared.
let package = Package(
    name: "MediaIngest",
    products: [
        .executable(name: "ingest", targets: ["ingest"]),
        .executable(name: "wix-media-emulator", targets: ["wix-media-emulator"]),
        .library(name: "MediaIngest", targets: ["MediaIngest"]),
        .library(name: "MediaFormats", targets: ["MediaFormats"]),
        .library(name: "IngestStages", targets: ["IngestStages"]),
        .library(name: "WixStages", targets: ["WixStages"]),
        .library(name: "RemoteStages", targets: ["RemoteStages"]),
        .library(name: "IngestCLI", targets: ["IngestCLI"]),
        .library(name: "PipelineTesting", targets: ["PipelineTesting"]),
        .library(name: "IngestState", targets: ["IngestState"]),
        .library(name: "IngestWatch", targets: ["IngestWatch"]),
        .library(name: "WixMedia", targets: ["WixMedia"]),
        .library(name: "WixMediaEmulator", targets: ["WixMediaEmulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        // `swift package generate-documentation`: the DocC catalog in Sources/MediaIngest/MediaIngest.docc (CI builds it).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // MARK: C libraries
        .systemLibrary(
            name: "CMagic",
            pkgConfig: "libmagic",
            providers: [.apt(["libmagic-dev"])]
        ),
        .systemLibrary(
            name: "CExif",
            pkgConfig: "libexif",
            providers: [.apt(["libexif-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),

        // Linux system calls behind static inline wrappers (copy_file_range, the FICLONE ioctl).
        .target(name: "CLinux"),

        // MARK: Core (no NIO, no system C libraries)
        .target(
            name: "MediaIngest",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"), "MediaFormats",
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "MediaFormats", dependencies: ["CLinux"], swiftSettings: swiftSettings),

        // MARK: Built-in stages and their clients
        .target(
            name: "WixMedia",
            dependencies: [
                "MediaIngest",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The stages that need no target service: sources, detection, stripping, validation, the library, exec,
        // archive, manifest, webhooks.
        .target(
            name: "IngestStages",
            dependencies: [
                "MediaIngest", "MediaFormats", "CMagic", "CExif", "CZlib", "CLinux",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Wix stages (`upload.wix`, `wix.await-ready`), their connection, target index, events and doctor check: a
        // package that uses neither links none of WixMedia, Hummingbird or the Wix client.
        .target(
            name: "WixStages",
            dependencies: [
                "MediaIngest", "MediaFormats", "IngestStages", "WixMedia",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RemoteStages",
            dependencies: [
                "MediaIngest", "IngestStages",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IngestState",
            dependencies: [
                "MediaIngest",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The shared state of several hosts: a PostgreSQL ledger with claims under leases, the queue, the request budget.
        .target(
            name: "IngestPostgres",
            dependencies: [
                "MediaIngest", "IngestState",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CustomStages",
            dependencies: ["MediaIngest", "IngestStages", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IngestWatch",
            dependencies: [
                "MediaIngest", "MediaFormats", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "IngestCLI",
            dependencies: [
                "MediaIngest", "IngestStages", "WixStages", "RemoteStages", "IngestState", "IngestWatch",
                "IngestPostgres", "CLinux",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PipelineTesting",
            dependencies: ["MediaIngest", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ingest",
            dependencies: ["IngestCLI", "CustomStages"],
            swiftSettings: swiftSettings
        ),

        // MARK: Wix Media Manager emulator
        .target(
            name: "WixMediaEmulator",
            dependencies: [
                "MediaFormats", "MediaIngest",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "wix-media-emulator",
            dependencies: [
                "WixMediaEmulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Package plugins (Plugins/): `swift package new-stage NAME`, `swift package check-pipelines`
        .plugin(
            name: "NewStage",
            capability: .command(
                intent: .custom(
                    verb: "new-stage",
                    description: "Scaffold a custom stage in Sources/CustomStages, register it and add a test."),
                permissions: [
                    .writeToPackageDirectory(
                        reason:
                            "writes Sources/CustomStages/NAMEStage.swift and Tests/CustomStagesTests/NAMEStageTests.swift and registers the stage"
                    )
                ]
            ),
            path: "Plugins/NewStage"
        ),
        .plugin(
            name: "CheckPipelines",
            capability: .command(
                intent: .custom(
                    verb: "check-pipelines",
                    description: "Build ingest and run `ingest check` on every pipeline in pipelines/.")
            ),
            path: "Plugins/CheckPipelines"
        ),

        // MARK: Fuzzing (see `make fuzz`); a plain build replays inputs through the parsers
        .executableTarget(
            name: "fuzz-media-formats",
            dependencies: ["MediaFormats"],
            path: "Fuzz/FuzzMediaFormats",
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "IngestWatchTests",
            dependencies: [
                "IngestWatch", "IngestStages", "IngestState", "MediaIngest", "PipelineTesting", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MediaIngestTests",
            dependencies: ["MediaIngest", "MediaFormats", "PipelineTesting", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IngestCLITests",
            dependencies: ["TestSupport", "WixMediaEmulator"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MediaFormatsTests",
            dependencies: ["MediaFormats", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IngestStagesTests",
            dependencies: [
                "IngestStages", "WixStages", "MediaIngest", "MediaFormats", "PipelineTesting", "TestSupport",
                "WixMedia",
                "WixMediaEmulator",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CustomStagesTests",
            dependencies: ["CustomStages", "IngestStages", "MediaIngest", "PipelineTesting", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IngestStateTests",
            dependencies: [
                "IngestState", "IngestStages", "WixStages", "MediaIngest", "PipelineTesting", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IngestPostgresTests",
            dependencies: [
                "IngestPostgres", "IngestState", "IngestStages", "WixStages", "MediaIngest", "PipelineTesting",
                "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WixMediaTests",
            dependencies: [
                "WixMedia", "WixMediaEmulator", "MediaIngest", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WixMediaEmulatorTests",
            dependencies: [
                "WixMediaEmulator", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
