import Foundation
import PackagePlugin

/// `swift package check-pipelines [--strict] [FILE…]`: builds `ingest` (with this package's custom stages) and runs
/// `ingest check` on every pipeline in `pipelines/` (or the files given). Fails when any pipeline has an error.
@main
struct CheckPipelines: CommandPlugin {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func performCommand(context: PluginContext, arguments: [String]) async throws {
        var extractor = ArgumentExtractor(arguments)
        let strict = extractor.extractFlag(named: "strict") > 0
        let requested = extractor.remainingArguments

        let build = try packageManager.build(
            .product("ingest"), parameters: .init(configuration: .debug, logging: .concise))
        guard build.succeeded else {
            print(build.logText)
            throw Failure(description: "building ingest failed")
        }
        guard
            let ingest = build.builtArtifacts.first(where: {
                $0.kind == .executable && $0.url.lastPathComponent == "ingest"
            })
        else {
            throw Failure(description: "the build produced no ingest executable")
        }

        let directory = context.package.directoryURL.appending(path: "pipelines")
        let files: [URL]
        if requested.isEmpty {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            files = names.filter { $0.hasSuffix(".json") && !$0.hasSuffix(".schema.json") }.sorted().map {
                directory.appending(path: $0)
            }
        } else {
            files = requested.map { URL(fileURLWithPath: $0, relativeTo: context.package.directoryURL) }
        }
        guard !files.isEmpty else { throw Failure(description: "no pipelines in \(directory.path)") }

        var failed: [String] = []
        for file in files {
            let process = Process()
            process.executableURL = ingest.url
            process.arguments = ["check", file.path] + (strict ? ["--strict"] : [])
            process.currentDirectoryURL = context.package.directoryURL
            try process.run()
            process.waitUntilExit()
            if process.terminationStatus != 0 { failed.append(file.lastPathComponent) }
        }
        if !failed.isEmpty {
            Diagnostics.error("pipelines with errors: \(failed.joined(separator: ", "))")
            throw Failure(description: "\(failed.count) of \(files.count) pipelines have errors")
        }
        print("\(files.count) pipelines checked, no errors")
    }
}
