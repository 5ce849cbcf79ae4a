import ArgumentParser
import Foundation
import MediaIngest

extension IngestCommand {
    /// `ingest check [NAME|PATH…]`.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check pipelines without running them; print every mistake with its JSON path.",
            discussion: """
                With no argument, checks every pipeline in the pipelines folder. Environment variables that are not set \
                here are reported as warnings (they are errors at run time). Exits 2 when any pipeline has errors.
                """)

        @Argument(
            help: "Pipelines to check (names or paths); all of them when omitted.",
            completion: .custom(PipelineCompletion.names))
        var pipelines: [String] = []

        @OptionGroup var directoryOptions: PipelineDirectoryOptions

        @Flag(help: "Treat warnings as errors.")
        var strict = false

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() async throws {
            var targets: [String] = []
            var problems: [JSONValue] = []
            var failed = false
            let names = pipelines.isEmpty ? directoryOptions.pipelineNames() : pipelines
            if names.isEmpty {
                Console.error("ingest: no pipelines in \(directoryOptions.directory)")
                throw IngestExitCode.configurationError.exitCode
            }
            for name in names {
                do {
                    targets.append(try directoryOptions.locate(name))
                } catch let error as CLIError {
                    failed = true
                    if !json { Console.error("ingest: \(error.message)") }
                    problems.append(["pipeline": .string(name), "errors": [.string(error.message)], "warnings": []])
                }
            }
            let builder = PipelineBuilder(registry: CLIEnvironment.registry, tolerateMissingEnvironment: true)
            for path in targets {
                let result = builder.check(fileAt: path)
                let errors = result.errors.sorted { $0.path < $1.path }
                if !errors.isEmpty || (strict && !result.warnings.isEmpty) { failed = true }
                if json {
                    problems.append([
                        "pipeline": .string(path),
                        "ok": .bool(errors.isEmpty),
                        "errors": .array(errors.map { .string($0.description) }),
                        "warnings": .array(result.warnings.map { .string($0.description) }),
                    ])
                    continue
                }
                if errors.isEmpty {
                    if let pipeline = result.pipeline {
                        Console.out("\(path): ok (\(pipeline.componentNames.joined(separator: " → ")))")
                        for note in pipeline.orderNotes { Console.out("  note: \(note)") }
                    } else {
                        // Options that reference missing environment variables keep the pipeline from being built here.
                        Console.out("\(path): ok as far as it can be checked without the missing environment variables")
                    }
                } else {
                    Console.out("\(path): \(errors.count) error\(errors.count == 1 ? "" : "s")")
                    for error in errors { Console.out("  error: \(error)") }
                }
                for warning in result.warnings { Console.out("  warning: \(warning)") }
            }
            if json { Console.out(JSONValue.array(problems).jsonText(pretty: true)) }
            if failed { throw IngestExitCode.configurationError.exitCode }
        }
    }
}
