import Foundation
import GRDB
import MediaIngest
import PipelineTesting
import Testing
import WixStages

@testable import IngestState

/// The SQLite backend in ``StateBackendConformance``: fresh ledgers in a temporary folder, earlier schema versions
/// written by running the migrator up to them.
struct SQLiteFixture: StateBackendFixture {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
        "sqlite-conformance-\(UUID().uuidString.prefix(8))"
    ).path
    var backend: any StateBackend { SQLiteStateBackend() }

    /// One host: every pipeline of a name shares its ledger and its lock.
    func pipeline(
        named name: String, host: String, configure: @Sendable (inout StateSettings) -> Void
    ) async throws -> Pipeline {
        var state = StateSettings(
            enabled: true, ledgerPath: "\(folder)/\(name).sqlite", lockPath: "\(folder)/\(name).lock", maxAttempts: 5,
            dedupe: .off)
        configure(&state)
        return Pipeline(name: name, concurrency: 1, sources: [], stages: [], state: state, baseDirectory: folder)
    }

    func expireClaims(of pipeline: Pipeline) async throws {}

    /// The migrations before the last, by version number (the migrator's identifiers start with `vN`).
    static let migrations = [
        "v1", "v2 pending uploads", "v3 in-flight index", "v4 stored content and sidecars", "v5 run reports",
    ]
    var earlierSchemaVersions: [Int] { Array(1...Self.migrations.count) }

    func seed(_ rows: [ConformanceSeedRow], atSchemaVersion version: Int, for pipeline: Pipeline) async throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let database = try DatabaseQueue(path: pipeline.state.ledgerPath)
        try SQLiteLedger.migrator.migrate(database, upTo: Self.migrations[version - 1])
        try await database.write { db in
            for row in rows {
                try db.execute(
                    sql: """
                        INSERT INTO asset (pipeline, identity, size, mtimeNs, status, attempts, runId, error, targetId, firstSeen, updatedAt)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        pipeline.name, row.key, row.size, RerunRule.mtimeNanoseconds(row.modificationDate), row.status,
                        row.attempts, row.runID, row.error, row.targetID, Date(), Date(),
                    ])
            }
            try db.execute(
                sql: "INSERT INTO run (runId, pipeline, startedAt, finishedAt, exitCode) VALUES ('old', ?, ?, ?, 0)",
                arguments: [pipeline.name, Date(timeIntervalSince1970: 1_650_000_000), Date()])
        }
    }
}

@Suite("the SQLite backend keeps the state machine (StateBackendConformance)")
struct SQLiteConformanceTests {
    @Test("conformance", arguments: StateBackendConformance.checkNames)
    func conformance(_ check: String) async throws {
        let fixture = SQLiteFixture()
        defer { try? FileManager.default.removeItem(atPath: fixture.folder) }
        let result = await StateBackendConformance(fixture).run(check)
        #expect(result.passed, "\(result)")
    }

    /// The suite is worth something only if it catches a backend that breaks the contract.
    @Test("a deliberately broken backend fails the checks its breakage touches, and only those")
    func brokenBackends() async throws {
        for (breakage, expected) in [
            (
                BrokenBackend.Breakage.dropsCheckpoints,
                ["checkpointRecovery", "archivedCheckpointIsDone", "reconcileVanished"]
            ),
            (
                .neverSkips,
                [
                    "rerunRules", "attemptsAndRetry", "archivedCheckpointIsDone", "recordingRules", "dedupeByContent",
                    "migrations",
                ]
            ),
            (.recordsInterruptedAsFailed, ["interruptedStaysInFlight"]),
        ] {
            let fixture = BrokenFixture(base: SQLiteFixture(), breakage: breakage)
            defer { try? FileManager.default.removeItem(atPath: fixture.base.folder) }
            let results = await StateBackendConformance(fixture).runAll()
            let violated = results.filter { !$0.passed }.map(\.check)
            #expect(violated == expected, "\(breakage): \(results.filter { !$0.passed })")
        }
    }
}

@Suite("the SQLite ledger's migrations")
struct SQLiteMigrationTests {
    /// v6 moved a pending Wix upload from its own columns into the asset's values: a killed run's row written by an
    /// older ingest must still lead the next attempt to look for its upload instead of sending it again.
    @Test("a pending upload an older ingest checkpointed comes back as the asset's WixPendingUpload value")
    func pendingUploadColumnsBecomeAValue() async throws {
        let fixture = SQLiteFixture()
        defer { try? FileManager.default.removeItem(atPath: fixture.folder) }
        let pipeline = try await fixture.pipeline(named: "old", host: "a") { _ in }
        try FileManager.default.createDirectory(atPath: fixture.folder, withIntermediateDirectories: true)
        let database = try DatabaseQueue(path: pipeline.state.ledgerPath)
        try SQLiteLedger.migrator.migrate(database, upTo: "v5 run reports")
        let started = Date(timeIntervalSince1970: 1_760_000_000.5)
        let modified = Date(timeIntervalSince1970: 1_700_000_000)
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT INTO asset (pipeline, identity, size, mtimeNs, status, attempts, runId, firstSeen, updatedAt,
                        uploadStartedAt, uploadName, uploadSize, uploadFolder, uploadPath)
                    VALUES ('old', 'a.jpg', 10, ?, 'in_flight', 1, 'killed', ?, ?, ?, 'a.jpg', 10, NULL, '/media/2026')
                    """,
                arguments: [RerunRule.mtimeNanoseconds(modified), Date(), Date(), started])
        }
        let ledger = try SQLiteLedger(
            path: pipeline.state.ledgerPath, pipeline: "old", runID: "new", maxAttempts: 5, dedupeByContent: false)
        let asset = Asset(
            id: 1, origin: .file(path: fixture.folder + "/a.jpg", root: fixture.folder, relativePath: "a.jpg"),
            fileName: "a.jpg", contentPath: nil, size: 10, modificationDate: modified)
        guard case .process(let recovery?) = try await ledger.begin(asset) else {
            Issue.record("a killed run's row is processed with recovery facts")
            return
        }
        let pending = try #require(recovery.values[WixPendingUpload.self])
        #expect(pending.fileName == "a.jpg" && pending.size == 10 && pending.folderID == nil)
        #expect(pending.folderPath == "/media/2026")
        #expect(abs(pending.startedAt.timeIntervalSince(started)) < 0.002, "\(pending.startedAt) vs \(started)")
    }
}
