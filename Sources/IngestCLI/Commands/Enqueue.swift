import ArgumentParser
import Foundation
import IngestPostgres
import Logging
import MediaIngest

/// `status`, `retry` and `enqueue` over a pipeline's shared (PostgreSQL) ledger.
enum SharedStateCommands {
    static var quietLogger: Logger { Logger(label: "ingest") { _ in SwiftLogNoOpLogHandler() } }

    static func connect(_ pipeline: Pipeline, url: String) async throws -> PostgresDatabase {
        do {
            return try await PostgresRunState.connect(url: url, state: pipeline.state, logger: quietLogger)
        } catch {
            Console.error("ingest: \(pipeline.name): cannot open the ledger \(pipeline.state.ledger): \(error)")
            throw IngestExitCode.aborted.exitCode
        }
    }

    static func status(_ pipeline: Pipeline, url: String, json: Bool) async throws {
        let database = try await connect(pipeline, url: url)
        defer { Task { await database.close() } }
        let status: SharedLedgerStatus
        do {
            status = try await SharedLedgerStatus.read(database, pipeline: pipeline.name, lease: pipeline.state.lease)
        } catch {
            Console.error("ingest: \(pipeline.name): \(error)")
            throw IngestExitCode.aborted.exitCode
        }
        let runs: [JSONValue] = status.runs.map { run in
            [
                "id": .string(run.id), "host": .string(run.host), "pid": .int(Int64(run.pid)),
                "startedAt": .string(ISO8601.string(from: run.startedAt)),
                "finishedAt": run.finishedAt.map { .string(ISO8601.string(from: $0)) } ?? .null,
                "exitCode": run.exitCode.map { .int(Int64($0)) } ?? .null, "live": .bool(run.live),
            ]
        }
        let claims: [JSONValue] = status.claims.map {
            [
                "host": .string($0.host), "run": .string($0.runID), "count": .int(Int64($0.count)),
                "expired": .int(Int64($0.expired)),
            ]
        }
        var lines = ["ledger: \(pipeline.state.ledger) (shared by every host)"]
        if status.queued > 0 { lines.append("queue: \(status.queued) item\(status.queued == 1 ? "" : "s") waiting") }
        lines.append(status.runs.isEmpty ? "no runs yet" : "runs (latest first):")
        for run in status.runs {
            let state =
                run.live
                ? "running"
                : run.finishedAt.map {
                    "finished \(ISO8601.string(from: $0)), exit code \(run.exitCode.map(String.init) ?? "-")"
                }
                    ?? "did not finish (no heartbeat)"
            lines.append(
                "  \(run.id) on \(run.host.displaySafe) (pid \(run.pid)): started \(ISO8601.string(from: run.startedAt)), \(state)"
            )
        }
        if !status.claims.isEmpty {
            lines.append("claims in flight:")
            for claim in status.claims {
                let expired = claim.expired > 0 ? " (\(claim.expired) with an expired lease: free to take over)" : ""
                lines.append("  \(claim.host.displaySafe), run \(claim.runID): \(claim.count)\(expired)")
            }
        }
        IngestCommand.Status.print(
            status.summary, of: pipeline, json: json,
            extra: [
                "ledger": .string(pipeline.state.ledger.description), "runs": .array(runs), "claims": .array(claims),
                "queued": .int(Int64(status.queued)),
            ], lines: lines)
    }

    static func retry(_ pipeline: Pipeline, url: String, includeRejected: Bool) async throws {
        let database = try await connect(pipeline, url: url)
        defer { Task { await database.close() } }
        do {
            let count = try await SharedLedgerStatus.requeue(
                database, pipeline: pipeline.name, includeRejected: includeRejected)
            Console.out(
                "\(pipeline.name): \(count) asset\(count == 1 ? "" : "s") re-queued for the next run, on whichever host"
            )
        } catch {
            Console.error("ingest: \(pipeline.name): \(error)")
            throw IngestExitCode.aborted.exitCode
        }
    }
}

extension IngestCommand {
    /// `ingest enqueue NAME ITEM…`.
    struct Enqueue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add paths or URLs to a pipeline's queue (source.queue) in its PostgreSQL ledger.",
            discussion: """
                Items already queued are not added twice. Local paths are stored absolute (resolved against the \
                current folder); http(s) URLs as given. Whichever host's run of the pipeline claims an item first \
                ingests it. "-" reads items from standard input, one per line (blank lines and # comments skipped).
                """)

        @Argument(
            help: "The pipeline: a NAME in the pipelines folder, or a path to a .json file.",
            completion: .custom(PipelineCompletion.names))
        var pipeline: String
        @Argument(help: "Paths or URLs to add; \"-\" reads them from standard input.")
        var items: [String] = []
        @OptionGroup var directoryOptions: PipelineDirectoryOptions

        func run() async throws {
            let pipeline = try loadPipelineForState(self.pipeline, directoryOptions)
            guard case .postgres(let url) = pipeline.state.ledger else {
                Console.error(
                    "ingest: \(pipeline.name): enqueue needs a shared ledger; set state.ledger to a postgresql:// URL")
                throw IngestExitCode.configurationError.exitCode
            }
            var collected: [String] = []
            for item in items {
                if item == "-" {
                    while let line = readLine() { collected.append(line) }
                } else {
                    collected.append(item)
                }
            }
            let cwd = FileManager.default.currentDirectoryPath
            let normalized = collected.map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("#") }
                .map { item -> String in
                    let lower = item.lowercased()
                    return lower.hasPrefix("http://") || lower.hasPrefix("https://")
                        ? item : PathResolution.resolve(item, against: cwd)
                }
            guard !normalized.isEmpty else {
                Console.error("ingest: nothing to enqueue (give paths or URLs, or - for standard input)")
                throw IngestExitCode.configurationError.exitCode
            }
            let database = try await SharedStateCommands.connect(pipeline, url: url)
            defer { Task { await database.close() } }
            do {
                let added = try await SharedLedgerStatus.enqueue(
                    normalized, pipeline: pipeline.name, database: database)
                Console.out(
                    "\(pipeline.name): \(added) item\(added == 1 ? "" : "s") queued\(added < normalized.count ? " (\(normalized.count - added) already in the queue)" : "")"
                )
            } catch {
                Console.error("ingest: \(pipeline.name): \(error)")
                throw IngestExitCode.aborted.exitCode
            }
        }
    }
}
