import Foundation
import TestSupport
import Testing

/// A remote source under a PostgreSQL ledger: hosts listing the same remote share its objects by the same claims as a
/// folder's, each object processed by one host.
extension FleetTests {
    @Test("two hosts over one remote (rclone's local backend): 300 objects, each done by exactly one host")
    func remoteSource() async throws {
        let project = try makeProject(files: [])
        let database = try await PostgresTestServer.makeDatabase()
        let inbox = project.file("bucket/inbox")
        try FileManager.default.createDirectory(atPath: inbox + "/batch", withIntermediateDirectories: true)
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/jpeg/gps_minimal.jpg")))
        for index in 0..<300 {
            try (jpeg + Data("\(index)".utf8)).write(to: URL(fileURLWithPath: inbox + "/batch/f\(index).jpg"))
        }
        try project.write("rclone.conf", "[box]\ntype = local\n")
        try project.write(
            "pipelines/fleet.json",
            """
            {"name": "fleet", "concurrency": 4, "state": {"ledger": "${FLEET_LEDGER}", "lease": "5s"}, "stages": [
              {"kind": "source.remote", "with": {"remote": "box:\(inbox)", "config": "rclone.conf"}},
              {"kind": "detect.mime"},
              {"kind": "upload.library", "with": {"path": "library", "maxBytesPerSecond": "200KiB"}},
              {"kind": "source.archive", "with": {"mode": "delete"}},
              {"kind": "report.manifest", "with": {"path": "m-${INGEST_HOST}.jsonl"}}
            ]}
            """)
        let environment = PostgresTestServer.childEnvironment.merging(["FLEET_LEDGER": database]) { _, new in new }
        let hosts = ["host-a", "host-b"]
        let results = try await withThrowingTaskGroup(of: (String, ProcessResult).self) { group in
            for host in hosts {
                group.addTask {
                    let result = try await runProcessAsync(
                        ingest, ["run", "fleet", "--json", "--quiet"],
                        environment: environment.merging(["INGEST_HOST": host]) { _, new in new },
                        currentDirectory: project.path, timeout: 300)
                    return (host, result)
                }
            }
            return try await group.reduce(into: [String: ProcessResult]()) { $0[$1.0] = $1.1 }
        }
        var done: [String] = []
        for host in hosts {
            let result = try #require(results[host])
            #expect(result.status == 0, "\(host): \(result.stdout)\(result.stderr)")
            let lines = (try? String(contentsOfFile: project.file("m-\(host).jsonl"), encoding: .utf8)) ?? ""
            let paths = lines.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]).flatMap {
                    $0["status"] as? String == "done" ? $0["path"] as? String : nil
                }
            }
            #expect(!paths.isEmpty, "\(host) did a share")
            done += paths
        }
        #expect(
            done.count == 300 && Set(done).count == 300, "each object once: \(done.count), \(Set(done).count) distinct")
        #expect(try FileManager.default.contentsOfDirectory(atPath: inbox + "/batch").isEmpty)
    }
}
