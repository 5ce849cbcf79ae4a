import Foundation
import IngestState
import Logging
import MediaIngest

/// The state of runs that several hosts share: this host's `flock(2)` lock (two runs of a pipeline on one host still
/// never overlap; runs on other hosts do, which is the point), then the PostgreSQL ledger of the pipeline's
/// `state.ledger` URL. What `ingest run` and `ingest watch` use when that URL is set.
public struct PostgresRunState: RunStateProvider {
    let logger: Logger
    let environment: [String: String]

    public init(logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.logger = logger
        self.environment = environment
    }

    public func open(
        for pipeline: Pipeline, runID: String, waitingUpTo wait: Duration
    ) async throws(RunStateError) -> any RunStateStore {
        let state = pipeline.state
        guard case .postgres(let url) = state.ledger else {
            throw RunStateError(
                code: .unavailable, message: "\(pipeline.name): state.ledger is not a postgresql:// URL")
        }
        let lock: PipelineLock
        do {
            lock = try await PipelineLock.acquire(path: state.lockPath, waitingUpTo: wait)
        } catch {
            throw RunStateError(code: error.code == .held ? .lockHeld : .unavailable, message: "\(error)")
        }
        do {
            let database = try await Self.connect(url: url, state: state, environment: environment, logger: logger)
            return PostgresLedger(
                database: database, pipeline: pipeline.name, runID: runID, maxAttempts: state.maxAttempts,
                dedupeByContent: state.dedupe == .content, lease: state.lease, lock: lock, logger: logger)
        } catch {
            lock.release()
            throw RunStateError(code: .unavailable, message: "cannot open the ledger \(state.ledger): \(error)")
        }
    }

    /// Opens the database of a pipeline's shared ledger (also for `status`, `retry` and `enqueue`).
    public static func connect(
        url: String, state: StateSettings, environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger
    ) async throws(PostgresLedgerError) -> PostgresDatabase {
        let settings = try PostgresSettings(url: url, passwordFile: state.passwordFile, environment: environment)
        return try await PostgresDatabase.open(settings, logger: logger)
    }
}

/// The state a pipeline's `state.ledger` asks for: ``PostgresRunState`` for a `postgresql://` URL, else the SQLite
/// ledger of one host (`SQLiteRunState`). Decided at each open, so a watcher whose pipeline file changes follows it.
public struct LedgerRunState: RunStateProvider {
    let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func open(
        for pipeline: Pipeline, runID: String, waitingUpTo wait: Duration
    ) async throws(RunStateError) -> any RunStateStore {
        switch pipeline.state.ledger {
        case .postgres:
            return try await PostgresRunState(logger: logger).open(for: pipeline, runID: runID, waitingUpTo: wait)
        case .file:
            return try await SQLiteRunState().open(for: pipeline, runID: runID, waitingUpTo: wait)
        }
    }
}
