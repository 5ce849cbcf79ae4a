import Foundation
import IngestState
import Logging
import MediaIngest
import PostgresNIO

/// The ledger several hosts share: the rows of `ingest_asset` in a PostgreSQL database, claimed under leases.
///
/// The statuses and re-run rules are ``RerunRule``'s, as the SQLite ledger's. What sharing adds:
/// - ``begin(_:)`` **claims** an asset for this run: the row becomes `in_flight` with this run as owner (host, boot
///   id, process id, run id) and a lease (`state.lease`, 60 s by default) that a heartbeat renews every third of it.
/// - A row in flight under another run's live lease is skipped (`claimed by HOST`); under an expired lease — its
///   host died, or froze — it is taken over with the recovery facts that run checkpointed (target id, pending
///   upload), so the takeover looks for the earlier upload instead of sending the file again. A claim whose process
///   ran on this machine since its last boot and is gone is taken over at once.
/// - ``checkpoint(_:)``, ``confirmClaim(_:)`` and ``record(_:)`` write only while this run still owns the row; a run
///   that lost its claim (frozen past its lease) gets ``LedgerClaimLost`` before it uploads or archives.
public final class PostgresLedger: RunStateStore {
    let database: PostgresDatabase
    let pipeline: String
    let runID: String
    let maxAttempts: Int
    let dedupeByContent: Bool
    let lease: Duration
    let host: HostIdentity
    let lock: PipelineLock?
    let logger: Logger
    private let heartbeat: Task<Void, Never>
    /// The claims the workers are working under, checked by every heartbeat.
    private let watchers = ClaimWatchers()
    private let budget: PostgresRequestBudget
    private let queue: PostgresWorkQueue

    init(
        database: PostgresDatabase, pipeline: String, runID: String, maxAttempts: Int, dedupeByContent: Bool,
        lease: Duration, host: HostIdentity = .current, lock: PipelineLock?, logger: Logger
    ) {
        self.database = database
        self.pipeline = pipeline
        self.runID = runID
        self.maxAttempts = maxAttempts
        self.dedupeByContent = dedupeByContent
        self.lease = lease
        self.host = host
        self.lock = lock
        self.logger = logger
        budget = PostgresRequestBudget(database: database)
        queue = PostgresWorkQueue(database: database, pipeline: pipeline)
        let leaseSeconds = Double(lease.components.seconds)
        heartbeat = Task { [database, pipeline, runID, watchers] in
            while !Task.isCancelled {
                try? await Task.sleep(for: lease / 3)
                if Task.isCancelled { break }
                do {
                    // Only rows this run still owns: a frozen process that wakes up does not win back what was taken.
                    let watched = watchers.watched
                    let renewed = try await database.retrying(for: lease / 3) { client -> Set<String> in
                        var renewed: Set<String> = []
                        for try await identity in try await client.query(
                            """
                            UPDATE ingest_asset SET lease_until = now() + make_interval(secs => \(leaseSeconds))
                            WHERE pipeline = \(pipeline) AND run_id = \(runID) AND status = 'in_flight'
                            RETURNING identity
                            """, logger: logger
                        ).decode(String.self) {
                            renewed.insert(identity)
                        }
                        try await client.query(
                            "UPDATE ingest_run SET heartbeat_at = now() WHERE run_id = \(runID)", logger: logger)
                        return renewed
                    }
                    // A claim a worker still works under that this run no longer owns: taken over while this process
                    // was frozen or cut off. Its work is cancelled now, mid-transfer.
                    for identity in watched.subtracting(renewed) where watchers.watched.contains(identity) {
                        let holder = try? await Self.holder(of: identity, pipeline: pipeline, database, logger: logger)
                        logger.warning(
                            "claim lost while working on it; cancelling its work",
                            metadata: ["asset": "\(identity.displaySafe)", "holder": "\(holder?.holder ?? "?")"])
                        watchers.lost(identity, holder ?? LedgerClaimLost(identity: identity, holder: nil))
                    }
                } catch {
                    logger.warning("cannot renew the claims' leases", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    var leaseSeconds: Double { Double(lease.components.seconds) + Double(lease.components.attoseconds) / 1e18 }

    // MARK: AssetLedger

    public var services: StateServices { StateServices(workQueue: queue, requestBudget: budget) }

    public func begin(_ asset: Asset) async throws -> LedgerDecision {
        let identity = asset.ledgerKey
        let size = asset.size
        let mtime = RerunRule.mtimeNanoseconds(asset.modificationDate)
        let claim = Claim(
            pipeline: pipeline, identity: identity, size: size, mtime: mtime, sha256: nil, runID: runID,
            host: host, leaseSeconds: leaseSeconds, maxAttempts: maxAttempts)
        let logger = logger
        let read: ClaimRow?
        if dedupeByContent {
            // The file's hash decides before any claim (a twin already done is skipped): read first, hash only when
            // the row does not settle it.
            read = try await database.retrying { [pipeline] client in
                try await client.query(
                    "SELECT \(unescaped: ClaimRow.columns) FROM ingest_asset WHERE pipeline = \(pipeline) AND identity = \(identity)",
                    logger: logger
                ).collect().first.map(ClaimRow.init)
            }
        } else {
            // One statement for most files: a first run's insert is the claim; a re-run's done row comes back and
            // is skipped below, without a transaction.
            let (claimed, row) = try await database.retrying { client in
                var answer: ClaimOrRead.Row = (claimed: false, row: nil)
                for try await row in try await client.execute(ClaimOrRead(claim: claim), logger: logger) {
                    answer = row
                }
                return answer
            }
            if claimed { return .process(recovery: nil) }
            read = row
        }
        if let read, read.status != "in_flight",
            let reason = read.skipReason(size: size, mtime: mtime, maxAttempts: maxAttempts)
        {
            return .skip(reason: reason)
        }
        var decided = claim
        if dedupeByContent {
            decided.sha256 = asset.origin.path.flatMap { try? FileHashing.sha256(ofFileAt: $0) }
        }
        return try await database.transaction { [decided] connection in
            try await decided.decide(on: connection, logger: logger)
        }
    }

    public func checkpoint(_ asset: Asset) async throws {
        let identity = asset.ledgerKey
        let archived = asset.sourceArchived && asset.target?.confirmed == true
        let statement = CheckpointStatement(
            pipeline: pipeline, identity: identity, runID: runID, target: asset.target, sha256: asset.sourceSHA256,
            values: asset.values.checkpointJSON, leaseSeconds: leaseSeconds, archived: archived)
        let logger = logger
        let owned = try await database.retrying { client in
            try await client.execute(statement, logger: logger).count()
        }
        if owned == 0 { throw try await lost(identity) }
    }

    public func confirmClaim(_ asset: Asset) async throws {
        let identity = asset.ledgerKey
        let statement = ConfirmClaimStatement(
            pipeline: pipeline, identity: identity, runID: runID, leaseSeconds: leaseSeconds)
        let logger = logger
        let owned = try await database.retrying { client in
            try await client.execute(statement, logger: logger).count()
        }
        if owned == 0 { throw try await lost(identity) }
    }

    /// The error for a claim this run no longer holds, naming who holds it now and the target id the row carries.
    private func lost(_ identity: String) async throws -> LedgerClaimLost {
        (try? await Self.holder(of: identity, pipeline: pipeline, database, logger: logger))
            ?? LedgerClaimLost(identity: identity, holder: nil)
    }

    static func holder(
        of identity: String, pipeline: String, _ database: PostgresDatabase, logger: Logger
    ) async throws -> LedgerClaimLost {
        let row = try await database.retrying(for: .seconds(5)) { client in
            try await client.query(
                "SELECT owner_host, run_id, status, target_id FROM ingest_asset WHERE pipeline = \(pipeline) AND identity = \(identity)",
                logger: logger
            ).collect().first.map { try $0.decode((String?, String?, String, String?).self) }
        }
        guard let (host, run, status, target) = row else {
            return LedgerClaimLost(identity: identity, holder: nil)
        }
        return LedgerClaimLost(
            identity: identity, holder: "\(host ?? "?") (run \(run ?? "?"), \(status))", currentTargetID: target)
    }

    public func watchClaim(
        _ ledgerKey: String, onLost: @escaping @Sendable (LedgerClaimLost) -> Void
    ) -> ClaimWatch? {
        watchers.watch(ledgerKey, onLost: onLost)
    }

    public func record(_ result: AssetResult) async throws {
        // A claim lost to another host is that host's to record.
        if result.failure?.code == "claim_lost" { return }
        guard let status = RerunRule.status(for: result) else { return }
        let asset = result.asset
        let identity = asset.ledgerKey
        let statement = RecordStatement(
            pipeline: pipeline, identity: identity, runID: runID, status: status,
            code: status == "done" ? nil : result.rejection?.code.rawValue ?? result.failure?.code.rawValue,
            message: status == "done" ? nil : result.rejection?.reason ?? result.failure?.message,
            target: asset.target, sha256: asset.sourceSHA256, sidecars: RerunRule.sidecarList(asset),
            values: asset.values.checkpointJSON)
        let logger = logger
        let owned = try await database.retrying { client in
            try await client.execute(statement, logger: logger).count()
        }
        if owned == 0 {
            logger.warning(
                "not recording: another host holds the asset now",
                metadata: ["file": "\(asset.displayPath)", "status": "\(status)"])
        }
    }

    public func uploads(ofContent sha256: String, target: String) async throws -> [String] {
        let (pipeline, logger) = (pipeline, logger)
        return try await database.retrying { client in
            try await client.query(
                """
                SELECT target_id FROM ingest_asset
                WHERE pipeline = \(pipeline) AND sent_sha256 = \(sha256) AND target_kind = \(target)
                AND status = 'done' AND target_id IS NOT NULL
                ORDER BY updated_at DESC LIMIT 20
                """, logger: logger
            ).collect().map { try $0.decode(String.self) }
        }
    }

    public func recordedTargetID(forKey ledgerKey: String) async throws -> String? {
        let (pipeline, logger) = (pipeline, logger)
        return try await database.retrying { client in
            try await client.query(
                "SELECT target_id FROM ingest_asset WHERE pipeline = \(pipeline) AND identity = \(ledgerKey)",
                logger: logger
            ).collect().first.flatMap { try $0.decode(String?.self) }
        }
    }

    // MARK: Runs

    public func reconcileVanished() async throws -> Int {
        try await settleVanished(only: nil)
    }

    public func reconcileVanished(where isGone: @Sendable (String) -> Bool) async throws -> Int {
        let (pipeline, runID, logger) = (pipeline, runID, logger)
        let stale = try await database.retrying { client in
            try await client.query(
                """
                SELECT identity FROM ingest_asset
                WHERE pipeline = \(pipeline) AND status = 'in_flight' AND run_id <> \(runID)
                AND (lease_until IS NULL OR lease_until < now())
                """, logger: logger
            ).collect().map { try $0.decode(String.self) }
        }
        let gone = stale.filter(isGone)
        return gone.isEmpty ? 0 : try await settleVanished(only: gone)
    }

    /// Settles earlier runs' in-flight rows outside live leases — all of them, or those of `identities`: done with a
    /// READY target, else failed `source_vanished`. (A row a live run claimed meanwhile is not touched: the lease
    /// condition is checked again here.)
    private func settleVanished(only identities: [String]?) async throws -> Int {
        let (pipeline, runID, logger) = (pipeline, runID, logger)
        let everyRow = identities == nil
        let listed = identities ?? []
        return try await database.transaction { connection in
            // Rows under a live lease belong to a run still working on them, on some host.
            let done = try await connection.query(
                """
                UPDATE ingest_asset SET status = 'done', lease_until = NULL, updated_at = now()
                WHERE pipeline = \(pipeline) AND status = 'in_flight' AND run_id <> \(runID)
                AND (lease_until IS NULL OR lease_until < now()) AND target_status = 'READY'
                AND (\(everyRow) OR identity = ANY(\(listed)))
                RETURNING 1
                """, logger: logger
            ).count()
            let failed = try await connection.query(
                """
                UPDATE ingest_asset SET status = 'failed', error_code = \(RerunRule.vanishedCode),
                error = \(RerunRule.vanishedMessage),
                lease_until = NULL, updated_at = now()
                WHERE pipeline = \(pipeline) AND status = 'in_flight' AND run_id <> \(runID)
                AND (lease_until IS NULL OR lease_until < now())
                AND (\(everyRow) OR identity = ANY(\(listed)))
                RETURNING 1
                """, logger: logger
            ).count()
            return done + failed
        }
    }

    public func runStarted(at date: Date) async throws {
        let (pipeline, runID, logger, host) = (pipeline, runID, logger, host)
        _ = try await database.retrying { client in
            try await client.query(
                """
                INSERT INTO ingest_run (run_id, pipeline, host, pid, started_at, heartbeat_at)
                VALUES (\(runID), \(pipeline), \(host.name), \(Int(host.pid)), \(date), now())
                ON CONFLICT (run_id) DO UPDATE SET started_at = EXCLUDED.started_at, heartbeat_at = now()
                """, logger: logger)
        }
    }

    public func runFinished(exitCode: Int32, counts: [String: Int], note: String?) async throws {
        let encoded = String(decoding: (try? JSONEncoder().encode(counts)) ?? Data(), as: UTF8.self)
        let (runID, logger) = (runID, logger)
        _ = try await database.retrying { client in
            try await client.query(
                """
                UPDATE ingest_run SET finished_at = now(), heartbeat_at = now(), exit_code = \(Int(exitCode)),
                counts = \(encoded), note = \(note) WHERE run_id = \(runID)
                """, logger: logger)
        }
    }

    public func runReported(_ report: RunReport) async throws {
        let text = String(
            decoding: SafeJSON.escaping(try RunReport.makeEncoder(pretty: false).encode(report)), as: UTF8.self)
        let (runID, logger) = (runID, logger)
        _ = try await database.retrying { client in
            try await client.query("UPDATE ingest_run SET report = \(text) WHERE run_id = \(runID)", logger: logger)
        }
    }

    /// Stops the heartbeat, frees the claims this run leaves unfinished (interrupted: another host may take them at
    /// once, with their recovery facts), closes the pool and releases this host's lock.
    public func close() async {
        heartbeat.cancel()
        await heartbeat.value
        let (pipeline, runID, logger) = (pipeline, runID, logger)
        _ = try? await database.retrying(for: .seconds(5)) { client in
            try await client.query(
                """
                UPDATE ingest_asset SET lease_until = now()
                WHERE pipeline = \(pipeline) AND run_id = \(runID) AND status = 'in_flight'
                """, logger: logger)
        }
        await database.close()
        lock?.release()
    }
}
