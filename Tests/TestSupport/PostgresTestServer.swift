import Foundation

/// The throwaway PostgreSQL server `Scripts/test-postgres.sh start` made for this test run (`make test` starts and
/// stops it; CI always has one). Tests that need it are `.enabled(if: PostgresTestServer.isAvailable, …)`, so
/// without a server they show as skipped, with the reason.
public enum PostgresTestServer {
    static let environment = ProcessInfo.processInfo.environment

    /// `postgresql://ingest@127.0.0.1:PORT/ingest?sslmode=disable` (no password in it).
    public static let url = environment["INGEST_TEST_POSTGRES_URL"]
    /// The password of the `ingest` role (scram-sha-256 over TCP).
    public static let password = environment["INGEST_TEST_POSTGRES_PASSWORD"] ?? ""
    /// Whether a server was started for the tests.
    public static var isAvailable: Bool { url != nil }
    /// CI sets `INGEST_REQUIRE_POSTGRES=1`: there, a missing server fails a test instead of skipping the suites.
    public static var isRequired: Bool { environment["INGEST_REQUIRE_POSTGRES"] == "1" }
    /// Why the suites are skipped.
    public static let skipReason =
        "no PostgreSQL test server: install postgresql and run `make test` (Scripts/test-postgres.sh starts one)"

    /// The environment a child `ingest` needs to reach the server (the password through `PGPASSWORD`).
    public static var childEnvironment: [String: String] {
        ["INGEST_TEST_POSTGRES_URL": url ?? "", "PGPASSWORD": password]
    }

    /// A new, empty database on the server; returns its URL.
    public static func makeDatabase() async throws -> String {
        guard let url else { throw Unavailable() }
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        // Off the cooperative pool (runProcessAsync): a blocked pool thread starves every concurrent suite.
        let result = try await runProcessAsync(
            "/usr/bin/psql", [url, "-v", "ON_ERROR_STOP=1", "-qc", "CREATE DATABASE \(name)"],
            environment: ["PGPASSWORD": password])
        guard result.status == 0 else { throw Failed(message: result.stderr) }
        return url.replacingOccurrences(of: "/ingest?", with: "/\(name)?")
    }

    /// Runs SQL through psql and returns its unaligned output (`-At`).
    public static func query(_ sql: String, database: String? = nil) async throws -> String {
        guard let target = database ?? url else { throw Unavailable() }
        let result = try await runProcessAsync(
            "/usr/bin/psql", [target, "-v", "ON_ERROR_STOP=1", "-Atc", sql], environment: ["PGPASSWORD": password])
        guard result.status == 0 else { throw Failed(message: result.stderr) }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Restarts the server (`pg_ctl restart -m fast`, as its owner): every connection breaks.
    public static func restart() throws {
        guard let command = environment["INGEST_TEST_POSTGRES_RESTART"] else { throw Unavailable() }
        // No pipes: the restarted server would inherit their write ends, and a reader waiting for EOF would wait for
        // the server to exit. Its output goes to the server log; pg_ctl's to /dev/null.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Reaped here with waitpid(2): Foundation's waitUntilExit was seen to miss this child's exit (left a zombie)
        // while other children came and went.
        var status: Int32 = 0
        while true {
            let reaped = waitpid(process.processIdentifier, &status, WNOHANG)
            if reaped == process.processIdentifier { break }
            if reaped == -1 && errno != EINTR {
                status = process.isRunning ? -1 : process.terminationStatus << 8
                break
            }
            usleep(50_000)
        }
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw Failed(message: "pg_ctl restart failed (wait status \(status))")
        }
    }

    struct Unavailable: Error {}
    struct Failed: Error, CustomStringConvertible {
        var message: String
        var description: String { "psql: \(message)" }
    }
}
