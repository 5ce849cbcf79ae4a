import Foundation
import Logging
import MediaIngest
import TestSupport
import Testing
import WixStages

@testable import IngestPostgres

/// The shared ledger against a real PostgreSQL server: migrations two hosts start at once, claims under leases and
/// their takeover, lost claims, the queue and the shared request budget.
@Suite(
    "PostgreSQL ledger: claims, leases, migrations, queue, budget",
    .enabled(if: PostgresTestServer.isAvailable, Comment(rawValue: PostgresTestServer.skipReason)))
struct PostgresLedgerTests {
    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    static func open(_ url: String) async throws -> PostgresDatabase {
        let settings = try PostgresSettings(
            url: url, passwordFile: nil, environment: ["PGPASSWORD": PostgresTestServer.password])
        return try await PostgresDatabase.open(settings, logger: logger)
    }

    static func ledger(
        _ database: PostgresDatabase, pipeline: String, host: HostIdentity, lease: Duration = .seconds(600)
    ) -> PostgresLedger {
        PostgresLedger(
            database: database, pipeline: pipeline, runID: "run-\(host.name)-\(UUID().uuidString.prefix(6))",
            maxAttempts: 5, dedupeByContent: false, lease: lease, host: host, lock: nil, logger: logger)
    }

    static func asset(_ name: String) -> Asset {
        Asset(
            id: 1, origin: .file(path: "/nonexistent/inbox/" + name, root: "/nonexistent/inbox", relativePath: name),
            fileName: name, contentPath: nil, size: 10, modificationDate: Date(timeIntervalSince1970: 1_700_000_000))
    }

    static func host(_ name: String) -> HostIdentity {
        HostIdentity(name: name, bootID: HostIdentity.current.bootID, pid: HostIdentity.current.pid)
    }

    @Test("eight hosts migrating a fresh database at once: one schema, every version once, every open succeeds")
    func concurrentMigrations() async throws {
        let url = try await PostgresTestServer.makeDatabase()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { await (try Self.open(url)).close() } }
            try await group.waitForAll()
        }
        #expect(
            try await PostgresTestServer.query(
                "SELECT string_agg(version::text, ',' ORDER BY version) FROM ingest_schema", database: url)
                == "1,2,3,4")
        // A database migrated by a newer ingest is refused, not written with old assumptions.
        _ = try await PostgresTestServer.query("INSERT INTO ingest_schema (version) VALUES (99)", database: url)
        await #expect {
            _ = try await Self.open(url)
        } throws: { error in
            (error as? PostgresLedgerError)?.code == .schema && "\(error)".contains("schema version 99")
        }
    }

    @Test("a live claim is skipped; an expired one is taken over with its recovery facts; the loser cannot write")
    func claimsAndTakeover() async throws {
        let database = try await Self.open(PostgresTestServer.url!)
        defer { Task { await database.close() } }
        let pipeline = "claims-\(UUID().uuidString.prefix(8))"
        let first = Self.ledger(database, pipeline: pipeline, host: Self.host("host-a"))
        let second = Self.ledger(database, pipeline: pipeline, host: Self.host("host-b"))
        var asset = Self.asset("a.jpg")
        guard case .process(nil) = try await first.begin(asset) else {
            Issue.record("first claim")
            return
        }
        guard case .skip(let reason) = try await second.begin(asset) else {
            Issue.record("a live claim must be skipped")
            return
        }
        #expect(reason.contains("claimed by host-a"), "\(reason)")

        // host-a starts an upload (checkpointed), then freezes: its lease runs out.
        asset.values[WixPendingUpload.self] = WixPendingUpload.Value(startedAt: Date(), fileName: "a.jpg", size: 10)
        asset.target = TargetRecord(target: "wix", id: "file-1", url: nil, status: "PENDING", confirmed: false)
        try await first.checkpoint(asset)
        _ = try await PostgresTestServer.query(
            "UPDATE ingest_asset SET lease_until = now() - interval '1 second' WHERE pipeline = '\(pipeline)'")
        guard case .process(let recovery?) = try await second.begin(asset) else {
            Issue.record("an expired claim must be taken over with recovery facts")
            return
        }
        #expect(recovery.wasInFlight)
        #expect(recovery.previousTargetID == "file-1")
        #expect(recovery.values[WixPendingUpload.self]?.fileName == "a.jpg")

        // The frozen host wakes up: every write it tries is refused, naming the new holder.
        await #expect {
            try await first.checkpoint(asset)
        } throws: { error in
            (error as? LedgerClaimLost)?.holder?.contains("host-b") == true
        }
        await #expect(throws: LedgerClaimLost.self) { try await first.confirmClaim(asset) }
        try await first.record(AssetResult(asset: asset, status: .done))
        #expect(
            try await PostgresTestServer.query(
                "SELECT status || ' ' || owner_host FROM ingest_asset WHERE pipeline = '\(pipeline)'")
                == "in_flight host-b")
        try await second.confirmClaim(asset)
        try await second.record(AssetResult(asset: asset, status: .done))
        #expect(
            try await PostgresTestServer.query("SELECT status FROM ingest_asset WHERE pipeline = '\(pipeline)'")
                == "done")
        guard case .skip = try await first.begin(asset) else {
            Issue.record("done is skipped")
            return
        }
    }

    @Test("a claim whose process ran on this machine and is gone is taken over at once, lease or not")
    func deadProcessOnThisHost() async throws {
        let database = try await Self.open(PostgresTestServer.url!)
        defer { Task { await database.close() } }
        let pipeline = "dead-\(UUID().uuidString.prefix(8))"
        let child = try runProcess("/bin/sh", ["-c", "echo $$"])
        let deadPID = Int32(child.stdout.trimmingCharacters(in: .whitespacesAndNewlines))!
        let dead = Self.ledger(
            database, pipeline: pipeline,
            host: HostIdentity(name: "host-a", bootID: HostIdentity.current.bootID, pid: deadPID),
            lease: .seconds(600))
        let asset = Self.asset("b.jpg")
        guard case .process = try await dead.begin(asset) else {
            Issue.record("claim")
            return
        }
        // Another machine (another boot id) with a dead pid of the same number: its lease still decides.
        let elsewhere = Self.ledger(
            database, pipeline: pipeline + "-x", host: HostIdentity(name: "far", bootID: "other-boot", pid: deadPID),
            lease: .seconds(600))
        guard case .process = try await elsewhere.begin(asset) else {
            Issue.record("claim")
            return
        }
        let alive = Self.ledger(database, pipeline: pipeline, host: Self.host("host-b"))
        guard case .process(let recovery?) = try await alive.begin(asset) else {
            Issue.record("a dead local claim is taken over at once")
            return
        }
        #expect(recovery.wasInFlight)
        let other = Self.ledger(database, pipeline: pipeline + "-x", host: Self.host("host-b"))
        guard case .skip = try await other.begin(asset) else {
            Issue.record("a claim from another machine is not judged by a local pid")
            return
        }
    }

    @Test("closing a run frees its unfinished claims at once; reconcile leaves live claims of other hosts alone")
    func closeAndReconcile() async throws {
        let database = try await Self.open(PostgresTestServer.url!)
        let pipeline = "close-\(UUID().uuidString.prefix(8))"
        let otherDatabase = try await Self.open(PostgresTestServer.url!)
        defer { Task { await otherDatabase.close() } }
        let busy = Self.ledger(otherDatabase, pipeline: pipeline, host: Self.host("busy"))
        guard case .process = try await busy.begin(Self.asset("live.jpg")) else {
            Issue.record("claim")
            return
        }
        let leaving = Self.ledger(database, pipeline: pipeline, host: Self.host("leaving"))
        guard case .process = try await leaving.begin(Self.asset("left.jpg")) else {
            Issue.record("claim")
            return
        }
        await leaving.close()
        let next = Self.ledger(otherDatabase, pipeline: pipeline, host: Self.host("next"))
        guard case .process(let recovery?) = try await next.begin(Self.asset("left.jpg")) else {
            Issue.record("a closed run's claim is free at once")
            return
        }
        #expect(recovery.wasInFlight)
        let settled = try await Self.ledger(otherDatabase, pipeline: pipeline, host: Self.host("sweeper"))
            .reconcileVanished()
        #expect(settled == 0, "both rows are held under live leases")
    }

    @Test(
        "a partial run's reconcile settles only what its caller says is gone, outside live claims: done when READY, else source_vanished"
    )
    func partialReconcile() async throws {
        let database = try await Self.open(PostgresTestServer.url!)
        defer { Task { await database.close() } }
        let pipeline = "partial-\(UUID().uuidString.prefix(8))"
        // A dead host left four claims; then a live host claimed a fifth.
        let dead = Self.ledger(database, pipeline: pipeline, host: Self.host("dead"))
        for name in ["uploaded.jpg", "lost.jpg", "present.jpg", "live.jpg"] {
            var asset = Self.asset(name)
            guard case .process = try await dead.begin(asset) else {
                Issue.record("claim \(name)")
                return
            }
            if name == "uploaded.jpg" {
                asset.target = TargetRecord(target: "wix", id: "file-1", url: nil, status: "READY", confirmed: true)
                try await dead.checkpoint(asset)
            }
        }
        _ = try await PostgresTestServer.query(
            "UPDATE ingest_asset SET lease_until = now() - interval '1 second' WHERE pipeline = '\(pipeline)'")
        let live = Self.ledger(database, pipeline: pipeline, host: Self.host("live"))
        guard case .process = try await live.begin(Self.asset("live.jpg")) else {
            Issue.record("an expired claim is taken over")
            return
        }
        let sweeper = Self.ledger(database, pipeline: pipeline, host: Self.host("sweeper"))
        let gone: Set = ["uploaded.jpg", "lost.jpg", "live.jpg"]
        #expect(try await sweeper.reconcileVanished { gone.contains($0) } == 2)
        let rows = try await PostgresTestServer.query(
            """
            SELECT string_agg(identity || '=' || status || coalesce(':' || error_code, ''), ',' ORDER BY identity)
            FROM ingest_asset WHERE pipeline = '\(pipeline)'
            """)
        #expect(
            rows == "live.jpg=in_flight,lost.jpg=failed:source_vanished,present.jpg=in_flight,uploaded.jpg=done",
            "\(rows)")
        #expect(try await sweeper.reconcileVanished { _ in false } == 0)
    }

    @Test("a takeover that finds the file gone after the dead host's READY upload records it done, not vanished")
    func takeoverAfterArchive() async throws {
        let database = try await Self.open(PostgresTestServer.url!)
        defer { Task { await database.close() } }
        let pipeline = "archived-\(UUID().uuidString.prefix(8))"
        let dead = Self.ledger(database, pipeline: pipeline, host: Self.host("dead"))
        var asset = Self.asset("archived.jpg")
        guard case .process = try await dead.begin(asset) else {
            Issue.record("claim")
            return
        }
        // READY, then archived (the file is gone: its path never existed here), then killed before the record.
        asset.target = TargetRecord(target: "wix", id: "file-1", url: nil, status: "READY", confirmed: true)
        try await dead.checkpoint(asset)
        _ = try await PostgresTestServer.query(
            "UPDATE ingest_asset SET lease_until = now() - interval '1 second' WHERE pipeline = '\(pipeline)'")
        let next = Self.ledger(database, pipeline: pipeline, host: Self.host("next"))
        let fresh = Self.asset("archived.jpg")
        guard case .process = try await next.begin(fresh) else {
            Issue.record("an expired claim is taken over")
            return
        }
        // The first stage to read the file finds it gone: a failure, before any upload stage adopted the upload.
        try await next.record(
            AssetResult(asset: fresh, status: .failed, failure: AssetFailure(code: "io", message: "gone")))
        #expect(
            try await PostgresTestServer.query(
                "SELECT status || coalesce(':' || error_code, '') FROM ingest_asset WHERE pipeline = '\(pipeline)'")
                == "done")
    }

    @Test("the queue: items added once, in order, settled ones leave it")
    func queue() async throws {
        let database = try await Self.open(PostgresTestServer.url!)
        defer { Task { await database.close() } }
        let pipeline = "queue-\(UUID().uuidString.prefix(8))"
        let items = (0..<1200).map { "https://example.test/\($0).jpg" }
        #expect(
            try await PostgresWorkQueue.enqueue(items, pipeline: pipeline, by: .current, database: database) == 1200)
        #expect(
            try await PostgresWorkQueue.enqueue(
                Array(items.prefix(10)), pipeline: pipeline, by: .current, database: database) == 0)
        let queue = PostgresWorkQueue(database: database, pipeline: pipeline)
        let firstBatch = try await queue.pendingItems(after: 0, limit: 500)
        #expect(firstBatch.map(\.item) == Array(items.prefix(500)))
        let ledger = Self.ledger(database, pipeline: pipeline, host: Self.host("worker"))
        let done = Asset(id: 1, origin: .url(items[0]), fileName: "0.jpg", contentPath: nil)
        _ = try await ledger.begin(done)
        try await ledger.record(AssetResult(asset: done, status: .done))
        #expect(try await queue.pendingItems(after: 0, limit: 1).first?.item == items[1])
        let rest = try await queue.pendingItems(after: firstBatch.last!.sequence, limit: 5000)
        #expect(rest.count == 700)
    }

    @Test("the shared request budget: two hosts taking 20 tokens at 600/min send them about 100 ms apart, together")
    func sharedBudget() async throws {
        let database = try await Self.open(PostgresTestServer.url!)
        defer { Task { await database.close() } }
        let key = "wix|test|\(UUID().uuidString)"
        let hosts = [PostgresRequestBudget(database: database), PostgresRequestBudget(database: database)]
        let clock = ContinuousClock()
        let start = clock.now
        let waits = try await withThrowingTaskGroup(of: Duration.self) { group in
            for index in 0..<20 { group.addTask { try await hosts[index % 2].take(key: key, perMinute: 600) } }
            return try await group.reduce(into: [Duration]()) { $0.append($1) }.sorted()
        }
        let elapsed = clock.now - start
        // 20 tokens from a bucket holding one and refilling 10 a second: whatever the load, the last taker must wait
        // at least 1.9 s minus the time the takes themselves took, and nobody more than 2 s.
        #expect(waits.first == .zero, "\(waits)")
        #expect(waits.last! >= .milliseconds(1900) - elapsed, "\(waits), takes lasted \(elapsed)")
        #expect(waits.last! <= .milliseconds(2000), "\(waits)")
        #expect(Set(waits).count > 10, "the waits are staggered, not one shared pause: \(waits)")
        #expect(!(try await hosts[0].isThrottled(key: key)))
        try await hosts[1].markThrottled(key: key)
        #expect(try await hosts[0].isThrottled(key: key))
    }
}

/// CI promises the PostgreSQL suites run: there, a missing server is a failure, not a skip.
@Test("a PostgreSQL test server is there when CI requires one")
func postgresServerWhenRequired() {
    if PostgresTestServer.isRequired {
        #expect(PostgresTestServer.isAvailable, "INGEST_REQUIRE_POSTGRES=1 but \(PostgresTestServer.skipReason)")
    }
}
