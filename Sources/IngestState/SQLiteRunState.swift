import Foundation
import GRDB
import MediaIngest

/// The state of runs on one machine: the pipeline's `flock(2)` lock file, then its SQLite ledger (the paths of the
/// pipeline's `state` block). What `ingest run` uses.
public struct SQLiteRunState: RunStateProvider {
    public init() {}

    public func open(
        for pipeline: Pipeline, runID: String, waitingUpTo wait: Duration
    ) async throws(RunStateError) -> any RunStateStore {
        let settings = pipeline.state
        let lock: PipelineLock
        do {
            lock = try await PipelineLock.acquire(path: settings.lockPath, waitingUpTo: wait)
        } catch {
            throw RunStateError(code: error.code == .held ? .lockHeld : .unavailable, message: "\(error)")
        }
        do {
            return try SQLiteLedger(
                path: settings.ledgerPath, pipeline: pipeline.name, runID: runID, maxAttempts: settings.maxAttempts,
                dedupeByContent: settings.dedupe == .content, lock: lock)
        } catch {
            lock.release()
            var reason = "\(error)"
            if let database = error as? DatabaseError {
                let said = SQLiteLedgerError(path: settings.ledgerPath, underlying: database)
                if said.isDiskFull { reason = "no space left on its disk (SQLite: \(database.message ?? "full"))" }
            }
            throw RunStateError(code: .unavailable, message: "cannot open the ledger \(settings.ledgerPath): \(reason)")
        }
    }
}
