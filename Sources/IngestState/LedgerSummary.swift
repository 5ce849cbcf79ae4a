import Foundation
import GRDB

/// A read-only view of a ledger for `ingest status` and `ingest retry`.
public struct LedgerSummary: Sendable {
    /// Creates a summary (shared ledgers build theirs).
    public init(
        counts: [String: Int], failures: [(identity: String, attempts: Int, code: String?, error: String?)],
        lastRun: (id: String, startedAt: Date, finishedAt: Date?, exitCode: Int?)?
    ) {
        self.counts = counts
        self.failures = failures
        self.lastRun = lastRun
    }

    /// Rows per status.
    public var counts: [String: Int]
    /// Failed assets: identity, attempts, error.
    public var failures: [(identity: String, attempts: Int, code: String?, error: String?)]
    /// The latest run: id, start, end, exit code.
    public var lastRun: (id: String, startedAt: Date, finishedAt: Date?, exitCode: Int?)?

    /// Reads the summary of `pipeline` from the ledger at `path`.
    public static func read(path: String, pipeline: String) throws -> LedgerSummary {
        let database = try DatabaseQueue(
            path: path,
            configuration: {
                var c = Configuration()
                c.readonly = true
                return c
            }())
        return try database.read { db in
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
            )
            .map {
                (
                    identity: $0["identity"] as String, attempts: $0["attempts"] as Int,
                    code: $0["errorCode"] as String?, error: $0["error"] as String?
                )
            }
            let last = try Row.fetchOne(
                db, sql: "SELECT * FROM run WHERE pipeline = ? ORDER BY startedAt DESC LIMIT 1", arguments: [pipeline]
            ).map {
                (
                    id: $0["runId"] as String, startedAt: $0["startedAt"] as Date,
                    finishedAt: $0["finishedAt"] as Date?, exitCode: $0["exitCode"] as Int?
                )
            }
            return LedgerSummary(counts: counts, failures: failures, lastRun: last)
        }
    }

    /// Re-queues failed assets (attempts back to 0) so the next run retries them; also rejected ones when asked.
    /// Returns how many rows changed.
    public static func requeue(path: String, pipeline: String, includeRejected: Bool) throws -> Int {
        let database = try DatabaseQueue(path: path)
        return try database.write { db in
            try db.execute(
                sql:
                    "UPDATE asset SET status = 'failed', attempts = 0, updatedAt = ? WHERE pipeline = ? AND (status = 'failed'\(includeRejected ? " OR status = 'rejected'" : ""))",
                arguments: [Date(), pipeline])
            return db.changesCount
        }
    }
}
