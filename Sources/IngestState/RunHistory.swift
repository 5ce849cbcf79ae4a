import Foundation
import GRDB
import MediaIngest

/// The runs a ledger remembers, read-only, for `ingest report`: each run's record and the report it kept (without its
/// asset records).
public enum RunHistory {
    /// One run as the ledger keeps it.
    public struct Run: Sendable {
        public var id: String
        public var startedAt: Date
        public var finishedAt: Date?
        public var exitCode: Int?
        /// The report (counts, time line, slowest assets, problems, retries), when the run finished and kept one.
        public var report: RunReport?
        /// The host it ran on (shared ledgers).
        public var host: String?

        public init(
            id: String, startedAt: Date, finishedAt: Date?, exitCode: Int?, report: RunReport?, host: String? = nil
        ) {
            self.id = id
            self.startedAt = startedAt
            self.finishedAt = finishedAt
            self.exitCode = exitCode
            self.report = report
            self.host = host
        }
    }

    /// The run `runID` of `pipeline` (or the latest one), from the SQLite ledger at `path`.
    public static func run(path: String, pipeline: String, id runID: String?) throws -> Run? {
        var configuration = Configuration()
        configuration.readonly = true
        let database = try DatabaseQueue(path: path, configuration: configuration)
        return try database.read { db in
            let hasReports = try db.columns(in: "run").contains { $0.name == "report" }
            let select = "SELECT runId, startedAt, finishedAt, exitCode\(hasReports ? ", report" : "") FROM run"
            let row =
                try runID.map {
                    try Row.fetchOne(db, sql: select + " WHERE pipeline = ? AND runId = ?", arguments: [pipeline, $0])
                }
                ?? Row.fetchOne(
                    db, sql: select + " WHERE pipeline = ? ORDER BY startedAt DESC LIMIT 1", arguments: [pipeline])
            return row.map { row in
                Run(
                    id: row["runId"], startedAt: row["startedAt"], finishedAt: row["finishedAt"],
                    exitCode: row["exitCode"], report: decode(hasReports ? row["report"] : nil))
            }
        }
    }

    /// A kept report, decoded (`nil` for none, or one this ingest cannot read).
    public static func decode(_ text: String?) -> RunReport? {
        guard let text else { return nil }
        return try? RunReport.makeDecoder().decode(RunReport.self, from: Data(text.utf8))
    }
}
