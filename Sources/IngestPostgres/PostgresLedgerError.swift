import Foundation
import PostgresNIO

/// Why the PostgreSQL ledger could not do something, with the server's own words when it gave any. The one place
/// PostgresNIO's errors become ours (``init(_:)``): `PSQLError`'s description hides the details on purpose, so the
/// server's message and SQLSTATE are read from it here — never the query's bound values, which may hold paths.
public struct PostgresLedgerError: Error, CustomStringConvertible, Sendable {
    /// What kind of trouble.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The URL, password file or TLS settings are wrong.
        public static let configuration = Code("configuration")
        /// The server cannot be reached, or the connection broke (may pass: retried).
        public static let connection = Code("connection")
        /// The server refused a statement.
        public static let server = Code("server")
        /// The database's schema is newer than this ingest knows.
        public static let schema = Code("schema")
    }

    public var code: Code
    public var message: String
    /// The SQLSTATE, for server errors.
    public var sqlState: String?

    init(_ code: Code, _ message: String, sqlState: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
    }

    /// Maps any error a PostgresNIO call threw.
    init(_ error: any Error) {
        if let mapped = error as? PostgresLedgerError {
            self = mapped
            return
        }
        if let transaction = error as? PostgresTransactionError {
            // The closure's own error, else what broke BEGIN or COMMIT.
            let inner: (any Error)? =
                transaction.closureError ?? transaction.beginError ?? transaction.commitError
                ?? transaction.rollbackError
            self.init(inner.map { PostgresLedgerError($0) } ?? PostgresLedgerError(.server, "\(error)"))
            return
        }
        if "\(type(of: error))".hasPrefix("ConnectionPoolError") {
            // The pool's circuit breaker: several connection attempts failed in a row (the server is down).
            self.init(.connection, "PostgreSQL: the server cannot be reached (\(error))")
            return
        }
        guard let psql = error as? PSQLError else {
            self.init(.server, "\(error)")
            return
        }
        if let server = psql.serverInfo, let text = server[.message] {
            let state = server[.sqlState]
            // Class 08 (connection), 57P01-57P03 (shutdown, cannot connect now), 53 (resources): may pass.
            let passes = state.map { $0.hasPrefix("08") || $0.hasPrefix("57P") || $0.hasPrefix("53") } ?? false
            self.init(passes ? .connection : .server, "PostgreSQL: \(text) (SQLSTATE \(state ?? "?"))", sqlState: state)
            return
        }
        let underlying = psql.underlying.map { ": \($0)" } ?? ""
        let final: Set<PSQLError.Code> = [.poolClosed, .tooManyParameters, .queryCancelled]
        self.init(
            final.contains(psql.code) ? .server : .connection, "PostgreSQL connection: \(psql.code)\(underlying)")
    }

    /// Whether retrying the same statement later may succeed (the connection broke, the server restarts).
    public var isTransient: Bool {
        code == .connection || sqlState == "40001" || sqlState == "40P01"
    }

    public var description: String { message }
}
