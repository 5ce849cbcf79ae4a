import ArgumentParser
import Foundation
import IngestStages
import MediaIngest
import WixStages

/// The `ingest` command line: run, check and list pipelines, and explore the stage catalogue.
///
/// Another package adds its own stages and gets the same CLI:
///
/// ```swift
/// @main struct MyIngest {
///     static func main() async {
///         await IngestCommand.main(registering: { registry in
///             registry.register(Watermark.self)
///         })
///     }
/// }
/// ```
public struct IngestCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Move media files into a media library through a pipeline of stages.",
        discussion: """
            A pipeline is a JSON file, pipelines/NAME.json: a source, then stages such as detect.mime, \
            strip.metadata, validate and an upload target. `ingest stages` lists every stage and its options.

            Exit codes: 0 all done; 1 some assets failed; 2 configuration error; 3 nothing to do (with --error-on-idle); \
            4 another run holds the lock; 5 run aborted; 130 interrupted; 64 bad command line.

            First steps: `ingest init NAME` writes a pipeline, `ingest doctor NAME` checks it can run here, \
            `ingest run NAME --dry-run` shows what it would do, `ingest report NAME --html report.html` shows what it did.
            """,
        version: IngestVersion.string,
        subcommands: [
            Init.self, Run.self, Watch.self, Check.self, Doctor.self, Status.self, Report.self, Retry.self,
            Enqueue.self, Schedule.self, ListPipelines.self, Stages.self, Codes.self, Schema.self, VersionCommand.self,
        ]
    )

    public init() {}

    /// Runs the CLI with the built-in stages plus the ones `register` adds.
    /// - Parameters:
    ///   - arguments: the command line (default: the process's).
    ///   - register: adds stage kinds to the registry before the command runs.
    public static func main(_ arguments: [String]? = nil, registering register: (inout StageRegistry) -> Void) async {
        var registry = StageRegistry.standard
        register(&registry)
        await CLIEnvironment.$registry.withValue(registry) {
            await Self.main(arguments)
        }
    }
}

/// The values the CLI's commands share for one invocation. Task-local, not global: `IngestCommand.main(registering:)`
/// binds them for the duration of the command.
public enum CLIEnvironment {
    /// The stage registry the commands build pipelines with.
    @TaskLocal public static var registry: StageRegistry = .standard
}

/// The CLI's name for the documented exit codes (``RunExitCode`` in the core, so a session embedding the runner
/// reports the same numbers).
public typealias IngestExitCode = RunExitCode

extension RunExitCode {
    /// The argument parser's exit code with this value.
    var exitCode: ExitCode { ExitCode(rawValue) }
}
