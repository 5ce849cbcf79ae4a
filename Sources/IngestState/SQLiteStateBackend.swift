import Foundation
import GRDB
import MediaIngest

/// The state of runs on one machine: the pipeline's `flock(2)` lock file, then its SQLite ledger (the paths of the
/// pipeline's `state` block). What `ingest run` uses unless `state.ledger` is a `postgresql://` URL.
public struct SQLiteStateBackend: StateBackend {
    public init() {}

    /// The state machine, nothing more: one host, no queue, no shared budget.
    public var features: StateFeatures { [] }

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
            throw RunStateError(
                code: .unavailable,
                message:
                    "cannot open the ledger \(settings.ledgerPath): \(Self.reason(error, path: settings.ledgerPath))")
        }
    }

    public func inspector(for pipeline: Pipeline) async throws(RunStateError) -> (any StateInspector)? {
        let path = pipeline.state.ledgerPath
        guard FileSystem.exists(path) else { return nil }
        do {
            return try SQLiteInspector(path: path, pipeline: pipeline.name, lockPath: pipeline.state.lockPath)
        } catch {
            throw RunStateError(
                code: .unavailable, message: "cannot open the ledger \(path): \(Self.reason(error, path: path))")
        }
    }

    public func diagnose(_ pipeline: Pipeline) async -> Diagnosis {
        let path = pipeline.state.ledgerPath
        if FileSystem.exists(path) {
            do {
                guard let inspector = try await inspector(for: pipeline) else { throw CocoaError(.fileNoSuchFile) }
                let total = try await inspector.status().counts.values.reduce(0, +)
                return Diagnosis("ledger", .pass, "\(path) opens (\(total) asset\(total == 1 ? "" : "s"))")
            } catch {
                return Diagnosis(
                    "ledger", .fail, "\(path) cannot be read: \(error)",
                    fix:
                        "move it aside; the next run starts a new ledger (and re-uploads nothing Wix has, with state.dedupe target)"
                )
            }
        }
        var existing = (path as NSString).deletingLastPathComponent
        while !FileSystem.exists(existing), existing != "/" {
            existing = (existing as NSString).deletingLastPathComponent
        }
        guard access(existing, W_OK) == 0 else {
            return Diagnosis(
                "ledger", .fail, "\(path) cannot be created (\(existing) is not writable)",
                fix: "set state.ledger to a writable place")
        }
        return Diagnosis("ledger", .pass, "\(path) will be created by the first run")
    }

    /// Why the ledger at `path` did not open, in words: a full disk says so.
    static func reason(_ error: any Error, path: String) -> String {
        if let database = error as? DatabaseError {
            let said = SQLiteLedgerError(path: path, underlying: database)
            if said.isDiskFull { return "no space left on its disk (SQLite: \(database.message ?? "full"))" }
        }
        return "\(error)"
    }
}

/// A SQLite ledger opened for the operator commands.
struct SQLiteInspector: StateInspector {
    let database: DatabaseQueue
    let path: String
    let pipeline: String
    let lockPath: String

    /// Opens the ledger read-only (`status` works where it cannot be written); ``requeue(includeRejected:)`` opens
    /// it for writing.
    init(path: String, pipeline: String, lockPath: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        database = try DatabaseQueue(path: path, configuration: configuration)
        self.path = path
        self.pipeline = pipeline
        self.lockPath = lockPath
    }

    var location: String { path }

    func status() async throws -> LedgerStatus {
        let pipeline = pipeline
        return try await database.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT status, COUNT(*) AS n FROM asset WHERE pipeline = ? GROUP BY status",
                arguments: [pipeline])
            {
                counts[row["status"]] = row["n"]
            }
            let failures = try Row.fetchAll(
                db,
                sql:
                    "SELECT identity, attempts, errorCode, error FROM asset WHERE pipeline = ? AND status = 'failed' ORDER BY identity",
                arguments: [pipeline]
            ).map {
                LedgerStatus.Failure(
                    identity: $0["identity"], attempts: $0["attempts"], code: $0["errorCode"], error: $0["error"])
            }
            let last = try Self.run(db, pipeline: pipeline, id: nil)
            return LedgerStatus(
                counts: counts, failures: failures, runs: last.map { [$0] } ?? [],
                lastRunProblems: last?.report?.problems ?? [])
        }
    }

    /// Holds the pipeline's lock (without waiting) while it changes rows: a run in progress would not see them.
    func requeue(includeRejected: Bool) async throws -> Int {
        let lock: PipelineLock
        do {
            lock = try PipelineLock(path: lockPath)
        } catch {
            throw RunStateError(code: error.code == .held ? .lockHeld : .unavailable, message: "\(error)")
        }
        defer { lock.release() }
        let pipeline = pipeline
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        return try await DatabaseQueue(path: path, configuration: configuration).write { db in
            try db.execute(
                sql: """
                    UPDATE asset SET status = 'failed', attempts = 0, updatedAt = ?
                    WHERE pipeline = ? AND (status = 'failed'\(includeRejected ? " OR status = 'rejected'" : ""))
                    """,
                arguments: [Date(), pipeline])
            return db.changesCount
        }
    }

    func run(id: String?) async throws -> RecordedRun? {
        let pipeline = pipeline
        return try await database.read { db in try Self.run(db, pipeline: pipeline, id: id) }
    }

    /// The run `id` (or the latest) of `pipeline`, with its kept report (ledgers from before v5 have none).
    static func run(_ db: Database, pipeline: String, id: String?) throws -> RecordedRun? {
        let hasReports = try db.columns(in: "run").contains { $0.name == "report" }
        let select = "SELECT runId, startedAt, finishedAt, exitCode\(hasReports ? ", report" : "") FROM run"
        let row =
            try id.map {
                try Row.fetchOne(db, sql: select + " WHERE pipeline = ? AND runId = ?", arguments: [pipeline, $0])
            }
            ?? Row.fetchOne(
                db, sql: select + " WHERE pipeline = ? ORDER BY startedAt DESC LIMIT 1", arguments: [pipeline])
        return row.map { row in
            RecordedRun(
                id: row["runId"], startedAt: row["startedAt"], finishedAt: row["finishedAt"],
                exitCode: row["exitCode"], report: RecordedRun.decodeReport(hasReports ? row["report"] : nil))
        }
    }
}
