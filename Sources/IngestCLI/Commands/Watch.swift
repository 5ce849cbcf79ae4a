import ArgumentParser
import Foundation
import IngestStages
import IngestState
import IngestWatch
import Logging
import MediaIngest
import ServiceLifecycle
import UnixSignals

extension IngestCommand {
    /// `ingest watch NAME`.
    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a pipeline over files as they arrive (a long-running service).",
            discussion: """
                Follows every source.directory of the pipeline with inotify (recursively, new folders included). A \
                file is taken once it was closed after writing (or moved in) and has been quiet for the source's \
                minAge (at least 0.5 s); a file still open is taken after 10 s of silence. Due files run in batches \
                through the same lock, ledger, stages and report as `ingest run`. A full walk at start, after an \
                inotify queue overflow and every --rescan-every finds what events missed.

                SIGTERM or Ctrl-C finishes the files in flight and exits 0 (a second one cancels them: exit 130). SIGHUP reads \
                the pipeline file again; a broken new version is refused with its errors and the old one keeps running.
                """)

        @Argument(
            help: "The pipeline: a NAME in the pipelines folder, or a path to a .json file.",
            completion: .custom(PipelineCompletion.names))
        var pipeline: String

        @OptionGroup var directoryOptions: PipelineDirectoryOptions

        @Option(help: "Walk the whole folder this often, in seconds, to find what events missed (default 600).")
        var rescanEvery: Double = 600

        @Option(help: "Process this many files at once (overrides the pipeline's concurrency).")
        var concurrency: Int?

        @Flag(name: .shortAndLong, help: "Log every file's progress (debug level).")
        var verbose = false

        @Option(help: "Also append logs to this file (rotated at 10 MB, 5 kept).")
        var logFile: String?

        @Option(help: "Serve Prometheus metrics and /healthz on this address (e.g. 127.0.0.1:9464; port 0 picks one).")
        var metricsListen: String?

        @Option(help: .hidden) var testOverflowAfter: Int?

        func validate() throws {
            if let concurrency, !(1...256).contains(concurrency) {
                throw ValidationError("--concurrency must be between 1 and 256, got \(concurrency)")
            }
            if !(rescanEvery >= 1) { throw ValidationError("--rescan-every must be at least 1 second") }
            if let metricsListen, MetricsAddress(metricsListen) == nil {
                throw ValidationError("--metrics-listen \"\(metricsListen)\": expected HOST:PORT")
            }
        }

        func run() async throws {
            let (path, initial) = try loadPipeline(self.pipeline, directoryOptions, tolerateMissingEnvironment: false)
            let pipeline = concurrency.map { initial.withConcurrency($0) } ?? initial
            do {
                try WatchService.check(pipeline)
            } catch {
                Console.error("ingest: \(path): \(error.description)")
                throw IngestExitCode.configurationError.exitCode
            }
            let logPath = logFile.map { PathResolution.resolve($0, against: FileManager.default.currentDirectoryPath) }
            let sink = try LogSink(
                standardErrorLevel: verbose ? .debug : .info, filePath: logPath, fileLevel: verbose ? .debug : .info)
            let logger = Logger(label: "ingest") { label in IngestLogHandler(label: label, sink: sink) }
            for warning in pipeline.warnings { logger.warning("\(path): \(warning)") }

            // One ServiceGroup: the metrics endpoint, the SIGHUP reloader and the watcher (last, so a shutdown ends it
            // first and the metrics stay served until its batch in flight has finished).
            let metrics = WatchMetrics(pipeline: pipeline.name)
            let endpoint = metricsListen.flatMap(MetricsAddress.init).map {
                MetricsEndpoint(address: $0, metrics: metrics, logger: logger)
            }
            let control = WatchControl()
            // A short lock wait: while a cron run holds the lock, the batch is tried again every few seconds, and a
            // SIGTERM meanwhile is never stuck behind it.
            let watcher = WatcherService(
                WatchService(
                    options: WatchService.Options(
                        rescanEvery: .milliseconds(Int64(rescanEvery * 1000)), overflowAfter: testOverflowAfter),
                    session: RunSession.Options(logger: logger, lockWait: .seconds(2)),
                    state: LedgerRunState(logger: logger)),
                pipeline: pipeline, control: control,
                startAfter: { await endpoint?.waitUntilListening() ?? true }
            ) { batch in
                metrics.record(batch)
                Self.log(batch, logger: logger)
            }
            // Registered before anything runs: a SIGHUP as soon as the watcher logs "watching" is a reload.
            let hangups = await UnixSignalsSequence(trapping: .sighup)
            let reloader = PipelineReloader(hangups: hangups) { [concurrency] in
                do {
                    var builder = PipelineBuilder(registry: CLIEnvironment.registry, tolerateMissingEnvironment: false)
                    builder.readsStateOnly = false
                    var next = try builder.build(fileAt: path)
                    if let concurrency { next = next.withConcurrency(concurrency) }
                    control.reload(next)
                } catch {
                    logger.error("SIGHUP: \(path) is not valid; the running pipeline stays:\n\(error)")
                }
            }
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = endpoint.map { [.init(service: $0)] } ?? []
            services.append(.init(service: reloader))
            services.append(
                .init(
                    service: watcher, successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup))
            var quiet = logger
            quiet.logLevel = .warning
            let group = ServiceGroup(
                configuration: .init(services: services, gracefulShutdownSignals: [], logger: quiet))
            let cancelled: Bool
            do {
                cancelled = try await StopRequests.run(group) { signal in
                    logger.notice("\(signal) received: finishing files in flight, then stopping")
                    control.stop(reason: "\(signal) received")
                }
            } catch let error as WatchService.StartError {
                Console.error("ingest: \(pipeline.name): \(error.description)")
                throw IngestExitCode.configurationError.exitCode
            } catch let error as MetricsEndpoint.ListenError {
                Console.error("ingest: \(error.description)")
                throw IngestExitCode.configurationError.exitCode
            }
            // A second signal cancelled the files in flight: say so, as `ingest run` does.
            if cancelled { throw IngestExitCode.interrupted.exitCode }
        }

        private static func log(_ batch: WatchService.Batch, logger: Logger) {
            switch batch.result {
            case .success(let result):
                let report = result.report
                let counts = AssetStatus.allCases.compactMap { status -> String? in
                    let count = report.count(status)
                    return count > 0 ? "\(count) \(status.rawValue)" : nil
                }
                let level: Logger.Level = report.count(.failed) > 0 || report.count(.rejected) > 0 ? .warning : .info
                logger.log(
                    level: level, "batch finished",
                    metadata: [
                        "files": "\(batch.files)", "counts": "\(counts.joined(separator: ", "))",
                        "exit": "\(result.exitCode.rawValue)",
                    ])
                for record in report.assets where record.status == .failed || record.status == .rejected {
                    logger.warning(
                        "\(record.status.rawValue)",
                        metadata: [
                            "asset": "\(record.path)",
                            "reason": "\(record.code ?? "?"): \(record.reason ?? "")",
                        ])
                }
            case .failure(let error):
                logger.warning("batch could not start; trying again shortly", metadata: ["reason": "\(error.message)"])
            }
        }
    }
}

/// Reads the pipeline file again on every SIGHUP, until the group shuts down.
struct PipelineReloader: Service {
    let hangups: UnixSignalsSequence
    let reload: @Sendable () -> Void

    func run() async {
        for await _ in hangups.cancelOnGracefulShutdown() { reload() }
    }
}
