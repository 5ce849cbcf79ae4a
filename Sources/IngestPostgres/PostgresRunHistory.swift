import Foundation
import IngestState
import Logging
import MediaIngest
import PostgresNIO

extension RunHistory {
    /// The run `runID` of `pipeline` (or the latest one on any host), from a shared ledger.
    public static func run(
        _ database: PostgresDatabase, pipeline: String, id runID: String?, logger: Logger
    ) async throws -> Run? {
        try await database.retrying { client in
            let rows =
                if let runID {
                    try await client.query(
                        """
                        SELECT run_id, started_at, finished_at, exit_code, report, host FROM ingest_run
                        WHERE pipeline = \(pipeline) AND run_id = \(runID)
                        """, logger: logger
                    ).collect()
                } else {
                    try await client.query(
                        """
                        SELECT run_id, started_at, finished_at, exit_code, report, host FROM ingest_run
                        WHERE pipeline = \(pipeline) ORDER BY started_at DESC LIMIT 1
                        """, logger: logger
                    ).collect()
                }
            return try rows.first.map { row in
                let (id, started, finished, code, report, host) = try row.decode(
                    (String, Date, Date?, Int?, String?, String).self)
                return Run(
                    id: id, startedAt: started, finishedAt: finished, exitCode: code, report: decode(report),
                    host: host)
            }
        }
    }
}
