import Foundation
import Logging
import MediaIngest
import PipelineTesting
import Synchronization
import TestSupport
import Testing
import WixStages

@testable import IngestPostgres

/// The PostgreSQL backend in ``StateBackendConformance``: a fresh database per pipeline name on the test server;
/// each host a lock file of its own; leases run out by moving them into the past; earlier schema versions written by
/// applying the schema's statements up to them.
final class PostgresFixture: StateBackendFixture {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
        "postgres-conformance-\(UUID().uuidString.prefix(8))"
    ).path
    private let databases = Mutex<[String: String]>([:])

    var backend: any StateBackend {
        PostgresStateBackend(
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
            environment: ["PGPASSWORD": PostgresTestServer.password])
    }

    /// The database of pipelines named `name`, made on first use.
    func database(for name: String) async throws -> String {
        if let url = databases.withLock({ $0[name] }) { return url }
        let url = try await PostgresTestServer.makeDatabase()
        return databases.withLock { known in
            if let existing = known[name] { return existing }
            known[name] = url
            return url
        }
    }

    func pipeline(
        named name: String, host: String, configure: @Sendable (inout StateSettings) -> Void
    ) async throws -> Pipeline {
        var state = StateSettings(
            enabled: true, ledgerPath: "\(folder)/unused.sqlite", lockPath: "\(folder)/\(name)-\(host).lock",
            maxAttempts: 5, dedupe: .off)
        state.ledger = .postgres(try await database(for: name))
        state.lease = .seconds(30)
        configure(&state)
        return Pipeline(name: name, concurrency: 1, sources: [], stages: [], state: state, baseDirectory: folder)
    }

    func expireClaims(of pipeline: Pipeline) async throws {
        guard case .postgres(let url) = pipeline.state.ledger else { return }
        _ = try await PostgresTestServer.query(
            "UPDATE ingest_asset SET lease_until = now() - interval '1 second' WHERE pipeline = '\(pipeline.name)'",
            database: url)
    }

    var earlierSchemaVersions: [Int] { PostgresSchema.versions.map(\.version).filter { $0 < PostgresSchema.latest } }

    func seed(_ rows: [ConformanceSeedRow], atSchemaVersion version: Int, for pipeline: Pipeline) async throws {
        guard case .postgres(let url) = pipeline.state.ledger else { return }
        var sql = [
            "CREATE TABLE ingest_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        ]
        for (number, statements) in PostgresSchema.versions where number <= version {
            sql += statements
            sql.append("INSERT INTO ingest_schema (version) VALUES (\(number))")
        }
        func literal(_ text: String?) -> String {
            text.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" } ?? "NULL"
        }
        for row in rows {
            sql.append(
                """
                INSERT INTO ingest_asset (pipeline, identity, size, mtime_ns, status, attempts, run_id, error, target_id)
                VALUES (\(literal(pipeline.name)), \(literal(row.key)), \(row.size),
                \(RerunRule.mtimeNanoseconds(row.modificationDate) ?? 0), \(literal(row.status)), \(row.attempts),
                \(literal(row.runID)), \(literal(row.error)), \(literal(row.targetID)))
                """)
        }
        _ = try await PostgresTestServer.query(sql.joined(separator: ";\n"), database: url)
    }
}

@Suite(
    "the PostgreSQL backend keeps the state machine (StateBackendConformance)",
    .enabled(if: PostgresTestServer.isAvailable, Comment(rawValue: PostgresTestServer.skipReason)))
struct PostgresConformanceTests {
    @Test("conformance", arguments: StateBackendConformance.checkNames)
    func conformance(_ check: String) async throws {
        let fixture = PostgresFixture()
        defer { try? FileManager.default.removeItem(atPath: fixture.folder) }
        let result = await StateBackendConformance(fixture).run(check)
        #expect(result.passed, "\(result)")
        #expect(result.skipped == nil, "every check applies to a shared ledger: \(result)")
    }
}

@Suite(
    "the PostgreSQL ledger's migrations",
    .enabled(if: PostgresTestServer.isAvailable, Comment(rawValue: PostgresTestServer.skipReason)))
struct PostgresMigrationTests {
    /// Version 4 moved a pending Wix upload from its own columns into the asset's values.
    @Test("a pending upload an older ingest checkpointed comes back as the asset's WixPendingUpload value")
    func pendingUploadColumnsBecomeAValue() async throws {
        let url = try await PostgresTestServer.makeDatabase()
        var sql = [
            "CREATE TABLE ingest_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        ]
        for (number, statements) in PostgresSchema.versions where number <= 3 {
            sql += statements + ["INSERT INTO ingest_schema (version) VALUES (\(number))"]
        }
        let modified = Date(timeIntervalSince1970: 1_700_000_000)
        sql.append(
            """
            INSERT INTO ingest_asset (pipeline, identity, size, mtime_ns, status, attempts, run_id, upload_started_at,
                upload_name, upload_size, upload_folder, upload_path)
            VALUES ('old', 'a.jpg', 10, \(RerunRule.mtimeNanoseconds(modified)!), 'in_flight', 1, 'killed',
                to_timestamp(1760000000.5), 'a.jpg', 10, 'folder-7', NULL)
            """)
        _ = try await PostgresTestServer.query(sql.joined(separator: ";\n"), database: url)
        let database = try await PostgresLedgerTests.open(url)
        defer { Task { await database.close() } }
        let ledger = PostgresLedgerTests.ledger(database, pipeline: "old", host: PostgresLedgerTests.host("b"))
        let asset = Asset(
            id: 1, origin: .file(path: "/nonexistent/a.jpg", root: "/nonexistent", relativePath: "a.jpg"),
            fileName: "a.jpg", contentPath: nil, size: 10, modificationDate: modified)
        guard case .process(let recovery?) = try await ledger.begin(asset) else {
            Issue.record("a killed run's row is processed with recovery facts")
            return
        }
        let pending = try #require(recovery.values[WixPendingUpload.self])
        #expect(pending.fileName == "a.jpg" && pending.size == 10 && pending.folderID == "folder-7")
        #expect(pending.folderPath == nil)
        #expect(abs(pending.startedAt.timeIntervalSince1970 - 1_760_000_000.5) < 0.002, "\(pending.startedAt)")
    }
}
