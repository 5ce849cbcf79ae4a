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

        @Argument(help: "The pipeline: a NAME in the pipelines folder, or a path to a .json file.")
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

        @Option(help: "When another run holds the pipeline's lock, wait up to this many seconds instead of exiting with code 4.")
        var wait: Double = 0

        @Option(help: "Write Prometheus metrics here after the run (node_exporter textfile collector: a .prom file in its folder).")
        var metricsFile: String?

        @Option(
            help: ArgumentHelp(
                "Where small work files (stripped copies) go: a tmpfs folder, or \"none\" for the disk-backed temporary folder.",
                discussion: "Default: $XDG_RUNTIME_DIR or /dev/shm when either is a writable tmpfs (files of at most 64 MiB, with room to spare)."))
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
                standardErrorLevel: verbose ? .debug : (quiet ? .error : .warning), filePath: logPath, fileLevel: verbose ? .debug : .info)
            let logger = Logger(label: "ingest") { label in IngestLogHandler(label: label, sink: sink) }
            for warning in pipeline.warnings { logger.warning("\(path): \(warning)") }

            // State: the lock first (a second run exits at once), then the ledger.
            var lock: PipelineLock?
            var ledger: SQLiteLedger?
            let runID = PipelineRunner.makeRunID(at: Date())
            if !dryRun && pipeline.state.enabled {
                do {
                    lock = try PipelineLock(path: pipeline.state.lockPath, wait: wait)
                } catch {
                    Console.error("ingest: \(pipeline.name): \(error); exiting (use --wait SECONDS to wait for it)")
                    throw IngestExitCode.lockHeld.exitCode
                }
                do {
                    ledger = try SQLiteLedger(
                        path: pipeline.state.ledgerPath, pipeline: pipeline.name, runID: runID, maxAttempts: pipeline.state.maxAttempts,
                        dedupeByContent: pipeline.state.dedupe == .content)
                    try await ledger?.runStarted(at: Date())
                } catch {
                    Console.error("ingest: \(pipeline.name): cannot open the ledger \(pipeline.state.ledgerPath): \(error)")
                    throw IngestExitCode.configurationError.exitCode
                }
            }
            defer { withExtendedLifetime(lock) {} }

            let control = RunControl()
            let scratch: RunOptions.Scratch = switch scratchDir {
            case nil: .automatic
            case "none"?: .none
            case let path?: .parent(PathResolution.resolve(path, against: FileManager.default.currentDirectoryPath))
            }
            let options = RunOptions(isDryRun: dryRun, logger: logger, ledger: ledger, runID: runID, scratch: scratch)
            let runner = PipelineRunner(pipeline: pipeline, options: options)
            let progress = (!quiet && !json && Console.stderrIsTerminal) ? ProgressBar() : nil
            let task = Task { await runner.run(control: control, observer: progress) }
            let signals = SignalTrap { signal, count in
                if count == 1 {
                    control.requestStop(reason: "\(signal) received: finishing files in flight (press Ctrl-C again to cancel them)")
                    Console.error("\ningest: \(signal) — finishing files in flight; press Ctrl-C again to cancel them")
                } else {
                    task.cancel()
                }
            }
            let report = await task.value
            signals.cancel()
            progress?.finish()

            let code = exitCode(for: report)
            do {
                // Only a run that read its whole source knows which earlier in-flight rows have vanished.
                if report.outcome != .interrupted && report.outcome != .aborted {
                    try await ledger?.reconcileVanished()
                }
                try await ledger?.runFinished(exitCode: code.rawValue, counts: report.counts, note: report.aborted ?? report.interrupted)
            } catch {
                logger.error("cannot record the run in the ledger: \(error)")
            }
            if let metricsFile {
                do {
                    try PrometheusTextfile.write(report, exitCode: code.rawValue, to: PathResolution.resolve(metricsFile, against: FileManager.default.currentDirectoryPath))
                } catch {
                    logger.error("cannot write metrics to \(metricsFile): \(error)")
                }
            }
            if json {
                Console.out(ReportPrinter.json(report))
            } else if !quiet || code != .success && code != .nothingToDo || report.count(.rejected) > 0 {
                Console.out(ReportPrinter.human(report, verbose: verbose))
            }
            if code != .success { throw code.exitCode }
        }

        func exitCode(for report: RunReport) -> IngestExitCode {
            switch report.outcome {
            case .success: return .success
            case .someFailed: return .someFailed
            case .nothingToDo: return errorOnIdle ? .nothingToDo : .success
            case .interrupted: return .interrupted
            case .aborted: return .aborted
            }
        }
    }
}

/// Turns SIGINT and SIGTERM into calls of a handler (with how many signals arrived so far).
final class SignalTrap {
    private let sources: [any DispatchSourceSignal]

    init(_ handler: @escaping @Sendable (String, Int) -> Void) {
        let counter = SignalCounter()
        var sources: [any DispatchSourceSignal] = []
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(name, counter.increment()) }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    func cancel() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

/// Counts signals across both sources.
final class SignalCounter: Sendable {
    private let count = Mutex(0)
    func increment() -> Int { count.withLock { $0 += 1; return $0 } }
}
