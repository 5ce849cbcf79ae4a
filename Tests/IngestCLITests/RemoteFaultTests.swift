import Foundation
import TestSupport
import Testing

/// What goes wrong with remote storage mid-run: the supervised rclone dies, an object changes between its listing and
/// its download, the server goes away. Each is trouble that may pass: the asset fails (or the call is retried), nothing
/// half-read is stored, and the next run finishes the work.
extension RemoteSourceTests {
    /// A project with a named local remote `box:` over `bucket/inbox` holding `count` small JPEGs.
    static func localProject(count: Int) throws -> TemporaryDirectoryHandle {
        let project = try makeProject(files: [])
        let inbox = project.file("bucket/inbox")
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/jpeg/gps_minimal.jpg")))
        for index in 0..<count {
            try (jpeg + Data("\(index)".utf8)).write(to: URL(fileURLWithPath: inbox + "/f\(index).jpg"))
        }
        try project.write("rclone.conf", "[box]\ntype = local\n")
        return project
    }

    /// An `exec` stage that runs `script` (sh) while `f0.jpg` passes, and lets every asset go on.
    static func onFirstFile(_ script: String) throws -> String {
        let command = "if [ \"$INGEST_DISPLAY_PATH\" = f0.jpg ]; then \(script); fi; exit 0"
        let quoted = String(decoding: try JSONEncoder().encode(command), as: UTF8.self)
        return #"{"kind": "exec", "with": {"shell": true, "command": \#(quoted)}},"#
    }

    static func counts(_ result: ProcessResult) throws -> [String: Int] {
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        return report["counts"] as? [String: Int] ?? [:]
    }

    @Test("rclone rcd killed mid-run: the next call starts it again and every object lands once")
    func daemonKilled() async throws {
        let project = try Self.localProject(count: 4)
        // After the first file, kill this run's rcd (a child of ingest, the shell's parent).
        let killer = try Self.onFirstFile("pkill -KILL -P $PPID -x rclone")
        try project.write(
            "pipelines/r.json",
            Self.pipeline(remote: "box:" + project.file("bucket/inbox"), archive: #"{"mode": "delete"}"#, extra: killer)
                .replacingOccurrences(of: #""concurrency": 2"#, with: #""concurrency": 1"#))
        let run = try await Self.run(project, ["--json", "--verbose"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(try Self.counts(run)["done"] == 4, "\(run.stdout)")
        #expect(run.stderr.contains("starting it again"), "the restart was seen: \(run.stderr.suffix(3000))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: project.file("bucket/inbox")).isEmpty)
        let lines = Self.manifest(project)
        #expect(Set(lines.compactMap { $0["path"] as? String }) == ["f0.jpg", "f1.jpg", "f2.jpg", "f3.jpg"])
        #expect(lines.count == 4, "each once")
    }

    @Test(
        "an object that changes between its listing and its download fails remote_changed, nothing is stored; the next run takes it"
    )
    func changedBetweenListingAndDownload() async throws {
        let project = try Self.localProject(count: 2)
        let other = project.file("bucket/inbox/f1.jpg")
        let grow = try Self.onFirstFile("printf more >> '\(other)'")
        try project.write(
            "pipelines/r.json",
            Self.pipeline(remote: "box:" + project.file("bucket/inbox"), archive: #"{"mode": "delete"}"#, extra: grow)
                .replacingOccurrences(of: #""concurrency": 2"#, with: #""concurrency": 1"#))
        let first = try await Self.run(project, ["--json"])
        #expect(first.status == 1, "\(first.stdout)\(first.stderr)")
        #expect(try Self.counts(first)["done"] == 1 && Self.counts(first)["failed"] == 1)
        let failed = try #require(Self.manifest(project).first { $0["status"] as? String == "failed" })
        #expect(failed["path"] as? String == "f1.jpg")
        #expect(failed["code"] as? String == "remote_changed", "\(failed)")
        let stored = try FileManager.default.subpathsOfDirectory(atPath: project.file("library/files"))
        #expect(stored.filter { $0.hasSuffix(".jpg") }.count == 1, "the changed download was not stored")
        #expect(FileManager.default.fileExists(atPath: other), "and not deleted")

        let second = try await Self.run(project, ["--json"])
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(try Self.counts(second)["done"] == 1)
    }

    @Test(
        "the SFTP server goes away mid-run: the rest fails (retried, nothing stored or deleted); back, the next run finishes"
    )
    func serverGoesAway() async throws {
        let project = try makeProject(files: [])
        let served = project.file("sftp-root")
        var server: RcloneServer? = try await RcloneServer("sftp", root: served, scratch: project.path)
        let port = try #require(server?.port)
        try FileManager.default.createDirectory(atPath: served + "/drop", withIntermediateDirectories: true)
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/jpeg/gps_minimal.jpg")))
        for index in 0..<3 {
            try (jpeg + Data("\(index)".utf8)).write(to: URL(fileURLWithPath: served + "/drop/f\(index).jpg"))
        }
        try project.write(
            "rclone.conf",
            "[agency]\ntype = sftp\nhost = 127.0.0.1\nport = \(port)\nuser = \(RcloneServer.user)\npass = \(try RcloneServer.obscuredPassword())\nshell_type = none\n"
        )
        let stop = try Self.onFirstFile("kill \(server?.process.processIdentifier ?? 0); sleep 0.5")
        try project.write(
            "pipelines/r.json",
            Self.pipeline(remote: "agency:drop", archive: #"{"mode": "delete"}"#, extra: stop)
                .replacingOccurrences(of: #""concurrency": 2"#, with: #""concurrency": 1"#))
        // rclone's own retries of a dead peer, shortened for the test (rclone reads RCLONE_* flags from the environment).
        var environment = ProcessInfo.processInfo.environment
        environment["RCLONE_LOW_LEVEL_RETRIES"] = "1"
        environment["RCLONE_CONTIMEOUT"] = "2s"
        environment["RCLONE_RETRIES"] = "1"
        let first = try await Self.run(project, ["--json"], environment: environment)
        #expect(first.status == 1, "\(first.stdout)\(first.stderr)")
        let counts = try Self.counts(first)
        #expect(counts["done"] == 0 && counts["failed"] == 3, "f0's delete and the others' downloads fail: \(counts)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: served + "/drop").count == 3, "nothing deleted")

        server = nil
        let again = try await RcloneServer("sftp", root: served, scratch: project.path)
        try project.write(
            "rclone.conf",
            "[agency]\ntype = sftp\nhost = 127.0.0.1\nport = \(again.port)\nuser = \(RcloneServer.user)\npass = \(try RcloneServer.obscuredPassword())\nshell_type = none\n"
        )
        try project.write(
            "pipelines/r.json", Self.pipeline(remote: "agency:drop", archive: #"{"mode": "delete"}"#))
        let second = try await Self.run(project, ["--json"])
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(try Self.counts(second)["done"] == 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: served + "/drop").isEmpty)
    }

    @Test(
        "a name that is not UTF-8 on a local remote: rejected name_not_utf8 (rclone cannot read it back), shown escaped, left in place; the rest lands"
    )
    func nameNotUTF8() async throws {
        let project = try Self.localProject(count: 1)
        let inbox = project.file("bucket/inbox")
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/jpeg/gps_minimal.jpg")))
        let raw = (Array(inbox.utf8) + Array("/caf".utf8) + [0xE9] + Array(".jpg".utf8) + [0]).map {
            CChar(bitPattern: $0)
        }
        let descriptor = open(raw, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        try #require(descriptor >= 0)
        _ = jpeg.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        try project.write(
            "pipelines/r.json",
            Self.pipeline(remote: "box:" + inbox, archive: #"{"to": "box:"# + project.file("bucket/done") + #""}"#))
        let run = try await Self.run(project, ["--json"])
        #expect(run.status == 0, "a rejection is a verdict, not a failure: \(run.stdout)\(run.stderr)")
        let counts = try Self.counts(run)
        #expect(counts["done"] == 1 && counts["rejected"] == 1, "\(counts)")
        let rejected = try #require(Self.manifest(project).first { $0["status"] as? String == "rejected" })
        #expect(rejected["code"] as? String == "name_not_utf8", "\(rejected)")
        var info = stat()
        #expect(lstat(raw, &info) == 0, "left where it is")
    }
}
