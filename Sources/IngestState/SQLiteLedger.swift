import Foundation
import GRDB
import MediaIngest

/// The SQLite ledger (GRDB): one row per source asset of a pipeline, keyed by ``Asset/ledgerKey`` (the file's path
/// relative to its source's root — prefixed with the source's name for all but the first source — or its URL) and
/// remembering size, modification time and content SHA-256. Statuses and re-run rules are ``RerunRule``'s.
///
/// Writes use WAL and `synchronous=FULL`, so a row acknowledged before a crash survives it.
public final class SQLiteLedger: RunStateStore {
    let database: DatabasePool
    /// The pipeline's lock, held while the ledger is open for a run (``SQLiteStateBackend``); released by ``close()``.
    let lock: PipelineLock?
    let pipeline: String
    let runID: String
    let maxAttempts: Int
    let dedupeByContent: Bool

    /// Opens (creating if needed) the ledger at `path`.
    public init(
        path: String, pipeline: String, runID: String, maxAttempts: Int, dedupeByContent: Bool,
        lock: PipelineLock? = nil
    ) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        database = try DatabasePool(path: path, configuration: configuration)
        self.pipeline = pipeline
        self.runID = runID
        self.maxAttempts = maxAttempts
        self.dedupeByContent = dedupeByContent
        self.lock = lock
        try Self.migrator.migrate(database)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "asset") { table in
                table.column("pipeline", .text).notNull()
                table.column("identity", .text).notNull()
                table.column("size", .integer)
                table.column("mtimeNs", .integer)
                table.column("sha256", .text)
                table.column("status", .text).notNull()
                table.column("attempts", .integer).notNull().defaults(to: 0)
                table.column("errorCode", .text)
                table.column("error", .text)
                table.column("targetId", .text)
                table.column("targetUrl", .text)
                table.column("targetStatus", .text)
                table.column("uploadMD5", .text)
                table.column("runId", .text)
                table.column("firstSeen", .datetime).notNull()
                table.column("updatedAt", .datetime).notNull()
                table.primaryKey(["pipeline", "identity"])
            }
            try db.create(index: "asset_sha256", on: "asset", columns: ["pipeline", "sha256"])
            try db.create(table: "run") { table in
                table.column("runId", .text).primaryKey()
                table.column("pipeline", .text).notNull()
                table.column("startedAt", .datetime).notNull()
                table.column("finishedAt", .datetime)
                table.column("exitCode", .integer)
                table.column("counts", .text)
                table.column("note", .text)
            }
        }
        migrator.registerMigration("v2 pending uploads") { db in
            // An upload that began without an answer (killed, interrupted, lost): what the next run looks for.
            try db.alter(table: "asset") { table in
                table.add(column: "uploadStartedAt", .datetime)
                table.add(column: "uploadName", .text)
                table.add(column: "uploadSize", .integer)
                table.add(column: "uploadFolder", .text)
                table.add(column: "uploadPath", .text)
                table.add(column: "targetHash", .text)
            }
        }
        migrator.registerMigration("v3 in-flight index") { db in
            // Reconciling after every run (and every watch batch) looks for earlier runs' in-flight rows: a few
            // rows among possibly hundreds of thousands, found without reading the others.
            try db.execute(sql: "CREATE INDEX asset_in_flight ON asset (pipeline, runId) WHERE status = 'in_flight'")
        }
        migrator.registerMigration("v4 stored content and sidecars") { db in
            // The SHA-256 of the bytes each upload stored (after stripping) and the kind of target, so
            // `state.dedupe: "target"` finds earlier uploads of the same bytes; the sidecars paired with the asset.
            try db.alter(table: "asset") { table in
                table.add(column: "sentSha256", .text)
                table.add(column: "targetKind", .text)
                table.add(column: "sidecars", .text)
            }
            try db.execute(
                sql: "CREATE INDEX asset_sent_sha256 ON asset (pipeline, sentSha256) WHERE sentSha256 IS NOT NULL")
        }
        migrator.registerMigration("v5 run reports") { db in
            // The run's report without its asset records (`ingest report`).
            try db.alter(table: "run") { table in table.add(column: "report", .text) }
        }
        migrator.registerMigration("v6 asset values") { db in
            // Every checkpointed value of an asset (``AssetValues``) in one JSON object; the v2 columns of a pending Wix
            // upload become its `wix.pendingUpload` value (dates as JSONEncoder's default: seconds since 2001) and are
            // no longer written.
            try db.alter(table: "asset") { table in table.add(column: "assetValues", .text) }
            try db.execute(
                sql: """
                    UPDATE asset SET assetValues = json_object('wix.pendingUpload', json_object(
                        'startedAt', (julianday(uploadStartedAt) - 2451910.5) * 86400.0, 'fileName', COALESCE(uploadName, ''),
                        'size', COALESCE(uploadSize, -1), 'folderID', uploadFolder, 'folderPath', uploadPath))
                    WHERE uploadStartedAt IS NOT NULL
                    """)
        }
        return migrator
    }

    // MARK: AssetLedger

    public func begin(_ asset: Asset) async throws -> LedgerDecision {
        let identity = asset.ledgerKey
        let size = asset.size
        let mtime = RerunRule.mtimeNanoseconds(asset.modificationDate)
        let pipeline = pipeline
        let runID = runID
        let maxAttempts = maxAttempts
        // A re-run skips most rows: decide that on a reader (WAL lets every worker read at once), without the writer
        // and without hashing the file. The write below decides again, on the row as it is then.
        let unchanged = try await database.read { db -> String? in
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql:
                            "SELECT status, size, mtimeNs, attempts, runId, error FROM asset WHERE pipeline = ? AND identity = ?"
                    ),
                    arguments: [pipeline, identity])
            else { return nil }
            return Self.skipReason(row, size: size, mtime: mtime, maxAttempts: maxAttempts)
        }
        if let unchanged { return .skip(reason: unchanged) }
        let contentHash: String? =
            dedupeByContent ? asset.origin.path.flatMap { try? FileHashing.sha256(ofFileAt: $0) } : nil
        return try await writing { db -> LedgerDecision in
            let now = Date()
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM asset WHERE pipeline = ? AND identity = ?"),
                arguments: [pipeline, identity])
            if let contentHash, row?["status"] as String? != "done",
                let twin = try Row.fetchOne(
                    db,
                    sql:
                        "SELECT identity, runId FROM asset WHERE pipeline = ? AND sha256 = ? AND status = 'done' AND identity != ?",
                    arguments: [pipeline, contentHash, identity])
            {
                return .skip(
                    reason:
                        "same content as \(twin["identity"] as String), done in run \(twin["runId"] as String? ?? "?")")
            }
            guard let row else {
                try db.cachedStatement(
                    sql:
                        "INSERT INTO asset (pipeline, identity, size, mtimeNs, sha256, status, attempts, runId, firstSeen, updatedAt) VALUES (?, ?, ?, ?, ?, 'in_flight', 1, ?, ?, ?)"
                ).execute(arguments: [pipeline, identity, size, mtime, contentHash, runID, now, now])
                return .process(recovery: nil)
            }
            let status: String = row["status"]
            let changed = Self.changed(row, size: size, mtime: mtime)
            let attempts: Int = row["attempts"]
            if let reason = Self.skipReason(row, size: size, mtime: mtime, maxAttempts: maxAttempts) {
                return .skip(reason: reason)
            }
            let recovery: Asset.Recovery? =
                changed && status != "in_flight"
                ? nil
                : Asset.Recovery(
                    attempt: attempts + 1, wasInFlight: status == "in_flight", previousTargetID: row["targetId"],
                    values: AssetValues(checkpointJSON: row["assetValues"]))
            try db.execute(
                sql: """
                    UPDATE asset SET size = ?, mtimeNs = ?, sha256 = COALESCE(?, sha256), status = 'in_flight', attempts = ?, runId = ?, updatedAt = ?
                    \(changed && status != "in_flight" ? ", targetId = NULL, targetUrl = NULL, targetStatus = NULL, uploadMD5 = NULL, error = NULL, errorCode = NULL, assetValues = NULL, targetHash = NULL" : "")
                    WHERE pipeline = ? AND identity = ?
                    """,
                arguments: [size, mtime, contentHash, changed ? 1 : attempts + 1, runID, now, pipeline, identity])
            return .process(recovery: recovery)
        }
    }

    /// The row's kept values with `new`'s replacing those of the same name (``AssetValues/merging(kept:new:)``), read
    /// and written in one transaction.
    /// `nil` (the row's kept as they are: no read) when `new` has none.
    static func mergedValues(_ db: Database, _ new: String?, pipeline: String, identity: String) throws -> String? {
        guard new != nil else { return nil }
        let kept = try String.fetchOne(
            db.cachedStatement(sql: "SELECT assetValues FROM asset WHERE pipeline = ? AND identity = ?"),
            arguments: [pipeline, identity])
        return AssetValues.merging(kept: kept, new: new)
    }

    /// Whether the file differs from the row (``RerunRule/changed(storedSize:storedMtime:size:mtime:)``).
    static func changed(_ row: Row, size: Int64?, mtime: Int64?) -> Bool {
        RerunRule.changed(storedSize: row["size"], storedMtime: row["mtimeNs"], size: size, mtime: mtime)
    }

    /// Why an unchanged row is skipped (``RerunRule/skipReason(status:attempts:runID:error:maxAttempts:)``), or `nil`.
    static func skipReason(_ row: Row, size: Int64?, mtime: Int64?, maxAttempts: Int) -> String? {
        guard !changed(row, size: size, mtime: mtime) else { return nil }
        return RerunRule.skipReason(
            status: row["status"], attempts: row["attempts"], runID: row["runId"], error: row["error"],
            maxAttempts: maxAttempts)
    }

    public func checkpoint(_ asset: Asset) async throws {
        let identity = asset.ledgerKey
        let pipeline = pipeline
        // An archived source (moved or deleted after a confirmed upload) is done: no later run can see it again.
        let archived = asset.sourceArchived && asset.target?.confirmed == true
        let values = asset.values.checkpointJSON
        try await writing { db in
            let merged = try Self.mergedValues(db, values, pipeline: pipeline, identity: identity)
            try db.execute(
                sql: """
                    UPDATE asset SET targetId = COALESCE(?, targetId), targetUrl = COALESCE(?, targetUrl), targetStatus = COALESCE(?, targetStatus),
                    uploadMD5 = COALESCE(?, uploadMD5), targetHash = COALESCE(?, targetHash), sha256 = COALESCE(?, sha256),
                    assetValues = COALESCE(?, assetValues),
                    sentSha256 = COALESCE(?, sentSha256), targetKind = COALESCE(?, targetKind),
                    updatedAt = ?\(archived ? ", status = 'done'" : "")
                    WHERE pipeline = ? AND identity = ?
                    """,
                arguments: [
                    asset.target?.id, asset.target?.url, asset.target?.status, asset.target?.sentMD5,
                    asset.target?.reportedHash, asset.sourceSHA256,
                    merged,
                    asset.target?.sentSHA256, asset.target?.target,
                    Date(), pipeline, identity,
                ])
        }
    }

    public func record(_ result: AssetResult) async throws {
        guard let finalStatus = RerunRule.status(for: result) else { return }
        let asset = result.asset
        let identity = asset.ledgerKey
        let code = result.rejection?.code.rawValue ?? result.failure?.code.rawValue
        let message = result.rejection?.reason ?? result.failure?.message
        let pipeline = pipeline
        let runID = runID
        let values = asset.values.checkpointJSON
        try await writing { db in
            let merged = try Self.mergedValues(db, values, pipeline: pipeline, identity: identity)
            // Cached: one compiled statement per connection, not one per asset.
            try db.cachedStatement(
                sql: """
                    UPDATE asset SET status = ?, errorCode = ?, error = ?, targetId = COALESCE(?, targetId), targetUrl = COALESCE(?, targetUrl),
                    targetStatus = COALESCE(?, targetStatus), uploadMD5 = COALESCE(?, uploadMD5), targetHash = COALESCE(?, targetHash),
                    sha256 = COALESCE(?, sha256), sentSha256 = COALESCE(?, sentSha256), targetKind = COALESCE(?, targetKind),
                    sidecars = ?, assetValues = COALESCE(?, assetValues),
                    runId = ?, updatedAt = ?
                    WHERE pipeline = ? AND identity = ?
                    """
            ).execute(
                arguments: [
                    finalStatus, code, message, asset.target?.id, asset.target?.url, asset.target?.status,
                    asset.target?.sentMD5,
                    asset.target?.reportedHash, asset.sourceSHA256, asset.target?.sentSHA256, asset.target?.target,
                    RerunRule.sidecarList(asset), merged, runID, Date(), pipeline, identity,
                ])
        }
    }

    public func uploads(ofContent sha256: String, target: String) async throws -> [String] {
        let pipeline = pipeline
        return try await database.read { db in
            try String.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT targetId FROM asset WHERE pipeline = ? AND sentSha256 = ? AND targetKind = ?
                        AND status = 'done' AND targetId IS NOT NULL ORDER BY updatedAt DESC LIMIT 20
                        """),
                arguments: [pipeline, sha256, target])
        }
    }

    public func recordedTargetID(forKey ledgerKey: String) async throws -> String? {
        let pipeline = pipeline
        return try await database.read { db in
            try String.fetchOne(
                db, sql: "SELECT targetId FROM asset WHERE pipeline = ? AND identity = ?",
                arguments: [pipeline, ledgerKey])
        }
    }

    // MARK: Runs, status, retry

    /// After a run that read its whole source: rows still `in_flight` from earlier runs belong to files the source
    /// no longer lists (a run was killed after archiving them, or someone removed them). With a confirmed upload they
    /// are done; without one they are failed with a reason. Returns how many rows changed.
    @discardableResult
    public func reconcileVanished() async throws -> Int {
        let (pipeline, runID) = (pipeline, runID)
        return try await writing { db in try Self.settleVanished(db, pipeline: pipeline, runID: runID) }
    }

    /// After a run that read part of its source: the same, for the earlier in-flight rows whose key `isGone` names.
    @discardableResult
    public func reconcileVanished(where isGone: @Sendable (String) -> Bool) async throws -> Int {
        let (pipeline, runID) = (pipeline, runID)
        let stale = try await database.read { db in
            try String.fetchAll(
                db, sql: "SELECT identity FROM asset WHERE \(Self.earlierInFlight)", arguments: [pipeline, runID])
        }
        let gone = stale.filter(isGone)
        guard !gone.isEmpty else { return 0 }
        return try await writing { db in
            try gone.reduce(0) { $0 + (try Self.settleVanished(db, pipeline: pipeline, runID: runID, identity: $1)) }
        }
    }

    /// Earlier runs' in-flight rows of this pipeline (arguments: pipeline, run id), found through `asset_in_flight`.
    static let earlierInFlight = "pipeline = ? AND status = 'in_flight' AND runId != ?"

    /// Settles earlier runs' in-flight rows — all of them, or the one of `identity`: done with a READY target,
    /// else failed `source_vanished`.
    private static func settleVanished(
        _ db: Database, pipeline: String, runID: String, identity: String? = nil
    ) throws -> Int {
        let scope = earlierInFlight + (identity == nil ? "" : " AND identity = ?")
        let arguments: StatementArguments = identity.map { [pipeline, runID, $0] } ?? [pipeline, runID]
        try db.execute(
            sql: "UPDATE asset SET status = 'done', updatedAt = ? WHERE \(scope) AND targetStatus = 'READY'",
            arguments: [Date()] + arguments)
        var changed = db.changesCount
        try db.execute(
            sql: """
                UPDATE asset SET status = 'failed', errorCode = ?, error = ?, updatedAt = ?
                WHERE \(scope)
                """,
            arguments: [RerunRule.vanishedCode, RerunRule.vanishedMessage, Date()] + arguments)
        changed += db.changesCount
        return changed
    }

    /// Notes the start of a run.
    public func runStarted(at date: Date) async throws {
        let (pipeline, runID) = (pipeline, runID)
        try await writing { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO run (runId, pipeline, startedAt) VALUES (?, ?, ?)",
                arguments: [runID, pipeline, date])
        }
    }

    /// Notes the end of a run with its exit code and counts.
    public func runFinished(exitCode: Int32, counts: [String: Int], note: String?) async throws {
        let encoded = String(decoding: (try? JSONEncoder().encode(counts)) ?? Data(), as: UTF8.self)
        let runID = runID
        try await writing { db in
            try db.execute(
                sql: "UPDATE run SET finishedAt = ?, exitCode = ?, counts = ?, note = ? WHERE runId = ?",
                arguments: [Date(), Int(exitCode), encoded, note, runID])
        }
    }

    public func runReported(_ report: RunReport) async throws {
        let text = String(
            decoding: SafeJSON.escaping(try RunReport.makeEncoder(pretty: false).encode(report)), as: UTF8.self)
        let runID = runID
        try await writing { db in
            try db.execute(sql: "UPDATE run SET report = ? WHERE runId = ?", arguments: [text, runID])
        }
    }

    /// Releases the pipeline's lock. The database closes when the last reference goes.
    public func close() async { lock?.release() }
}
