import Foundation
import Logging
import MediaIngest
import PostgresNIO

/// The request budget hosts share: one token bucket row per Wix site in `ingest_budget`.
///
/// Each ``take(key:perMinute:)`` is one atomic `UPDATE` that refills the bucket for the time since its last use (burst
/// one) and takes a token, possibly going negative: the caller then waits for its turn. So concurrent hosts queue up
/// in the database's order, and together send at most `perMinute`.
struct PostgresRequestBudget: SharedRequestBudget {
    let database: PostgresDatabase

    func take(key: String, perMinute: Int) async throws -> Duration {
        let perSecond = Double(max(1, perMinute)) / 60
        let logger = database.logger
        let tokens = try await database.retrying { client -> Double in
            for _ in 0..<2 {
                let rows = try await client.query(
                    """
                    UPDATE ingest_budget SET
                        tokens = LEAST(1.0, tokens + EXTRACT(EPOCH FROM (clock_timestamp() - refilled_at)) * \(perSecond)) - 1.0,
                        refilled_at = clock_timestamp()
                    WHERE key = \(key) RETURNING tokens
                    """, logger: logger
                ).collect()
                if let row = rows.first { return try row.decode(Double.self) }
                try await client.query(
                    "INSERT INTO ingest_budget (key, tokens, refilled_at) VALUES (\(key), 1.0, clock_timestamp()) ON CONFLICT DO NOTHING",
                    logger: logger)
            }
            return 0
        }
        guard tokens < 0 else { return .zero }
        return .milliseconds(Int64((-tokens / perSecond * 1000).rounded(.up)))
    }

    func markThrottled(key: String) async throws {
        let logger = database.logger
        _ = try await database.retrying(for: .seconds(5)) { client in
            try await client.query(
                """
                INSERT INTO ingest_budget (key, tokens, refilled_at, throttled_at) VALUES (\(key), 0.0, clock_timestamp(), now())
                ON CONFLICT (key) DO UPDATE SET throttled_at = now()
                """, logger: logger)
        }
    }

    var sharesBytes: Bool { true }

    /// The byte schedule of `key` is the row's `refilled_at`, used as the theoretical arrival time of a generic cell
    /// rate algorithm: each reservation moves it `bytes / rate` past the later of itself and now, in one statement, so
    /// hosts reserving at once are served one after the other.
    func reserveBytes(key: String, bytes: Int64, bytesPerSecond: Int64, burst: Duration) async throws -> Duration {
        let seconds = Double(bytes) / Double(max(1, bytesPerSecond))
        let rowKey = "bytes|" + key
        let logger = database.logger
        let ahead = try await database.retrying { client -> Double in
            let rows = try await client.query(
                """
                INSERT INTO ingest_budget (key, tokens, refilled_at)
                VALUES (\(rowKey), 0.0, clock_timestamp() + make_interval(secs => \(seconds)))
                ON CONFLICT (key) DO UPDATE SET
                    refilled_at = GREATEST(ingest_budget.refilled_at, clock_timestamp()) + make_interval(secs => \(seconds))
                RETURNING EXTRACT(EPOCH FROM (refilled_at - clock_timestamp()))::float8
                """, logger: logger
            ).collect()
            return try rows.first?.decode(Double.self) ?? 0
        }
        let wait = Duration.nanoseconds(Int64((ahead * 1e9).rounded())) - burst
        return wait > .zero ? wait : .zero
    }

    func isThrottled(key: String) async throws -> Bool {
        let logger = database.logger
        return try await database.retrying(for: .seconds(5)) { client in
            // A 429 within the last hour paces everyone; an old one has passed.
            try await client.query(
                "SELECT 1 FROM ingest_budget WHERE key = \(key) AND throttled_at > now() - interval '1 hour'",
                logger: logger
            ).count() > 0
        }
    }
}

/// The pipeline's queue in `ingest_queue`: what `ingest enqueue` added, in order, minus what a run has settled.
struct PostgresWorkQueue: SharedWorkQueue {
    let database: PostgresDatabase
    let pipeline: String

    func pendingItems(after: Int64, limit: Int) async throws -> [(sequence: Int64, item: String)] {
        let (pipeline, logger) = (pipeline, database.logger)
        return try await database.retrying { client in
            // Settled items (done, rejected) stay out; failed ones come back while they have attempts left, and
            // claims in flight are the ledger's to skip or take over.
            try await client.query(
                """
                SELECT q.sequence, q.item FROM ingest_queue q
                WHERE q.pipeline = \(pipeline) AND q.sequence > \(after)
                AND NOT EXISTS (SELECT 1 FROM ingest_asset a WHERE a.pipeline = q.pipeline AND a.identity = q.item
                                AND a.status IN ('done', 'rejected'))
                ORDER BY q.sequence LIMIT \(limit)
                """, logger: logger
            ).collect().map { row in
                let (sequence, item) = try row.decode((Int64, String).self)
                return (sequence, item)
            }
        }
    }

    /// Adds items (ignoring ones already queued); returns how many were new.
    static func enqueue(
        _ items: [String], pipeline: String, by host: HostIdentity, database: PostgresDatabase
    ) async throws(PostgresLedgerError) -> Int {
        var added = 0
        let logger = database.logger
        // Batches of 500 in one statement each (unnest), so 100,000 URLs take a few hundred round trips.
        for start in stride(from: 0, to: items.count, by: 500) {
            let batch = Array(items[start..<min(items.count, start + 500)])
            added += try await database.retrying { client in
                try await client.query(
                    """
                    INSERT INTO ingest_queue (pipeline, item, enqueued_by)
                    SELECT \(pipeline), item, \(host.name) FROM unnest(\(batch)::text[]) WITH ORDINALITY AS t(item, n)
                    ORDER BY n
                    ON CONFLICT (pipeline, item) DO NOTHING
                    RETURNING 1
                    """, logger: logger
                ).count()
            }
        }
        return added
    }
}
