import ArgumentParser
import Foundation
import IngestState
import MediaIngest

/// Locates and builds a pipeline for a command, printing configuration errors and mapping them to exit codes.
/// `status`, `retry` and `schedule` only need the name and `state` block, so they read nothing else.
func loadPipeline(
    _ name: String, _ directoryOptions: PipelineDirectoryOptions, tolerateMissingEnvironment: Bool,
    stateOnly: Bool = false
) throws -> (path: String, pipeline: Pipeline) {
    do {
        let path = try directoryOptions.locate(name)
        var builder = PipelineBuilder(
            registry: CLIEnvironment.registry, tolerateMissingEnvironment: tolerateMissingEnvironment)
        builder.readsStateOnly = stateOnly
        return (path, try builder.build(fileAt: path))
    } catch let error as PipelineConfigurationError {
        Console.error(error.description)
        throw IngestExitCode.configurationError.exitCode
    } catch let error as CLIError {
        Console.error("ingest: \(error.message)")
        throw error.code.exitCode
    }
}

/// Reads a pipeline only for its name and `state` block: its stages are not built, so their secrets need not be set.
func loadPipelineForState(_ name: String, _ directoryOptions: PipelineDirectoryOptions) throws -> Pipeline {
    try loadPipeline(name, directoryOptions, tolerateMissingEnvironment: true, stateOnly: true).pipeline
}

/// Opens a pipeline's state for an operator command (``StateBackend/inspector(for:)``), runs `body` and closes it;
/// `nil` when the pipeline has no state yet. A state that cannot be opened is printed and exits 1 (aborted).
func withInspector<T>(
    of pipeline: Pipeline, _ body: (any StateInspector) async throws -> T
) async throws -> T? {
    let inspector: any StateInspector
    do {
        guard let opened = try await StateBackends.backend(for: pipeline).inspector(for: pipeline) else { return nil }
        inspector = opened
    } catch {
        Console.error("ingest: \(pipeline.name): \(error.message)")
        throw IngestExitCode.aborted.exitCode
    }
    do {
        let result = try await body(inspector)
        await inspector.close()
        return result
    } catch {
        await inspector.close()
        if error is ExitCode { throw error }
        if let state = error as? RunStateError, state.code == .lockHeld {
            Console.error("ingest: \(pipeline.name): \(state.message)")
            throw IngestExitCode.lockHeld.exitCode
        }
        Console.error("ingest: \(pipeline.name): \(error)")
        throw IngestExitCode.aborted.exitCode
    }
}

extension IngestCommand {
    /// `ingest status NAME`.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a pipeline's ledger: assets done, rejected and failed (with reasons), and the last run.")

        @Argument(
            help: "The pipeline: a NAME in the pipelines folder, or a path to a .json file.",
            completion: .custom(PipelineCompletion.names))
        var pipeline: String
        @OptionGroup var directoryOptions: PipelineDirectoryOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let pipeline = try loadPipelineForState(self.pipeline, directoryOptions)
            let printed = try await withInspector(of: pipeline) { inspector in
                StatusPrinter(pipeline: pipeline, location: inspector.location, json: json)
                    .print(try await inspector.status())
                return true
            }
            if printed != true {
                Console.out("\(pipeline.name): no runs yet (no ledger at \(pipeline.state.ledgerPath))")
            }
        }
    }

    /// `ingest retry NAME`.
    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Re-queue a pipeline's failed assets (their attempt count restarts), so the next run retries them.")

        @Argument(
            help: "The pipeline: a NAME in the pipelines folder, or a path to a .json file.",
            completion: .custom(PipelineCompletion.names))
        var pipeline: String
        @OptionGroup var directoryOptions: PipelineDirectoryOptions
        @Flag(help: "Also re-queue rejected assets (after changing the pipeline's limits).") var rejected = false

        func run() async throws {
            let pipeline = try loadPipelineForState(self.pipeline, directoryOptions)
            let shared = StateBackends.backend(for: pipeline).features.contains(.sharedClaims)
            let count = try await withInspector(of: pipeline) { try await $0.requeue(includeRejected: rejected) }
            guard let count else {
                Console.out("\(pipeline.name): nothing to retry (no ledger yet)")
                return
            }
            Console.out(
                "\(pipeline.name): \(count) asset\(count == 1 ? "" : "s") re-queued for the next run\(shared ? ", on whichever host" : "")"
            )
        }
    }
}
