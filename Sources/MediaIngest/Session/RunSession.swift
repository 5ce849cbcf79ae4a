import Foundation
import Logging

/// One stateful run of a pipeline, whole: lock → ledger → runner → reconcile → run record → metrics.
///
/// `ingest run` is a thin command over it; anything else that runs pipelines (a package embedding MediaIngest, a
/// watcher that runs a pipeline whenever files arrive) uses the same type, so it gets the same guarantees:
///
/// ```swift
/// // SQLiteStateBackend() (IngestState) for one host; PostgresStateBackend (IngestPostgres) for a fleet.
/// let session = RunSession(pipeline: pipeline, options: .init(logger: logger), state: SQLiteStateBackend())
/// let result = try await session.run()        // throws only when the state cannot be opened (lock held…)
/// print(result.report.counts, result.exitCode)
/// ```
///
/// - Without a ``RunStateProvider`` (or with `state.enabled: false`, or under dry-run) every run processes
///   everything and nothing is recorded.
/// - Cancelling the task that calls ``run(control:observer:)`` cancels in-flight assets (a second Ctrl-C); the run is
///   still recorded and the lock released.
public struct RunSession: Sendable {
    /// How the session runs.
    public struct Options: Sendable {
        /// Run the stages without side effects; nothing is locked or recorded.
        public var isDryRun: Bool
        /// The run's logger.
        public var logger: Logger
        /// Where small work files go (see ``RunOptions/Scratch``).
        public var scratch: RunOptions.Scratch
        /// Where the run's work folder is made (default: the system's temporary folder).
        public var workDirectoryParent: String?
        /// How long to wait for a lock another run holds (zero: fail at once).
        public var lockWait: Duration
        /// Report a run that had nothing to do as ``RunExitCode/nothingToDo`` instead of success.
        public var errorOnIdle: Bool
        /// Write Prometheus metrics here after the run (an absolute path; node_exporter's textfile collector).
        public var metricsFile: String?
        /// The run id (default: from the start time).
        public var runID: String?
        /// For a run that lists only part of its source (a watcher's batch): whether the source no longer holds the
        /// entry of a ledger key, so the rows earlier runs left in flight for it are settled after the run
        /// (``RunStateStore/reconcileVanished(where:)``). A run that lists everything needs none.
        public var isGone: (@Sendable (String) -> Bool)?

        /// Creates options.
        public init(
            isDryRun: Bool = false, logger: Logger = Logger(label: "ingest"), scratch: RunOptions.Scratch = .automatic,
            workDirectoryParent: String? = nil, lockWait: Duration = .zero, errorOnIdle: Bool = false,
            metricsFile: String? = nil,
            runID: String? = nil, isGone: (@Sendable (String) -> Bool)? = nil
        ) {
            self.isDryRun = isDryRun
            self.logger = logger
            self.scratch = scratch
            self.workDirectoryParent = workDirectoryParent
            self.lockWait = lockWait
            self.errorOnIdle = errorOnIdle
            self.metricsFile = metricsFile
            self.runID = runID
            self.isGone = isGone
        }
    }

    /// What a run came to.
    public struct Result: Sendable {
        /// The run report (counts, problems, facts about the tools).
        public var report: RunReport
        /// The documented exit code for it.
        public var exitCode: RunExitCode
    }

    /// The pipeline.
    public let pipeline: Pipeline
    /// The options.
    public let options: Options
    /// Where the state lives; `nil` for runs that remember nothing.
    public let state: (any RunStateProvider)?

    /// Creates a session.
    public init(pipeline: Pipeline, options: Options = Options(), state: (any RunStateProvider)?) {
        self.pipeline = pipeline
        self.options = options
        self.state = state
    }

    /// Whether this session keeps state: a provider, `state.enabled`, and not a dry run.
    public var isStateful: Bool { state != nil && pipeline.state.enabled && !options.isDryRun }

    /// Runs the pipeline once.
    /// - Parameters:
    ///   - control: lets the caller stop the run (a first Ctrl-C: in-flight assets finish).
    ///   - observer: sees assets start and finish (a progress bar).
    /// - Throws: ``RunStateError`` when the state cannot be opened (the lock is held, the ledger unusable); once the
    ///   run has started it never throws — trouble ends up in the report and the exit code.
    public func run(
        control: RunControl = RunControl(), observer: (any RunObserver)? = nil
    ) async throws(RunStateError) -> Result {
        let runID = options.runID ?? PipelineRunner.makeRunID(at: Date())
        var store: (any RunStateStore)?
        if isStateful, let state {
            let opened = try await state.open(for: pipeline, runID: runID, waitingUpTo: options.lockWait)
            do {
                try await opened.runStarted(at: Date())
            } catch {
                await opened.close()
                throw RunStateError(
                    code: .unavailable, message: "cannot record the start of the run in the ledger: \(error)")
            }
            store = opened
        }

        let runner = PipelineRunner(
            pipeline: pipeline,
            options: RunOptions(
                isDryRun: options.isDryRun, logger: options.logger, workDirectoryParent: options.workDirectoryParent,
                ledger: store, services: store?.services ?? .none, runID: runID,
                scratch: options.scratch))
        var report = await runner.run(control: control, observer: observer)
        var code = RunExitCode(report.outcome, errorOnIdle: options.errorOnIdle)
        // The metrics file first: one that cannot be written is a problem of this run, in its exit code and in the
        // report the ledger keeps (written to a temporary file and renamed, so never half a file).
        if let metricsFile = options.metricsFile {
            do {
                try PrometheusTextfile.write(report, exitCode: code.rawValue, to: metricsFile)
            } catch {
                options.logger.error("cannot write metrics to \(metricsFile.displaySafe): \(error)")
                report.problems.append(
                    RunProblem(.outputNotWritten, path: metricsFile, reason: FileSystem.describe(error)))
                code = RunExitCode(report.outcome, errorOnIdle: options.errorOnIdle)
            }
        }
        // The bookkeeping runs even when the caller's task was cancelled (a second Ctrl-C): an unstructured task
        // does not inherit the cancellation, and the ledger must learn how the run ended and release the lock.
        let (logger, isGone) = (options.logger, options.isGone)
        let finishing = store
        let finished = report
        await Task {
            await Self.finish(finished, exitCode: code, store: finishing, isGone: isGone, logger: logger)
        }.value
        return Result(report: report, exitCode: code)
    }

    private static func finish(
        _ report: RunReport, exitCode: RunExitCode, store: (any RunStateStore)?,
        isGone: (@Sendable (String) -> Bool)?, logger: Logger
    ) async {
        if let store {
            do {
                // Only a run that listed its whole source knows which earlier in-flight rows have vanished; a run that
                // listed part of it learns that from its caller, row by row.
                if report.outcome != .interrupted && report.outcome != .aborted {
                    if report.listedEverything {
                        try await store.reconcileVanished()
                    } else if let isGone {
                        try await store.reconcileVanished(where: isGone)
                    }
                }
                try await store.runFinished(
                    exitCode: exitCode.rawValue, counts: report.counts, note: report.aborted ?? report.interrupted)
                var kept = report
                kept.assets = []
                try await store.runReported(kept)
            } catch {
                logger.error("cannot record the run in the ledger: \(error)")
            }
            await store.close()
        }
    }
}
