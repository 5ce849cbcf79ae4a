import Foundation
import IngestPostgres
import IngestStages
import MediaIngest
import TestSupport
import Testing

/// `state.ledger` URLs as libpq reads them: spellings, sockets, sslmode, where the password comes from, and that it
/// is never printed.
@Suite("PostgreSQL ledger settings")
struct PostgresSettingsTests {
    @Test("postgresql:// and postgres://, host, port, user, database, socket folders")
    func parsing() throws {
        let plain = try PostgresSettings(
            url: "postgresql://ingest@db.example:5433/media", passwordFile: nil, environment: [:])
        #expect(plain.host == "db.example")
        #expect(plain.port == 5433)
        #expect(plain.username == "ingest")
        #expect(plain.database == "media")
        #expect(plain.sslMode == "prefer")
        let short = try PostgresSettings(url: "postgres://u@h/d?sslmode=require", passwordFile: nil, environment: [:])
        #expect(short.port == 5432)
        #expect(short.sslMode == "require")
        let socket = try PostgresSettings(
            url: "postgresql://u@%2Fvar%2Frun%2Fpostgresql/d", passwordFile: nil, environment: [:])
        #expect(socket.host == "/var/run/postgresql")
        let query = try PostgresSettings(
            url: "postgresql://u@localhost/d?host=/tmp/sock&port=6000", passwordFile: nil, environment: [:])
        #expect(query.host == "/tmp/sock")
        #expect(query.port == 6000)
        #expect(throws: PostgresLedgerError.self) {
            try PostgresSettings(url: "postgresql://u@h/d?sslmode=sometimes", passwordFile: nil, environment: [:])
        }
    }

    @Test("the password: passwordFile, else the URL, else PGPASSWORD; never in a description or `ingest check`")
    func passwords() throws {
        let url = "postgresql://ingest:s3cr%40t@db.example/media"
        let settings = try PostgresSettings(url: url, passwordFile: nil, environment: ["PGPASSWORD": "other"])
        #expect(!settings.description.contains("s3cr"))
        #expect(settings.description.contains("***"))
        #expect(LedgerLocation.redacted(url) == "postgresql://ingest:***@db.example/media")
        #expect(!LedgerLocation.postgres(url).description.contains("s3cr"))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pw-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "from-file\n".write(toFile: folder + "/pw", atomically: true, encoding: .utf8)
        #expect(throws: PostgresLedgerError.self) {
            try PostgresSettings(url: url, passwordFile: folder + "/missing", environment: [:])
        }
        _ = try PostgresSettings(url: url, passwordFile: folder + "/pw", environment: [:])
    }

    @Test("a pipeline's state block: ${VAR} in the URL, lease, a per-host lock file, errors with their JSON path")
    func stateBlock() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let good = #"""
            {"name": "fleet", "state": {"ledger": "postgresql://ingest@${DB_HOST}/ingest", "lease": "30s"},
             "stages": [{"kind": "source.queue"}]}
            """#
        try good.write(toFile: folder + "/fleet.json", atomically: true, encoding: .utf8)
        var builder = PipelineBuilder(registry: .builtins)
        builder.environment = ["DB_HOST": "db.internal:5432"]
        let pipeline = try builder.build(fileAt: folder + "/fleet.json")
        #expect(pipeline.state.ledger == .postgres("postgresql://ingest@db.internal:5432/ingest"))
        #expect(pipeline.state.lease == .seconds(30))
        #expect(pipeline.state.lockPath.hasSuffix("/.ingest/fleet@\(HostIdentity.current.name).lock"))
        let bad = #"""
            {"name": "fleet", "state": {"ledger": "mysql://db/ingest", "lease": "0s"}, "stages": [{"kind": "source.queue"}]}
            """#
        try bad.write(toFile: folder + "/bad.json", atomically: true, encoding: .utf8)
        #expect {
            try PipelineBuilder(registry: .builtins).build(fileAt: folder + "/bad.json")
        } throws: { error in
            "\(error)".contains("state.ledger: unsupported ledger URL scheme")
        }
    }
}
