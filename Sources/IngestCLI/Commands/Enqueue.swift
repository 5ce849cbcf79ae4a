import ArgumentParser
import Foundation
import Logging
import MediaIngest

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
            guard StateBackends.backend(for: pipeline).features.contains(.workQueue) else {
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
            let added = try await withInspector(of: pipeline) { try await $0.enqueue(normalized) } ?? 0
            Console.out(
                "\(pipeline.name): \(added) item\(added == 1 ? "" : "s") queued\(added < normalized.count ? " (\(normalized.count - added) already in the queue)" : "")"
            )
        }
    }
}
