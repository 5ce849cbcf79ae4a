import Foundation
import Logging
import PostgresNIO

/// The tables ingest keeps in a shared PostgreSQL database, created and migrated by ingest itself.
///
/// Versions are applied in order inside one transaction that first takes a transaction-scoped advisory lock, so two
/// hosts starting at once migrate one after the other: the second finds the work done. A database whose schema is
/// newer than this ingest is refused rather than written with old assumptions.
enum PostgresSchema {
    /// Lock key for migrations (`pg_advisory_xact_lock`), a constant no other application is likely to use.
    static let migrationLock: Int64 = 0x4D49_6E67_6573_7401  // "MIngest\x01"

    /// Each version's statements.
    static let versions: [(version: Int, statements: [String])] = [
        (
            1,
            [
                """
                CREATE TABLE ingest_asset (
                    pipeline text NOT NULL, identity text NOT NULL,
                    size bigint, mtime_ns bigint, sha256 text,
                    status text NOT NULL, attempts integer NOT NULL DEFAULT 0,
                    error_code text, error text,
                    target_id text, target_url text, target_status text, upload_md5 text, target_hash text,
                    upload_started_at timestamptz, upload_name text, upload_size bigint, upload_folder text,
                    upload_path text,
                    run_id text, owner_host text, owner_boot text, owner_pid integer, lease_until timestamptz,
                    first_seen timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (pipeline, identity))
                """,
                "CREATE INDEX ingest_asset_sha256 ON ingest_asset (pipeline, sha256)",
                "CREATE INDEX ingest_asset_claims ON ingest_asset (pipeline, run_id) WHERE status = 'in_flight'",
                """
                CREATE TABLE ingest_run (
                    run_id text PRIMARY KEY, pipeline text NOT NULL, host text NOT NULL, pid integer NOT NULL,
                    started_at timestamptz NOT NULL, heartbeat_at timestamptz NOT NULL, finished_at timestamptz,
                    exit_code integer, counts text, note text)
                """,
                "CREATE INDEX ingest_run_pipeline ON ingest_run (pipeline, started_at)",
                """
                CREATE TABLE ingest_queue (
                    pipeline text NOT NULL, sequence bigserial, item text NOT NULL,
                    enqueued_at timestamptz NOT NULL DEFAULT now(), enqueued_by text,
                    PRIMARY KEY (pipeline, item))
                """,
                "CREATE INDEX ingest_queue_order ON ingest_queue (pipeline, sequence)",
                """
                CREATE TABLE ingest_budget (
                    key text PRIMARY KEY, tokens double precision NOT NULL, refilled_at timestamptz NOT NULL,
                    throttled_at timestamptz)
                """,
            ]
        ),
        (
            2,
            [
                // The stored bytes' SHA-256 of each upload (state.dedupe "target" looks earlier uploads up by it), the
                // kind of target, and the sidecars paired with the asset.
                """
                ALTER TABLE ingest_asset ADD COLUMN sent_sha256 text, ADD COLUMN target_kind text,
                ADD COLUMN sidecars text
                """,
                """
                CREATE INDEX ingest_asset_sent_sha256 ON ingest_asset (pipeline, sent_sha256)
                WHERE sent_sha256 IS NOT NULL
                """,
            ]
        ),
        (
            3,
            [
                // The run's report without its asset records (`ingest report`).
                "ALTER TABLE ingest_run ADD COLUMN report text"
            ]
        ),
        (
            4,
            [
                // Every checkpointed value of an asset (`AssetValues`) in one JSON object; the version-1 columns of a
                // pending Wix upload become its `wix.pendingUpload` value (dates as JSONEncoder's default: seconds
                // since 2001) and are no longer written.
                "ALTER TABLE ingest_asset ADD COLUMN asset_values jsonb",
                """
                UPDATE ingest_asset SET asset_values = jsonb_build_object('wix.pendingUpload', jsonb_build_object(
                    'startedAt', extract(epoch FROM upload_started_at) - 978307200, 'fileName', COALESCE(upload_name, ''),
                    'size', COALESCE(upload_size, -1), 'folderID', upload_folder, 'folderPath', upload_path))
                WHERE upload_started_at IS NOT NULL
                """,
            ]
        ),
    ]

    static var latest: Int { versions.last?.version ?? 0 }

    static func migrate(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS ingest_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                logger: logger)
            var current = 0
            for try await version in try await connection.query(
                "SELECT COALESCE(MAX(version), 0) FROM ingest_schema", logger: logger
            ).decode(Int.self) {
                current = version
            }
            guard current <= latest else {
                throw PostgresLedgerError(
                    .schema,
                    "the ledger database has schema version \(current), newer than this ingest knows (\(latest)); upgrade ingest on this host"
                )
            }
            for (version, statements) in versions where version > current {
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO ingest_schema (version) VALUES (\(version))", logger: logger)
            }
        }
    }
}
