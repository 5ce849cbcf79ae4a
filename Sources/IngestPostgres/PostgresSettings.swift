import Foundation
import MediaIngest
import NIOSSL
import PostgresNIO

/// How to reach a PostgreSQL ledger: parsed from the pipeline's `state.ledger` URL, its `passwordFile` and the
/// environment, the way libpq reads a connection URI.
///
/// `postgresql://user[:password]@host[:port]/database?sslmode=…` (also `postgres://`). `host` may be a socket folder
/// (`postgresql://ingest@%2Fvar%2Frun%2Fpostgresql/ingest` or `?host=/var/run/postgresql`). The password comes from
/// `passwordFile`, else the URL, else `PGPASSWORD`; it is never printed (``description`` shows `***`).
/// `sslmode`: `disable`; `allow` and `prefer` (the default) use TLS when the server offers it; `require` insists on it
/// without checking the certificate; `verify-ca` checks the chain (`sslrootcert`, else the system's roots);
/// `verify-full` the host name too.
public struct PostgresSettings: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var database: String
    public var sslMode: String
    var password: String?
    var rootCertificate: String?

    /// The URL without its password.
    public let description: String

    /// Parses `url`; `passwordFile` and `environment` supply the password when the URL does not.
    public init(url: String, passwordFile: String?, environment: [String: String]) throws(PostgresLedgerError) {
        guard LedgerLocation.isPostgresURL(url), let components = URLComponents(string: url) else {
            throw PostgresLedgerError(.configuration, "not a postgresql:// URL: \(LedgerLocation.redacted(url))")
        }
        description = LedgerLocation.redacted(url)
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name] = item.value ?? "" }
        host = query["host"] ?? components.percentEncodedHost.flatMap { $0.removingPercentEncoding } ?? "localhost"
        if host.isEmpty { host = "localhost" }
        port = components.port ?? query["port"].flatMap { Int($0) } ?? 5432
        username =
            components.user ?? query["user"] ?? environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? (query["dbname"] ?? username) : path
        sslMode = query["sslmode"] ?? environment["PGSSLMODE"] ?? "prefer"
        guard ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"].contains(sslMode) else {
            throw PostgresLedgerError(
                .configuration,
                "sslmode \"\(sslMode)\" is not one of disable, allow, prefer, require, verify-ca, verify-full")
        }
        rootCertificate = query["sslrootcert"]
        if let passwordFile {
            do {
                password = try String(contentsOfFile: passwordFile, encoding: .utf8)
                    .trimmingCharacters(in: .newlines)
            } catch {
                throw PostgresLedgerError(.configuration, "cannot read the passwordFile \(passwordFile): \(error)")
            }
        } else {
            password = components.password ?? query["password"] ?? environment["PGPASSWORD"]
        }
    }

    /// PostgresNIO's client configuration.
    func clientConfiguration() throws(PostgresLedgerError) -> PostgresClient.Configuration {
        var configuration: PostgresClient.Configuration
        if host.hasPrefix("/") {
            configuration = PostgresClient.Configuration(
                unixSocketPath: host + "/.s.PGSQL.\(port)", username: username, password: password,
                database: database)
        } else {
            configuration = PostgresClient.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: try tls())
        }
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.maximumConnections = 16
        configuration.options.additionalStartupParameters = Self.sessionParameters
        return configuration
    }

    /// Settings every pooled session starts with. The ledger's hot statements are prepared once per connection
    /// (`PostgresStatements.swift`); a generic plan would be made from the statistics of that moment — early in a
    /// first run, a table of a few rows, so a sequential scan — and kept while the table grows (quadratic). Custom
    /// plans are made for each execution and see the table's size: the parse is still saved.
    static let sessionParameters = [("plan_cache_mode", "force_custom_plan"), ("application_name", "ingest")]

    /// The configuration of one direct connection (the first one a run opens, whose errors are reported as they are:
    /// the pool only says its circuit breaker tripped).
    func connectionConfiguration() throws(PostgresLedgerError) -> PostgresConnection.Configuration {
        if host.hasPrefix("/") {
            var configuration = PostgresConnection.Configuration(
                unixSocketPath: host + "/.s.PGSQL.\(port)", username: username, password: password,
                database: database)
            configuration.options.additionalStartupParameters = Self.sessionParameters
            return configuration
        }
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch (sslMode, try tlsConfiguration()) {
            case (_, nil): tls = .disable
            case ("allow", let config?), ("prefer", let config?):
                tls = .prefer(try NIOSSLContext(configuration: config))
            case (_, let config?): tls = .require(try NIOSSLContext(configuration: config))
            }
        } catch let error as PostgresLedgerError {
            throw error
        } catch {
            throw PostgresLedgerError(.configuration, "cannot set up TLS: \(error)")
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.additionalStartupParameters = Self.sessionParameters
        return configuration
    }

    private func tls() throws(PostgresLedgerError) -> PostgresClient.Configuration.TLS {
        guard let config = try tlsConfiguration() else { return .disable }
        return sslMode == "allow" || sslMode == "prefer" ? .prefer(config) : .require(config)
    }

    /// The TLS settings `sslMode` asks for; `nil` for `disable`.
    private func tlsConfiguration() throws(PostgresLedgerError) -> TLSConfiguration? {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case "disable":
            return nil
        case "allow", "prefer", "require":
            tls.certificateVerification = .none
            return tls
        default:
            tls.certificateVerification = sslMode == "verify-ca" ? .noHostnameVerification : .fullVerification
            if let rootCertificate {
                do {
                    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootCertificate))
                } catch {
                    throw PostgresLedgerError(.configuration, "cannot read sslrootcert \(rootCertificate): \(error)")
                }
            }
            return tls
        }
    }
}
