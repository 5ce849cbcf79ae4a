import Foundation
import IngestState
import Logging
import MediaIngest
import PostgresNIO

/// One `ingest_asset` row as ``Claim`` needs it.
struct ClaimRow: Sendable {
    static let columns = """
        status, size, mtime_ns, attempts, run_id, error, owner_host, owner_boot, owner_pid, \
        lease_until > now() AS live, lease_until, target_id, asset_values::text AS asset_values
        """

    var status: String
    var size: Int64?
    var mtime: Int64?
    var attempts: Int
    var runID: String?
    var error: String?
    var ownerHost: String?
    var ownerBoot: String?
    var ownerPID: Int?
    var live: Bool
    var leaseUntil: Date?
    var targetID: String?
    var values: AssetValues

    init(_ row: PostgresRow) throws {
        try self.init(cells: row.makeRandomAccess())
    }

    /// Decodes from a row already indexed by column name (``ClaimOrRead`` reads a column of its own from it too).
    init(cells: PostgresRandomAccessRow) throws {
        status = try cells["status"].decode(String.self)
        size = try cells["size"].decode(Int64?.self)
        mtime = try cells["mtime_ns"].decode(Int64?.self)
        attempts = try cells["attempts"].decode(Int.self)
        runID = try cells["run_id"].decode(String?.self)
        error = try cells["error"].decode(String?.self)
        ownerHost = try cells["owner_host"].decode(String?.self)
        ownerBoot = try cells["owner_boot"].decode(String?.self)
        ownerPID = try cells["owner_pid"].decode(Int?.self)
        live = try cells["live"].decode(Bool?.self) ?? false
        leaseUntil = try cells["lease_until"].decode(Date?.self)
        targetID = try cells["target_id"].decode(String?.self)
        values = AssetValues(checkpointJSON: try cells["asset_values"].decode(String?.self))
    }

    /// The row, or `nil` where an outer join found none (``ClaimOrRead``).
    static func decodeIfPresent(_ cells: PostgresRandomAccessRow) throws -> ClaimRow? {
        try cells["status"].decode(String?.self) == nil ? nil : ClaimRow(cells: cells)
    }

    /// Whether the file differs from the row (unknown values count as unchanged).
    func changed(size newSize: Int64?, mtime newMtime: Int64?) -> Bool {
        RerunRule.changed(storedSize: size, storedMtime: mtime, size: newSize, mtime: newMtime)
    }

    /// Why a settled, unchanged row is skipped; `nil` when it is processed (``RerunRule``).
    func skipReason(size: Int64?, mtime: Int64?, maxAttempts: Int) -> String? {
        guard !changed(size: size, mtime: mtime) else { return nil }
        return RerunRule.skipReason(
            status: status, attempts: attempts, runID: runID, error: error, maxAttempts: maxAttempts)
    }
}

/// The claim ``PostgresLedger/begin(_:)`` makes for one asset, decided inside a transaction on the locked row.
struct Claim: Sendable {
    var pipeline: String
    var identity: String
    var size: Int64?
    var mtime: Int64?
    var sha256: String?
    var runID: String
    var host: HostIdentity
    var leaseSeconds: Double
    var maxAttempts: Int

    /// The claim of a row nobody has yet: one row back when it was made, none when the row exists (another host's
    /// insert won, or a retried statement had made it already).
    var insertion: PostgresQuery {
        """
        INSERT INTO ingest_asset (pipeline, identity, size, mtime_ns, sha256, status, attempts, run_id,
            owner_host, owner_boot, owner_pid, lease_until)
        VALUES (\(pipeline), \(identity), \(size), \(mtime), \(sha256), 'in_flight', 1, \(runID),
            \(host.name), \(host.bootID), \(Int(host.pid)), now() + make_interval(secs => \(leaseSeconds)))
        ON CONFLICT (pipeline, identity) DO NOTHING
        RETURNING 1
        """
    }

    func decide(on connection: PostgresConnection, logger: Logger) async throws -> LedgerDecision {
        if let sha256,
            let twin = try await connection.query(
                """
                SELECT identity, run_id FROM ingest_asset
                WHERE pipeline = \(pipeline) AND sha256 = \(sha256) AND status = 'done' AND identity <> \(identity) LIMIT 1
                """, logger: logger
            ).collect().first
        {
            let (name, run) = try twin.decode((String, String?).self)
            return .skip(reason: "same content as \(name), done in run \(run ?? "?")")
        }
        // A new row: the insert is the claim. Two hosts inserting at once: one wins, the other reads the winner's row.
        let inserted = try await connection.query(insertion, logger: logger).count()
        if inserted == 1 { return .process(recovery: nil) }

        guard
            let row = try await connection.query(
                "SELECT \(unescaped: ClaimRow.columns) FROM ingest_asset WHERE pipeline = \(pipeline) AND identity = \(identity) FOR UPDATE",
                logger: logger
            ).collect().first.map(ClaimRow.init)
        else {
            throw PostgresLedgerError(.server, "the row of \(identity) vanished while claiming it")
        }
        let inFlight = row.status == "in_flight"
        if inFlight {
            // Ours already: a retried transaction whose commit answer was lost.
            if row.runID == runID { return .process(recovery: nil) }
            let ownerGone = host.processIsGone(bootID: row.ownerBoot ?? "", pid: Int32(clamping: row.ownerPID ?? 0))
            if row.live && !ownerGone {
                let until = row.leaseUntil.map { $0.formatted(.iso8601) } ?? "?"
                return .skip(reason: "claimed by \(row.ownerHost ?? "?") (run \(row.runID ?? "?")) until \(until)")
            }
        } else if let reason = row.skipReason(size: size, mtime: mtime, maxAttempts: maxAttempts) {
            return .skip(reason: reason)
        }
        let changed = row.changed(size: size, mtime: mtime)
        let fresh = changed && !inFlight
        let recovery: Asset.Recovery? =
            fresh
            ? nil
            : Asset.Recovery(
                attempt: row.attempts + 1, wasInFlight: inFlight, previousTargetID: row.targetID,
                values: row.values)
        let reset =
            fresh
            ? ", target_id = NULL, target_url = NULL, target_status = NULL, upload_md5 = NULL, error = NULL, error_code = NULL, asset_values = NULL, target_hash = NULL"
            : ""
        try await connection.query(
            """
            UPDATE ingest_asset SET size = \(size), mtime_ns = \(mtime), sha256 = COALESCE(\(sha256), sha256),
            status = 'in_flight', attempts = \(changed ? 1 : row.attempts + 1), run_id = \(runID),
            owner_host = \(host.name), owner_boot = \(host.bootID), owner_pid = \(Int(host.pid)),
            lease_until = now() + make_interval(secs => \(leaseSeconds)), updated_at = now()\(unescaped: reset)
            WHERE pipeline = \(pipeline) AND identity = \(identity)
            """, logger: logger)
        if inFlight {
            logger.info(
                "taking over a claim",
                metadata: ["asset": "\(identity.displaySafe)", "from": "\(row.ownerHost ?? "?")"])
        }
        return .process(recovery: recovery)
    }
}
