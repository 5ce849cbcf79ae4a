import Foundation
import Logging
import MediaIngest
import PostgresNIO
import Synchronization

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
    /// The server's version (`SHOW server_version`), for `ingest doctor`.
    public func serverVersion() async throws -> String {
        let logger = logger
        return try await retrying(for: .seconds(5)) { client in
            try await client.query("SHOW server_version", logger: logger).collect().first?.decode(String.self) ?? "?"
        }
    }

    public func close() async {
        runner.cancel()
        await runner.value
    }

    /// Runs `body` on the pool, again after a pause when the connection broke (up to `patience`).
    func retrying<Result: Sendable>(
        for patience: Duration? = nil, _ body: @escaping @Sendable (PostgresClient) async throws -> Result
    ) async throws(PostgresLedgerError) -> Result {
        let deadline = ContinuousClock.now + (patience ?? self.patience)
        var pause = Duration.milliseconds(100)
        while true {
            do {
                let client = self.client
                return try await Self.withDeadline(attemptTimeout) { try await body(client) }
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

    /// How long one attempt of a statement may take before it is given up and tried again: a connection that broke
    /// without the kernel noticing (the server restarted mid-handshake) must not hang a run.
    let attemptTimeout = Duration.seconds(20)

    /// `body`'s result, or a ``PostgresLedgerError`` (`connection`, so it is retried) when it takes longer than
    /// `timeout`. The body runs in a task of its own that is cancelled then; whichever finishes first answers, so a
    /// body that does not notice the cancellation cannot hold the caller.
    static func withDeadline<Result: Sendable>(
        _ timeout: Duration, _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let answer = FirstAnswer<Result>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                answer.install(continuation)
                let work = Task {
                    do {
                        answer.resolve(.success(try await body()))
                    } catch {
                        answer.resolve(.failure(error))
                    }
                }
                answer.onResolve { work.cancel() }
                let timer = Task {
                    try? await Task.sleep(for: timeout)
                    answer.resolve(
                        .failure(PostgresLedgerError(.connection, "PostgreSQL did not answer within \(timeout)")))
                }
                answer.onResolve { timer.cancel() }
            }
        } onCancel: {
            answer.resolve(.failure(CancellationError()))
        }
    }

    /// Runs `body` in a transaction, retried whole when the connection broke or the server chose it as a deadlock
    /// victim. `body` must therefore be safe to run again (every use here decides on what it reads, under row locks).
    func transaction<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws(PostgresLedgerError) -> Result {
        let logger = logger
        return try await retrying { client in
            try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }
}

/// The first of several answers to one question (``PostgresDatabase/withDeadline(_:_:)``); later ones are dropped.
private final class FirstAnswer<Value: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var early: Result<Value, any Error>?
        var done = false
        var onResolve: [@Sendable () -> Void] = []
    }
    private let state = Mutex(State())

    func install(_ continuation: CheckedContinuation<Value, any Error>) {
        let early = state.withLock { state -> Result<Value, any Error>? in
            if let early = state.early { return early }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func onResolve(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.done { return true }
            state.onResolve.append(action)
            return false
        }
        if now { action() }
    }

    func resolve(_ result: Result<Value, any Error>) {
        let (continuation, actions) = state.withLock {
            state -> (CheckedContinuation<Value, any Error>?, [@Sendable () -> Void]) in
            guard !state.done else { return (nil, []) }
            state.done = true
            if state.continuation == nil { state.early = result }
            defer {
                state.continuation = nil
                state.onResolve = []
            }
            return (state.continuation, state.onResolve)
        }
        continuation?.resume(with: result)
        for action in actions { action() }
    }
}

/// PostgresNIO's own logging at warnings and above only (its debug lines name every query).
private func quiet(_ logger: Logger) -> Logger {
    var quiet = logger
    quiet.logLevel = max(logger.logLevel, .warning)
    return quiet
}
