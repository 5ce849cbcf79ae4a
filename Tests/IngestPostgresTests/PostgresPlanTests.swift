import Foundation
import MediaIngest
import TestSupport
import Testing
import WixStages

@testable import IngestPostgres

/// How the ledger's prepared statements are planned. A first run starts from an empty table; a plan cached from its
/// statistics (a sequential scan) and kept while the table grows makes a 20,000-file run quadratic.
@Suite(
    "PostgreSQL ledger: statement plans",
    .enabled(if: PostgresTestServer.isAvailable, Comment(rawValue: PostgresTestServer.skipReason)))
struct PostgresPlanTests {
    @Test("a first run's claims, checkpoints and records turn to the index as the table grows, whatever its statistics")
    func indexLookups() async throws {
        let url = try await PostgresTestServer.makeDatabase()
        let database = try await PostgresLedgerTests.open(url)
        // Autovacuum's first visit comes while the table is tiny and the next one long after: the statistics say
        // ten rows in one page for the whole run.
        _ = try await PostgresTestServer.query(
            "ALTER TABLE ingest_asset SET (autovacuum_enabled = false)", database: url)
        let ledger = PostgresLedgerTests.ledger(database, pipeline: "plans", host: .current)
        let count = 1200
        for index in 0..<count {
            if index == 10 { _ = try await PostgresTestServer.query("ANALYZE ingest_asset", database: url) }
            var asset = PostgresLedgerTests.asset("\(index).jpg")
            guard case .process = try await ledger.begin(asset) else {
                Issue.record("a new file is claimed")
                return
            }
            asset.values[WixPendingUpload.self] = WixPendingUpload.Value(
                startedAt: Date(), fileName: "\(index).jpg", size: 10)
            try await ledger.checkpoint(asset)
            asset.target = TargetRecord(target: "wix", id: "file-\(index)", url: nil, status: "READY", confirmed: true)
            try await ledger.record(AssetResult(asset: asset, status: .done))
        }
        for index in 0..<count {
            guard case .skip = try await ledger.begin(PostgresLedgerTests.asset("\(index).jpg")) else {
                Issue.record("a done file is skipped")
                return
            }
        }
        // Closing ends the sessions, which report their statistics as they exit: wait until the inserts show.
        await ledger.close()
        var row = ""
        for _ in 0..<100 {
            row = try await PostgresTestServer.query(
                "SELECT n_tup_ins || ' ' || seq_scan FROM pg_stat_user_tables WHERE relname = 'ingest_asset'",
                database: url)
            if row.hasPrefix("\(count) ") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let numbers = row.split(separator: " ").compactMap { Int($0) }
        try #require(numbers.count == 2 && numbers[0] == count, "statistics never arrived: \(row)")
        // While the table is a few pages a scan is the cheaper plan (about 650 here); plans made for each execution
        // see the table grow and turn to the primary key. A plan cached from the ten-row statistics scans on every
        // statement: about 4 per file, 4,700 here.
        #expect(numbers[1] < count, "sequential scans of ingest_asset: \(numbers[1]) for \(count) files")
    }
}
