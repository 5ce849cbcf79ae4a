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
            if case .postgres(let url) = pipeline.state.ledger {
                try await SharedStateCommands.status(pipeline, url: url, json: json)
                return
            }
            guard FileManager.default.fileExists(atPath: pipeline.state.ledgerPath) else {
                Console.out("\(pipeline.name): no runs yet (no ledger at \(pipeline.state.ledgerPath))")
                return
            }
            let summary = try LedgerSummary.read(path: pipeline.state.ledgerPath, pipeline: pipeline.name)
            Self.print(summary, of: pipeline, json: json)
        }

        /// Prints a ledger's summary; `extra` adds fields to the JSON, `lines` adds text after the counts.
        static func print(
            _ summary: LedgerSummary, of pipeline: Pipeline, json: Bool, extra: [String: JSONValue] = [:],
            lines: [String] = []
        ) {
            if json {
                var object: [String: JSONValue] = [
                    "pipeline": .string(pipeline.name), "counts": .object(summary.counts.mapValues { .int(Int64($0)) }),
                ]
                object["failed"] = .array(
                    summary.failures.map {
                        [
                            "path": .string($0.identity), "attempts": .int(Int64($0.attempts)),
                            "code": $0.code.map { .string($0) } ?? .null,
                            "error": $0.error.map { .string($0) } ?? .null,
                        ]
                    })
                if let last = summary.lastRun {
                    object["lastRun"] = [
                        "id": .string(last.id), "startedAt": .string(ISO8601.string(from: last.startedAt)),
                        "finishedAt": last.finishedAt.map { .string(ISO8601.string(from: $0)) } ?? .null,
                        "exitCode": last.exitCode.map { .int(Int64($0)) } ?? .null,
                    ]
                }
                object["lastRunProblems"] = .array(summary.lastRunProblems.compactMap { try? JSONValue(encoding: $0) })
                object.merge(extra) { _, new in new }
                Console.out(JSONValue.object(object).jsonText(pretty: true))
                return
            }
            var order = ["done", "rejected", "failed", "in_flight"]
            if summary.counts["vanished", default: 0] > 0 { order.append("vanished") }
            Console.out(
                "\(pipeline.name): "
                    + order.map { "\(summary.counts[$0] ?? 0) \($0.replacingOccurrences(of: "_", with: " "))" }.joined(
                        separator: ", "))
            for line in lines { Console.out(line) }
            if let last = summary.lastRun, lines.isEmpty {
                let ended = last.finishedAt.map { "finished \(ISO8601.string(from: $0))" } ?? "did not finish"
                Console.out(
                    "last run \(last.id): started \(ISO8601.string(from: last.startedAt)), \(ended), exit code \(last.exitCode.map(String.init) ?? "-")"
                )
            }
            if !summary.lastRunProblems.isEmpty {
                Console.out("not accounted for in the last run (exit code 1 until fixed):")
                for problem in summary.lastRunProblems { Console.out("  " + problem.summary) }
            }
            if !summary.failures.isEmpty {
                Console.out("failed:")
                for failure in summary.failures {
                    Console.out(
                        "  \(failure.identity.displaySafe) — \(failure.code ?? "?"): \((failure.error ?? "").displaySafe) (\(failure.attempts) attempt\(failure.attempts == 1 ? "" : "s"))"
                    )
                }
                Console.out(
                    "(`ingest retry \(pipeline.name)` re-queues failed assets that used up maxAttempts=\(pipeline.state.maxAttempts))"
                )
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
            if case .postgres(let url) = pipeline.state.ledger {
                try await SharedStateCommands.retry(pipeline, url: url, includeRejected: rejected)
                return
            }
            guard FileManager.default.fileExists(atPath: pipeline.state.ledgerPath) else {
                Console.out("\(pipeline.name): nothing to retry (no ledger yet)")
                return
            }
            let lock: PipelineLock
            do {
                lock = try PipelineLock(path: pipeline.state.lockPath)
            } catch {
                Console.error("ingest: \(pipeline.name): \(error)")
                throw IngestExitCode.lockHeld.exitCode
            }
            let count = try LedgerSummary.requeue(
                path: pipeline.state.ledgerPath, pipeline: pipeline.name, includeRejected: rejected)
            withExtendedLifetime(lock) {}
            Console.out("\(pipeline.name): \(count) asset\(count == 1 ? "" : "s") re-queued for the next run")
        }
    }
}
