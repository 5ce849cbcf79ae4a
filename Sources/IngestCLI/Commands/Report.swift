import ArgumentParser
import Foundation
import IngestState
import MediaIngest

extension IngestCommand {
    /// `ingest report NAME [--run ID] --html out.html`.
    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write one run's report, from the ledger, as a self-contained HTML file (or JSON).",
            discussion: """
                The latest run by default. The page shows the run's counts, throughput over time, the slowest files, \
                rejections and failures grouped by code with examples, and retries by kind; it fetches nothing (no \
                script, no CDN), so it can be mailed or archived. Exits 3 when the ledger has no such run.
                """)

        @Argument(
            help: ArgumentHelp("The pipeline: a NAME in the pipelines folder, or a path to a .json file."),
            completion: .custom(PipelineCompletion.names))
        var pipeline: String
        @OptionGroup var directoryOptions: PipelineDirectoryOptions
        @Option(help: "The run id (as `ingest status` prints it); the latest run when omitted.") var run: String?
        @Option(help: ArgumentHelp("Write the HTML report here (\"-\" for standard output).", valueName: "file"))
        var html: String?
        @Flag(help: "Print the run's kept report as JSON.") var json = false

        func validate() throws {
            if html == nil && !json { throw ValidationError("give --html FILE (or --json)") }
        }

        func run() async throws {
            let pipeline = try loadPipelineForState(self.pipeline, directoryOptions)
            let kept = try await withInspector(of: pipeline) { try await $0.run(id: run) }
            guard let kept else {
                Console.error("ingest: \(pipeline.name): no runs yet (no ledger at \(pipeline.state.ledgerPath))")
                throw IngestExitCode.nothingToDo.exitCode
            }
            guard let found = kept else {
                Console.error("ingest: \(pipeline.name): \(run.map { "no run \($0)" } ?? "no runs yet") in the ledger")
                throw IngestExitCode.nothingToDo.exitCode
            }
            if json {
                let text = found.report.map { ReportPrinter.json($0) } ?? "null"
                Console.out(text)
            }
            guard let html else { return }
            let page = HTMLReport.render(pipeline: pipeline.name, run: found)
            if html == "-" {
                Console.out(page)
                return
            }
            let path = PathResolution.resolve(html, against: FileManager.default.currentDirectoryPath)
            do {
                try FileSystem.writeAtomically(Data(page.utf8), to: path)
            } catch {
                Console.error("ingest: cannot write \(path): \(FileSystem.describe(error))")
                throw IngestExitCode.aborted.exitCode
            }
            if !json { Console.out("\(pipeline.name): run \(found.id) → \(path)") }
        }
    }
}
