import Foundation
import IngestState
import Logging
import MediaIngest
import PostgresNIO

/// A shared ledger opened for the operator commands: the counts, the failures, every host's recent runs, the claims
/// held right now and the queue.
struct PostgresInspector: StateInspector {
    let database: PostgresDatabase
    let pipeline: String
    let lease: Duration
    let location: String
    let host: HostIdentity

    func status() async throws -> LedgerStatus {
        try await Self.read(database, pipeline: pipeline, lease: lease)
    }

    func requeue(includeRejected: Bool) async throws -> Int {
        try await Self.requeue(database, pipeline: pipeline, includeRejected: includeRejected)
    }

    func enqueue(_ items: [String]) async throws -> Int {
        try await PostgresWorkQueue.enqueue(items, pipeline: pipeline, by: host, database: database)
    }

    func close() async { await database.close() }

    /// Reads the status of `pipeline`.
    static func read(
        _ database: PostgresDatabase, pipeline: String, lease: Duration
    ) async throws(PostgresLedgerError) -> LedgerStatus {
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
            var failures: [LedgerStatus.Failure] = []
            for try await (identity, attempts, code, error) in try await client.query(
                """
                SELECT identity, attempts, error_code, error FROM ingest_asset
                WHERE pipeline = \(pipeline) AND status = 'failed' ORDER BY identity LIMIT 1000
                """, logger: logger
            ).decode((String, Int, String?, String?).self) {
                failures.append(
                    LedgerStatus.Failure(identity: identity, attempts: attempts, code: code, error: error))
            }
            var runs: [RecordedRun] = []
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
                    RecordedRun(
                        id: id, startedAt: started, finishedAt: finished, exitCode: exit, report: nil, host: host,
                        pid: pid, live: live))
            }
            var claims: [LedgerStatus.Claims] = []
            for try await (host, run, count, expired) in try await client.query(
                """
                SELECT COALESCE(owner_host, '?'), COALESCE(run_id, '?'), COUNT(*)::bigint,
                       COUNT(*) FILTER (WHERE lease_until IS NULL OR lease_until < now())::bigint
                FROM ingest_asset WHERE pipeline = \(pipeline) AND status = 'in_flight'
                GROUP BY 1, 2 ORDER BY 1, 2
                """, logger: logger
            ).decode((String, String, Int, Int).self) {
                claims.append(LedgerStatus.Claims(host: host, runID: run, count: count, expired: expired))
            }
            let queued =
                try await client.query(
                    """
                    SELECT COUNT(*)::bigint FROM ingest_queue q WHERE q.pipeline = \(pipeline)
                    AND NOT EXISTS (SELECT 1 FROM ingest_asset a WHERE a.pipeline = q.pipeline AND a.identity = q.item
                                    AND a.status IN ('done', 'rejected'))
                    """, logger: logger
                ).collect().first.map { try $0.decode(Int.self) } ?? 0
            return LedgerStatus(
                counts: counts, failures: failures, runs: runs,
                lastRunProblems: RecordedRun.decodeReport(lastReport ?? nil)?.problems ?? [], claims: claims,
                queued: queued)
        }
    }

    /// Re-queues failed assets (and rejected ones when asked) of `pipeline`, whichever host failed them.
    static func requeue(
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

    /// The run `id` (or the latest one on any host), with the report it kept.
    func run(id runID: String?) async throws -> RecordedRun? {
        let (pipeline, logger) = (pipeline, database.logger)
        return try await database.retrying { client in
            let rows =
                if let runID {
                    try await client.query(
                        """
                        SELECT run_id, started_at, finished_at, exit_code, report, host FROM ingest_run
                        WHERE pipeline = \(pipeline) AND run_id = \(runID)
                        """, logger: logger
                    ).collect()
                } else {
                    try await client.query(
                        """
                        SELECT run_id, started_at, finished_at, exit_code, report, host FROM ingest_run
                        WHERE pipeline = \(pipeline) ORDER BY started_at DESC LIMIT 1
                        """, logger: logger
                    ).collect()
                }
            return try rows.first.map { row in
                let (id, started, finished, code, report, host) = try row.decode(
                    (String, Date, Date?, Int?, String?, String).self)
                return RecordedRun(
                    id: id, startedAt: started, finishedAt: finished, exitCode: code,
                    report: RecordedRun.decodeReport(report), host: host)
            }
        }
    }
}
