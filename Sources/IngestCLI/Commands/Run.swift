import ArgumentParser
import Dispatch
import Foundation
import IngestStages
import IngestState
import Logging
import MediaIngest
import Synchronization

extension IngestCommand {
    /// `ingest run NAME|PATH`.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a pipeline once.",
            discussion: """
                NAME is a file pipelines/NAME.json; a path to a .json file works too. The run reads the source, sends \
                each file through the stages (up to `concurrency` at once) and prints a summary (or JSON with --json). \
                Ctrl-C stops taking new files and finishes the ones in flight; a second Ctrl-C cancels them.
                """)

        @Argument(
            help: "The pipeline: a NAME in the pipelines folder, or a path to a .json file.",
            completion: .custom(PipelineCompletion.names))
        var pipeline: String

        @OptionGroup var directoryOptions: PipelineDirectoryOptions

        @Flag(help: "Show what would happen: run the stages without side effects, upload nothing, write nothing.")
        var dryRun = false

        @Flag(help: "Print the run report as JSON on standard output.")
        var json = false

        @Option(help: "Process this many files at once (overrides the pipeline's concurrency).")
        var concurrency: Int?

        @Flag(name: .shortAndLong, help: "Print nothing unless something was rejected or failed (for cron).")
        var quiet = false

        @Flag(name: .shortAndLong, help: "Log every file's progress (debug level) and list done files.")
        var verbose = false

        @Option(help: "Also append logs to this file (rotated at 10 MB, 5 kept).")
        var logFile: String?

        @Flag(help: "Exit with code 3 when there was nothing to do (like rclone's --error-on-no-transfer).")
        var errorOnIdle = false

        @Option(
            help:
                "When another run holds the pipeline's lock, wait up to this many seconds instead of exiting with code 4."
        )
        var wait: Double = 0

        @Option(
            help:
                "Write Prometheus metrics here after the run (node_exporter textfile collector: a .prom file in its folder)."
        )
        var metricsFile: String?

        @Option(
            help: ArgumentHelp(
                "Where small work files (stripped copies) go: a tmpfs folder, or \"none\" for the disk-backed temporary folder.",
                discussion:
                    "Default: $XDG_RUNTIME_DIR or /dev/shm when either is a writable tmpfs (files of at most 64 MiB, with room to spare)."
            ))
        var scratchDir: String?

        func validate() throws {
            if let concurrency, !(1...256).contains(concurrency) {
                throw ValidationError("--concurrency must be between 1 and 256, got \(concurrency)")
            }
            if quiet && verbose { throw ValidationError("--quiet and --verbose cannot be combined") }
        }

        func run() async throws {
            var (path, pipeline) = try loadPipeline(self.pipeline, directoryOptions, tolerateMissingEnvironment: false)
            if let concurrency { pipeline = pipeline.withConcurrency(concurrency) }

            let logPath = logFile.map { PathResolution.resolve($0, against: FileManager.default.currentDirectoryPath) }
            let sink = try LogSink(
                standardErrorLevel: verbose ? .debug : (quiet ? .error : .warning), filePath: logPath,
                fileLevel: verbose ? .debug : .info)
            let logger = Logger(label: "ingest") { label in IngestLogHandler(label: label, sink: sink) }
            for warning in pipeline.warnings { logger.warning("\(path): \(warning)") }

            let scratch: RunOptions.Scratch =
                switch scratchDir {
                case nil: .automatic
                case "none"?: .none
                case let path?: .parent(PathResolution.resolve(path, against: FileManager.default.currentDirectoryPath))
                }
            let session = RunSession(
                pipeline: pipeline,
                options: RunSession.Options(
                    isDryRun: dryRun, logger: logger, scratch: scratch,
                    lockWait: .milliseconds(Int64((max(0, wait) * 1000).rounded())),
                    errorOnIdle: errorOnIdle,
                    metricsFile: metricsFile.map {
                        PathResolution.resolve($0, against: FileManager.default.currentDirectoryPath)
                    }),
                state: LedgerRunState(logger: logger))

            let control = RunControl()
            let progress = (!quiet && !json && Console.stderrIsTerminal) ? ProgressBar() : nil
            let task = Task { try await session.run(control: control, observer: progress) }
            let signals = SignalTrap { signal, count in
                if count == 1 {
                    control.requestStop(
                        reason: "\(signal) received: finishing files in flight (press Ctrl-C again to cancel them)")
                    Console.error("\ningest: \(signal) — finishing files in flight; press Ctrl-C again to cancel them")
                } else {
                    task.cancel()
                }
            }
            defer { signals.cancel() }
            let result: RunSession.Result
            do {
                result = try await task.value
            } catch let error as RunStateError {
                if error.code == .lockHeld {
                    Console.error(
                        "ingest: \(pipeline.name): \(error.message); exiting (use --wait SECONDS to wait for it)")
                    throw IngestExitCode.lockHeld.exitCode
                }
                Console.error("ingest: \(pipeline.name): \(error.message)")
                throw IngestExitCode.configurationError.exitCode
            }
            progress?.finish()

            let (report, code) = (result.report, result.exitCode)
            if json {
                Console.out(ReportPrinter.json(report))
            } else if !quiet || code != .success && code != .nothingToDo || report.count(.rejected) > 0 {
                Console.out(ReportPrinter.human(report, verbose: verbose))
            }
            if code != .success { throw code.exitCode }
        }
    }
}
