import Foundation
import GRDB
import MediaIngest

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
    /// What the latest run could not do outside any one asset (a folder it could not list…), from its report.
    public var lastRunProblems: [RunProblem] = []

    /// The problems in a stored run report (none when it has no report, or one from before they were recorded).
    public static func problems(inReport text: String?) -> [RunProblem] {
        guard let text, let report = try? RunReport.makeDecoder().decode(RunReport.self, from: Data(text.utf8)) else {
            return []
        }
        return report.problems
    }

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
            let lastRow = try Row.fetchOne(
                db, sql: "SELECT * FROM run WHERE pipeline = ? ORDER BY startedAt DESC LIMIT 1", arguments: [pipeline])
            let last = lastRow.map {
                (
                    id: $0["runId"] as String, startedAt: $0["startedAt"] as Date,
                    finishedAt: $0["finishedAt"] as Date?, exitCode: $0["exitCode"] as Int?
                )
            }
            var summary = LedgerSummary(counts: counts, failures: failures, lastRun: last)
            summary.lastRunProblems = problems(inReport: lastRow?["report"] as String?)
            return summary
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
