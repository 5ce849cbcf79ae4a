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
        // One direct connection first: its errors say what is wrong (password, database name, TLS) where the pool
        // would only say its circuit breaker tripped. It also runs the migrations. A server that is starting or
        // restarting is waited for (10 s).
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: try settings.connectionConfiguration(), id: 1, logger: quiet(logger))
                do {
                    try await PostgresSchema.migrate(on: connection, logger: logger)
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
                break
            } catch {
                let mapped = PostgresLedgerError(error)
                guard mapped.isTransient, ContinuousClock.now < deadline else { throw mapped }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        let database = try PostgresDatabase(settings, logger: logger, patience: patience)
        for await _ in database.started {}
        await Task.yield()
        return database
    }

    private init(_ settings: PostgresSettings, logger: Logger, patience: Duration) throws(PostgresLedgerError) {
        self.settings = settings
        self.logger = logger
        self.patience = patience
        // The pool's background logging at errors only: connection trouble reaches the user through our errors.
        var background = logger
        background.logLevel = .error
        let client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: background)
        self.client = client
        let (started, signal) = AsyncStream<Void>.makeStream()
        runner = Task {
            signal.finish()
            await client.run()
        }
        self.started = started
    }

    /// Finishes once the pool's `run()` task has begun.
    private let started: AsyncStream<Void>

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

/// PostgresNIO's own logging at warnings and above only (its debug lines name every query).
private func quiet(_ logger: Logger) -> Logger {
    var quiet = logger
    quiet.logLevel = max(logger.logLevel, .warning)
    return quiet
}

extension PostgresRowSequence {
    /// How many rows the statement returned (for `… RETURNING 1`).
    func count() async throws -> Int {
        var count = 0
        for try await _ in self { count += 1 }
        return count
    }
}
