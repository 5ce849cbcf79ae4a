import Foundation
import GRDB
import Testing

@testable import IngestState

@Suite("the SQLite ledger's lookups")
struct LedgerIndexTests {
    /// Reconciling runs after every run and every watch batch; over a ledger of 200,000 rows a search of the
    /// pipeline's rows took ~70 ms per statement, the partial index finds the few in-flight rows directly.
    @Test("earlier runs' in-flight rows are found through the partial index, not by reading every row")
    func inFlightRowsIndexed() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let ledger = try SQLiteLedger(
            path: folder + "/ledger.sqlite", pipeline: "p", runID: "r2", maxAttempts: 3, dedupeByContent: false)
        let scope = SQLiteLedger.earlierInFlight
        let statements = [
            "SELECT identity FROM asset WHERE \(scope)",
            "UPDATE asset SET status = 'done' WHERE \(scope) AND targetStatus = 'READY'",
            "UPDATE asset SET status = 'failed' WHERE \(scope)",
        ]
        for statement in statements {
            let plan = try await ledger.database.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + statement, arguments: ["p", "r2"])
                    .map { $0["detail"] as String }
            }
            #expect(plan.contains { $0.contains("USING INDEX asset_in_flight") }, "\(statement): \(plan)")
        }
        let one = try await ledger.database.read { db in
            try Row.fetchAll(
                db, sql: "EXPLAIN QUERY PLAN UPDATE asset SET status = 'failed' WHERE \(scope) AND identity = ?",
                arguments: ["p", "r2", "a.jpg"]
            ).map { $0["detail"] as String }
        }
        #expect(
            one.contains { $0.contains("asset_in_flight") || $0.contains("identity=?") }, "\(one)")
        await ledger.close()
    }
}
