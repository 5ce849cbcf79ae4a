import ArgumentParser
import Foundation
import IngestStages
import MediaIngest

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

            Exit codes: 0 all done · 1 some assets failed · 2 configuration error · 3 nothing to do (with --error-on-idle) \
            · 4 another run holds the lock · 5 run aborted · 130 interrupted · 64 bad command line.
            """,
        version: IngestVersion.string,
        subcommands: [
            Run.self, Check.self, Status.self, Retry.self, Schedule.self, ListPipelines.self, Stages.self, Schema.self,
            VersionCommand.self,
        ]
    )

    public init() {}

    /// Runs the CLI with the built-in stages plus the ones `register` adds.
    /// - Parameters:
    ///   - arguments: the command line (default: the process's).
    ///   - register: adds stage kinds to the registry before the command runs.
    public static func main(_ arguments: [String]? = nil, registering register: (inout StageRegistry) -> Void) async {
        var registry = StageRegistry.builtins
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
    @TaskLocal public static var registry: StageRegistry = .builtins
}

/// The documented exit codes.
public enum IngestExitCode: Int32, CaseIterable, Sendable {
    /// Every asset done (or rejected by policy: rejections are listed in the report).
    case success = 0
    /// Some assets failed; a later run retries them.
    case someFailed = 1
    /// The pipeline file (or a secret it references) is wrong.
    case configurationError = 2
    /// Nothing new to ingest (only with `--error-on-idle`; otherwise 0).
    case nothingToDo = 3
    /// Another run of the same pipeline holds the lock.
    case lockHeld = 4
    /// The run stopped on an error no asset could get past (source missing, credentials refused, retry budget spent).
    case aborted = 5
    /// Bad command line (argument parser).
    case usage = 64
    /// Interrupted by SIGINT or SIGTERM; in-flight assets were finished first.
    case interrupted = 130

    /// One line for the README and `--help`.
    public var meaning: String {
        switch self {
        case .success: return "all done: every asset stored, or rejected by policy (rejections are listed)"
        case .someFailed: return "some assets failed; the next run retries them"
        case .configurationError: return "configuration error: pipeline file, options or a missing secret"
        case .nothingToDo: return "nothing to do: no new assets (only with --error-on-idle)"
        case .lockHeld: return "another run of this pipeline holds the lock"
        case .aborted: return "run aborted: source unreadable, credentials refused or retry budget spent"
        case .usage: return "bad command line"
        case .interrupted: return "interrupted by SIGINT/SIGTERM after finishing in-flight assets"
        }
    }

    var exitCode: ExitCode { ExitCode(rawValue) }
}
