import Foundation
import MediaIngest
import PostgresNIO

// The statements every asset runs, prepared once per pooled connection (PostgresNIO's `PostgresPreparedStatement`):
// the server parses and plans each once, not once per file, which is half its work on this path. Everything else
// the ledger says is a plain query. Parameter types are given, not inferred from a first call's values (a first call
// with a NULL would leave the server to guess).

/// `begin`'s one statement for a file of a first run: the insert is the claim when no row exists; otherwise the row
/// as it stood before the statement comes back for ``ClaimRow/skipReason(size:mtime:maxAttempts:)`` and the claim
/// transaction. (`claimed` false and no row: another host inserted it a moment ago; the transaction decides.)
struct ClaimOrRead: PostgresPreparedStatement {
    static let sql = """
        WITH claimed AS (
            INSERT INTO ingest_asset (pipeline, identity, size, mtime_ns, sha256, status, attempts, run_id,
                owner_host, owner_boot, owner_pid, lease_until)
            VALUES ($1, $2, $3, $4, $5, 'in_flight', 1, $6, $7, $8, $9, now() + make_interval(secs => $10))
            ON CONFLICT (pipeline, identity) DO NOTHING
            RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM claimed) AS claimed, \(ClaimRow.columns)
        FROM (VALUES (1)) AS one LEFT JOIN ingest_asset ON pipeline = $1 AND identity = $2
        """
    static let bindingDataTypes: [PostgresDataType] = [
        .text, .text, .int8, .int8, .text, .text, .text, .text, .int4, .float8,
    ]
    typealias Row = (claimed: Bool, row: ClaimRow?)

    var claim: Claim

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 10)
        bindings.append(claim.pipeline)
        bindings.append(claim.identity)
        bindings.append(claim.size)
        bindings.append(claim.mtime)
        bindings.append(claim.sha256)
        bindings.append(claim.runID)
        bindings.append(claim.host.name)
        bindings.append(claim.host.bootID)
        bindings.append(Int32(clamping: claim.host.pid))
        bindings.append(claim.leaseSeconds)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        let cells = row.makeRandomAccess()
        return (try cells["claimed"].decode(Bool.self), try ClaimRow.decodeIfPresent(cells))
    }
}

/// What a stage learned about an asset (``PostgresLedger/checkpoint(_:)``), written only while this run owns it;
/// `archived` settles the row as done. One row back when it was written.
struct CheckpointStatement: PostgresPreparedStatement {
    static let sql = """
        UPDATE ingest_asset SET target_id = COALESCE($4, target_id), target_url = COALESCE($5, target_url),
        target_status = COALESCE($6, target_status), upload_md5 = COALESCE($7, upload_md5),
        target_hash = COALESCE($8, target_hash), sha256 = COALESCE($9, sha256),
        sent_sha256 = COALESCE($10, sent_sha256), target_kind = COALESCE($11, target_kind),
        asset_values = COALESCE(asset_values, '{}'::jsonb) || COALESCE($12::jsonb, '{}'::jsonb),
        lease_until = now() + make_interval(secs => $13), updated_at = now(),
        status = CASE WHEN $14 THEN 'done' ELSE status END
        WHERE pipeline = $1 AND identity = $2 AND run_id = $3 AND status = 'in_flight'
        RETURNING 1
        """
    static let bindingDataTypes: [PostgresDataType] = [
        .text, .text, .text, .text, .text, .text, .text, .text, .text, .text, .text, .text, .float8, .bool,
    ]
    typealias Row = Void

    var pipeline: String
    var identity: String
    var runID: String
    var target: TargetRecord?
    var sha256: String?
    /// The asset's checkpointed values (``AssetValues/checkpointJSON``), merged key by key into the row's.
    var values: String?
    var leaseSeconds: Double
    var archived: Bool

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 14)
        bindings.append(pipeline)
        bindings.append(identity)
        bindings.append(runID)
        bindings.appendTarget(target, sha256: sha256)
        bindings.append(values)
        bindings.append(leaseSeconds)
        bindings.append(archived)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// Renews the lease of a claim this run still holds and whose lease has not run out (``PostgresLedger/confirmClaim(_:)``,
/// before a source is moved). One row back when the claim holds.
struct ConfirmClaimStatement: PostgresPreparedStatement {
    static let sql = """
        UPDATE ingest_asset SET lease_until = now() + make_interval(secs => $4)
        WHERE pipeline = $1 AND identity = $2 AND run_id = $3 AND status = 'in_flight' AND lease_until > now()
        RETURNING 1
        """
    static let bindingDataTypes: [PostgresDataType] = [.text, .text, .text, .float8]
    typealias Row = Void

    var pipeline: String
    var identity: String
    var runID: String
    var leaseSeconds: Double

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(pipeline)
        bindings.append(identity)
        bindings.append(runID)
        bindings.append(leaseSeconds)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// An asset's end (``PostgresLedger/record(_:)``): its status, error and target, and the claim freed. Written only
/// while this run owns the row; one row back when it was.
///
/// A file gone from the source (`vanished`) whose row already holds a READY upload — the host this run took the
/// asset over from archived it after READY and died before saying so — is done, as reconcileVanished would say.
struct RecordStatement: PostgresPreparedStatement {
    static let sql = """
        UPDATE ingest_asset SET
        status = CASE WHEN $4 = 'vanished' AND target_status = 'READY' THEN 'done' ELSE $4 END,
        error_code = CASE WHEN $4 = 'vanished' AND target_status = 'READY' THEN NULL ELSE $5 END,
        error = CASE WHEN $4 = 'vanished' AND target_status = 'READY' THEN NULL ELSE $6 END,
        target_id = COALESCE($7, target_id), target_url = COALESCE($8, target_url),
        target_status = COALESCE($9, target_status), upload_md5 = COALESCE($10, upload_md5),
        target_hash = COALESCE($11, target_hash), sha256 = COALESCE($12, sha256),
        sent_sha256 = COALESCE($13, sent_sha256), target_kind = COALESCE($14, target_kind),
        sidecars = $15, asset_values = COALESCE(asset_values, '{}'::jsonb) || COALESCE($16::jsonb, '{}'::jsonb),
        lease_until = NULL, updated_at = now()
        WHERE pipeline = $1 AND identity = $2 AND run_id = $3
        RETURNING 1
        """
    static let bindingDataTypes: [PostgresDataType] = [
        .text, .text, .text, .text, .text, .text, .text, .text, .text, .text, .text, .text, .text, .text, .text,
        .text,
    ]
    typealias Row = Void

    var pipeline: String
    var identity: String
    var runID: String
    var status: String
    var code: String?
    var message: String?
    var target: TargetRecord?
    var sha256: String?
    /// The sidecars paired with the asset (``RerunRule/sidecarList(_:)``), or NULL.
    var sidecars: String?
    /// The asset's checkpointed values, merged key by key into the row's.
    var values: String?

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 16)
        bindings.append(pipeline)
        bindings.append(identity)
        bindings.append(runID)
        bindings.append(status)
        bindings.append(code)
        bindings.append(message)
        bindings.appendTarget(target, sha256: sha256)
        bindings.append(sidecars)
        bindings.append(values)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

extension PostgresBindings {
    /// What checkpoint and record both write, in this order: target id, URL, status, sent MD5, reported hash, the
    /// source's SHA-256, the stored bytes' SHA-256 and the target's kind (eight `text` parameters, NULL for what is
    /// not known yet).
    fileprivate mutating func appendTarget(_ target: TargetRecord?, sha256: String?) {
        append(target?.id)
        append(target?.url)
        append(target?.status)
        append(target?.sentMD5)
        append(target?.reportedHash)
        append(sha256)
        append(target?.sentSHA256)
        append(target?.target)
    }
}

extension AsyncSequence {
    /// How many elements the sequence has (rows of `… RETURNING 1`).
    func count() async throws -> Int {
        var count = 0
        for try await _ in self { count += 1 }
        return count
    }
}
