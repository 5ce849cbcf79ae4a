import Foundation
import IngestState
import Logging
import MediaIngest
import PostgresNIO

/// What `ingest status` shows of a shared ledger: the counts, the failures, every host's recent runs and the claims
/// held right now.
public struct SharedLedgerStatus: Sendable {
    /// A run on some host.
    public struct Run: Sendable {
        public var id: String
        public var host: String
        public var pid: Int
        public var startedAt: Date
        public var finishedAt: Date?
        public var exitCode: Int?
        /// Whether its heartbeat is recent (within two leases) and it has not finished.
        public var live: Bool
    }

    /// Claims held by one run.
    public struct Claims: Sendable {
        public var host: String
        public var runID: String
        public var count: Int
        public var expired: Int
    }

    public var summary: LedgerSummary
    public var runs: [Run]
    public var claims: [Claims]
    public var queued: Int

    /// Reads the status of `pipeline`.
    public static func read(
        _ database: PostgresDatabase, pipeline: String, lease: Duration
    ) async throws(PostgresLedgerError) -> SharedLedgerStatus {
        let logger = database.logger
        let liveWindow = Double(lease.components.seconds) * 2 + 1
        return try await database.retrying { client in
            var counts: [String: Int] = [:]
            for try await (status, count) in try await client.query(
                "SELECT status, COUNT(*)::bigint FROM ingest_asset WHERE pipeline = \(pipeline) GROUP BY status",
                logger: logger
            ).decode((String, Int).self) {
                counts[status] = count
            }
            var failures: [(identity: String, attempts: Int, code: String?, error: String?)] = []
            for try await (identity, attempts, code, error) in try await client.query(
                """
                SELECT identity, attempts, error_code, error FROM ingest_asset
                WHERE pipeline = \(pipeline) AND status = 'failed' ORDER BY identity LIMIT 1000
                """, logger: logger
            ).decode((String, Int, String?, String?).self) {
                failures.append((identity, attempts, code, error))
            }
            var runs: [Run] = []
            var lastReport: String??
            for try await (id, host, pid, started, finished, exit, live, report) in try await client.query(
                """
                SELECT run_id, host, pid, started_at, finished_at, exit_code,
                       finished_at IS NULL AND heartbeat_at > now() - make_interval(secs => \(liveWindow)), report
                FROM ingest_run WHERE pipeline = \(pipeline) ORDER BY started_at DESC LIMIT 20
                """, logger: logger
            ).decode((String, String, Int, Date, Date?, Int?, Bool, String?).self) {
                if lastReport == nil { lastReport = .some(report) }
                runs.append(
                    Run(
                        id: id, host: host, pid: pid, startedAt: started, finishedAt: finished, exitCode: exit,
                        live: live))
            }
            var claims: [Claims] = []
            for try await (host, run, count, expired) in try await client.query(
                """
                SELECT COALESCE(owner_host, '?'), COALESCE(run_id, '?'), COUNT(*)::bigint,
                       COUNT(*) FILTER (WHERE lease_until IS NULL OR lease_until < now())::bigint
                FROM ingest_asset WHERE pipeline = \(pipeline) AND status = 'in_flight'
                GROUP BY 1, 2 ORDER BY 1, 2
                """, logger: logger
            ).decode((String, String, Int, Int).self) {
                claims.append(Claims(host: host, runID: run, count: count, expired: expired))
            }
            let queued =
                try await client.query(
                    """
                    SELECT COUNT(*)::bigint FROM ingest_queue q WHERE q.pipeline = \(pipeline)
                    AND NOT EXISTS (SELECT 1 FROM ingest_asset a WHERE a.pipeline = q.pipeline AND a.identity = q.item
                                    AND a.status IN ('done', 'rejected'))
                    """, logger: logger
                ).collect().first.map { try $0.decode(Int.self) } ?? 0
            let last = runs.first.map {
                (id: $0.id, startedAt: $0.startedAt, finishedAt: $0.finishedAt, exitCode: $0.exitCode)
            }
            var summary = LedgerSummary(counts: counts, failures: failures, lastRun: last)
            summary.lastRunProblems = LedgerSummary.problems(inReport: lastReport ?? nil)
            return SharedLedgerStatus(summary: summary, runs: runs, claims: claims, queued: queued)
        }
    }

    /// Re-queues failed assets (and rejected ones when asked) of `pipeline`, whichever host failed them.
    public static func requeue(
        _ database: PostgresDatabase, pipeline: String, includeRejected: Bool
    ) async throws(PostgresLedgerError) -> Int {
        let logger = database.logger
        let statuses = includeRejected ? ["failed", "rejected"] : ["failed"]
        return try await database.retrying { client in
            try await client.query(
                """
                UPDATE ingest_asset SET status = 'failed', attempts = 0, updated_at = now()
                WHERE pipeline = \(pipeline) AND status = ANY(\(statuses)::text[])
                RETURNING 1
                """, logger: logger
            ).count()
        }
    }

    /// Adds items to the pipeline's queue; returns how many were new.
    public static func enqueue(
        _ items: [String], pipeline: String, database: PostgresDatabase
    ) async throws(PostgresLedgerError) -> Int {
        try await PostgresWorkQueue.enqueue(items, pipeline: pipeline, by: .current, database: database)
    }
}
