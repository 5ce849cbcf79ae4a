import Foundation
import Logging
import MediaIngest
import PostgresNIO

/// The one owner of a PostgresNIO client: starts its connection pool, runs statements with retries across a broken
/// connection or a restarting server, and shuts the pool down. Ledger, queue and budget all talk through it.
public final class PostgresDatabase: Sendable {
    let client: PostgresClient
    let settings: PostgresSettings
    let logger: Logger
    private let runner: Task<Void, Never>
    /// How long a statement keeps being retried while the server is unreachable (a restart takes seconds).
    let patience: Duration

    /// Connects (lazily: the pool opens connections on first use), checks the server answers, and migrates the schema.
    public static func open(
        _ settings: PostgresSettings, logger: Logger, patience: Duration = .seconds(60)
    ) async throws(PostgresLedgerError) -> PostgresDatabase {
        let database = try PostgresDatabase(settings, logger: logger, patience: patience)
        do {
            _ = try await database.retrying(for: .seconds(10)) { client in
                try await client.query("SELECT 1", logger: logger)
            }
            try await PostgresSchema.migrate(database)
        } catch {
            await database.close()
            throw error
        }
        return database
    }

    private init(_ settings: PostgresSettings, logger: Logger, patience: Duration) throws(PostgresLedgerError) {
        self.settings = settings
        self.logger = logger
        self.patience = patience
        var background = logger
        background.logLevel = max(logger.logLevel, .warning)
        let client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: background)
        self.client = client
        runner = Task { await client.run() }
    }

    /// Shuts the pool down.
    public func close() async {
        runner.cancel()
        await runner.value
    }

    /// Runs `body` on the pool, again after a pause when the connection broke (up to `patience`).
    func retrying<Result: Sendable>(
        for patience: Duration? = nil, _ body: (PostgresClient) async throws -> Result
    ) async throws(PostgresLedgerError) -> Result {
        let deadline = ContinuousClock.now + (patience ?? self.patience)
        var pause = Duration.milliseconds(100)
        while true {
            do {
                return try await body(client)
            } catch {
                let mapped = PostgresLedgerError(error)
                guard mapped.isTransient, ContinuousClock.now + pause < deadline, !Task.isCancelled else {
                    throw mapped
                }
                logger.debug("PostgreSQL unavailable, retrying", metadata: ["error": "\(mapped)"])
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(2))
            }
        }
    }

    /// Runs `body` in a transaction, retried whole when the connection broke or the server chose it as a deadlock
    /// victim. `body` must therefore be safe to run again (every use here decides on what it reads, under row locks).
    func transaction<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws(PostgresLedgerError) -> Result {
        try await retrying { client in
            try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }
}

extension PostgresRowSequence {
    /// How many rows the statement returned (for `… RETURNING 1`).
    func count() async throws -> Int {
        var count = 0
        for try await _ in self { count += 1 }
        return count
    }
}
