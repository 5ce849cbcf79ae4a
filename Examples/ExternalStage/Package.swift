// swift-tools-version:6.2
// An example of a package outside this repository that adds its own stage to `ingest`. It depends on MediaIngest by
// path here (so CI builds it against this checkout); a real package would use
//     .package(url: "https://github.com/<you>/MediaIngest.git", from: "1.0.0")
import PackageDescription

let package = Package(
    name: "ExternalStage",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "MediaIngest", path: "../.."),
    ],
    targets: [
        // The stage, in a library target of its own so it can be tested without the CLI.
        .target(
            name: "MinimumSize",
            dependencies: [
                .product(name: "MediaIngest", package: "MediaIngest"),
                .product(name: "MediaFormats", package: "MediaIngest"),
            ]
        ),
        // The CLI: the built-in stages plus this package's.
        .executableTarget(
            name: "my-ingest",
            dependencies: ["MinimumSize", .product(name: "IngestCLI", package: "MediaIngest")]
        ),
    ]
)
