import Foundation
import IngestPostgres
import IngestState
import Logging
import MediaIngest

/// The state backend a pipeline's `state.ledger` asks for: ``PostgresStateBackend`` for a `postgresql://` URL, else
/// the SQLite ledger of one host (``SQLiteStateBackend``). The one place the CLI chooses a backend.
enum StateBackends {
    static func backend(for pipeline: Pipeline, logger: Logger = quietLogger) -> any StateBackend {
        switch pipeline.state.ledger {
        case .postgres: PostgresStateBackend(logger: logger)
        case .file: SQLiteStateBackend()
        }
    }

    static var quietLogger: Logger { Logger(label: "ingest") { _ in SwiftLogNoOpLogHandler() } }
}

/// The state of runs as each pipeline's `state.ledger` asks (``StateBackends``), decided at each open, so a watcher
/// whose pipeline file changes follows it. What `ingest run` and `ingest watch` give ``RunSession``.
struct LedgerRunState: RunStateProvider {
    let logger: Logger

    func open(
        for pipeline: Pipeline, runID: String, waitingUpTo wait: Duration
    ) async throws(RunStateError) -> any RunStateStore {
        try await StateBackends.backend(for: pipeline, logger: logger).open(
            for: pipeline, runID: runID, waitingUpTo: wait)
    }
}
