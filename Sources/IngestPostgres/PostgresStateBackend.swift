import Foundation
import IngestState
import Logging
import MediaIngest

/// The state of runs that several hosts share: this host's `flock(2)` lock (two runs of a pipeline on one host still
/// never overlap; runs on other hosts do, which is the point), then the PostgreSQL ledger of the pipeline's
/// `state.ledger` URL. What `ingest run` and `ingest watch` use when that URL is set.
public struct PostgresStateBackend: StateBackend {
    let logger: Logger
    let environment: [String: String]
    let host: HostIdentity

    /// - Parameters:
    ///   - environment: where `PGPASSWORD` and the like are read.
    ///   - host: who claims assets (this process; a test may speak for several hosts).
    public init(
        logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment,
        host: HostIdentity = .current
    ) {
        self.logger = logger
        self.environment = environment
        self.host = host
    }

    /// Claims under leases, the queue of `ingest enqueue`, the request budget every host paces by.
    public var features: StateFeatures { [.sharedClaims, .workQueue, .requestBudget] }

    public func open(
        for pipeline: Pipeline, runID: String, waitingUpTo wait: Duration
    ) async throws(RunStateError) -> any RunStateStore {
        let state = pipeline.state
        let url = try Self.url(of: pipeline)
        let lock: PipelineLock
        do {
            lock = try await PipelineLock.acquire(path: state.lockPath, waitingUpTo: wait)
        } catch {
            throw RunStateError(code: error.code == .held ? .lockHeld : .unavailable, message: "\(error)")
        }
        do {
            let database = try await connect(url: url, state: state)
            return PostgresLedger(
                database: database, pipeline: pipeline.name, runID: runID, maxAttempts: state.maxAttempts,
                dedupeByContent: state.dedupe == .content, lease: state.lease, host: host, lock: lock, logger: logger)
        } catch {
            lock.release()
            throw RunStateError(code: .unavailable, message: "cannot open the ledger \(state.ledger): \(error)")
        }
    }

    /// The database holds every pipeline's rows: a pipeline that never ran reads as empty, not as missing.
    public func inspector(for pipeline: Pipeline) async throws(RunStateError) -> (any StateInspector)? {
        let url = try Self.url(of: pipeline)
        do {
            let database = try await connect(url: url, state: pipeline.state)
            return PostgresInspector(
                database: database, pipeline: pipeline.name, lease: pipeline.state.lease,
                location: pipeline.state.ledger.description, host: host)
        } catch {
            throw RunStateError(
                code: .unavailable, message: "cannot open the ledger \(pipeline.state.ledger): \(error)")
        }
    }

    public func diagnose(_ pipeline: Pipeline) async -> Diagnosis {
        do {
            let database = try await connect(url: try Self.url(of: pipeline), state: pipeline.state)
            let version = try? await database.serverVersion()
            await database.close()
            return Diagnosis(
                "ledger", .pass, "PostgreSQL \(version ?? "?") at \(pipeline.state.ledger) answers, schema up to date")
        } catch {
            return Diagnosis(
                "ledger", .fail, "cannot open \(pipeline.state.ledger): \(error)",
                fix:
                    "check the URL, PGPASSWORD (or state.passwordFile) and that the server accepts this host (pg_hba.conf)"
            )
        }
    }

    static func url(of pipeline: Pipeline) throws(RunStateError) -> String {
        guard case .postgres(let url) = pipeline.state.ledger else {
            throw RunStateError(
                code: .unavailable, message: "\(pipeline.name): state.ledger is not a postgresql:// URL")
        }
        return url
    }

    /// Opens the database of a pipeline's shared ledger (migrating its schema).
    func connect(url: String, state: StateSettings) async throws(PostgresLedgerError) -> PostgresDatabase {
        let settings = try PostgresSettings(url: url, passwordFile: state.passwordFile, environment: environment)
        return try await PostgresDatabase.open(settings, logger: logger)
    }
}
