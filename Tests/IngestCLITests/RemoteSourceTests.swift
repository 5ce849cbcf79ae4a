import Foundation
import TestSupport
import Testing

/// `source.remote` against real rclone backends on loopback: the local backend under a named remote, `rclone serve
/// sftp` and `rclone serve webdav` as protocol peers. Each run supervises its own `rclone rcd`.
@Suite("source.remote through rclone", .serialized, .cleansUp)
struct RemoteSourceTests {
    static func pipeline(remote: String, archive: String, extra: String = "", source: String = "") -> String {
        """
        {"name": "r", "concurrency": 2, "stages": [
          {"kind": "source.remote", "with": {"remote": "\(remote)", "config": "rclone.conf"\(source)}},
          {"kind": "detect.mime"},
          {"kind": "strip.metadata"},
          \(extra)
          {"kind": "upload.library", "with": {"path": "library"}},
          {"kind": "source.archive", "with": \(archive)},
          {"kind": "report.manifest", "with": {"path": "m.jsonl"}}
        ]}
        """
    }

    static func manifest(_ project: TemporaryDirectoryHandle) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: project.file("m.jsonl"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static func run(
        _ project: TemporaryDirectoryHandle, _ extra: [String] = [], environment: [String: String]? = nil
    )
        async throws -> ProcessResult
    {
        try await runProcessAsync(
            ingest, ["run", "r"] + extra, environment: environment, currentDirectory: project.path, timeout: 180)
    }

    @Test(
        "a named local remote: listed, streamed, stripped (GPS gone by exiftool), stored, archived on the remote; rcd stopped; an unchanged object is not downloaded again"
    )
    func localRemote() async throws {
        let project = try makeProject(files: [])
        let inbox = project.file("bucket/inbox")
        try FileManager.default.createDirectory(atPath: inbox + "/2026 trip", withIntermediateDirectories: true)
        for file in ["images/jpeg/gps_minimal.jpg", "video/gps_udta.mp4"] {
            try FileManager.default.copyItem(
                atPath: Corpus.path(file), toPath: inbox + "/" + (file as NSString).lastPathComponent)
        }
        try FileManager.default.copyItem(
            atPath: Corpus.path("images/jpeg/gps_Apple_iPhone_4.jpg"), toPath: inbox + "/2026 trip/a photo.jpg")
        try project.write("rclone.conf", "[box]\ntype = local\n")
        let before = Set(rcloneDaemons())
        let originals = try [
            "images/jpeg/gps_minimal.jpg", "video/gps_udta.mp4",
        ].map { try sha256sum(inbox + "/" + ($0 as NSString).lastPathComponent) }
        try project.write(
            "pipelines/r.json",
            Self.pipeline(
                remote: "box:" + project.file("bucket/inbox"),
                archive: #"{"to": "box:"# + project.file("bucket/archive") + #""}"#))

        let first = try await Self.run(project)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let lines = Self.manifest(project)
        #expect(lines.count == 3 && lines.allSatisfy { $0["status"] as? String == "done" }, "\(lines)")
        #expect(
            Set(lines.compactMap { $0["path"] as? String }) == [
                "gps_minimal.jpg", "gps_udta.mp4", "2026 trip/a photo.jpg",
            ])
        // Stripped: an independent reader finds no GPS in what was stored.
        let gps = try runProcess(
            "/usr/bin/exiftool",
            ["-r", "-ext", "*", "-gps:all", "-q", "-q", "-p", "$FileName $GPSLatitude", project.file("library")])
        #expect(gps.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "GPS left: \(gps.stdout)")
        // Archived on the remote, byte for byte; nothing left in the inbox.
        let archived = project.file("bucket/archive")
        #expect(try sha256sum(archived + "/gps_minimal.jpg") == originals[0])
        #expect(try sha256sum(archived + "/gps_udta.mp4") == originals[1])
        #expect(FileManager.default.fileExists(atPath: archived + "/2026 trip/a photo.jpg"))
        #expect((try FileManager.default.contentsOfDirectory(atPath: inbox)).filter { $0 != "2026 trip" }.isEmpty)
        #expect(Set(rcloneDaemons()) == before, "the run's rclone rcd is gone")

        // Put one back unchanged (same size and time) and one changed: only the changed one is downloaded.
        try FileManager.default.moveItem(atPath: archived + "/gps_minimal.jpg", toPath: inbox + "/gps_minimal.jpg")
        try FileManager.default.copyItem(
            atPath: Corpus.path("images/jpeg/Canon_DIGITAL_IXUS_400.jpg"), toPath: inbox + "/gps_udta.mp4.jpg")
        // Unreadable bytes: a download would fail, a listing does not.
        #expect(chmod(inbox + "/gps_minimal.jpg", 0o000) == 0)
        defer { chmod(inbox + "/gps_minimal.jpg", 0o644) }
        let second = try await Self.run(project, ["--json"])
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])
        let counts = report["counts"] as? [String: Int] ?? [:]
        #expect(counts["done"] == 1 && counts["skipped"] == 1 && counts["failed"] == 0, "\(counts)")
        // The report says what the source downloaded: the changed object only.
        let info = (report["info"] as? [String: Any])?["source.remote"] as? [String: Any]
        #expect(info?["downloaded"] as? Int == 1, "\(String(describing: info))")
    }

    @Test(
        "SFTP (rclone serve sftp): names with spaces, quotes and a newline; delete after upload; the password never in the report"
    )
    func sftp() async throws {
        let project = try makeProject(files: [])
        let served = project.file("sftp-root")
        let server = try await RcloneServer("sftp", root: served, scratch: project.path)
        try FileManager.default.createDirectory(atPath: served + "/drop", withIntermediateDirectories: true)
        let names = ["plain.jpg", "with space 'quoted'.jpg", "new\nline.jpg"]
        for name in names {
            try FileManager.default.copyItem(
                atPath: Corpus.path("images/jpeg/gps_minimal.jpg"), toPath: served + "/drop/" + name)
        }
        let obscured = try RcloneServer.obscuredPassword()
        try project.write(
            "rclone.conf",
            "[agency]\ntype = sftp\nhost = 127.0.0.1\nport = \(server.port)\nuser = \(RcloneServer.user)\npass = \(obscured)\nshell_type = none\n"
        )
        try project.write(
            "pipelines/r.json", Self.pipeline(remote: "agency:drop", archive: #"{"mode": "delete"}"#))
        let run = try await Self.run(project, ["--json"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let lines = Self.manifest(project)
        #expect(lines.count == 3 && lines.allSatisfy { $0["status"] as? String == "done" }, "\(lines)")
        // rclone shows a control character in a name as its Unicode picture (␊ for LF) and maps it back itself: the
        // object was still read and deleted.
        #expect(
            Set(lines.compactMap { $0["path"] as? String }) == [
                "plain.jpg", "with space 'quoted'.jpg", "new\u{240A}line.jpg",
            ])
        #expect(try FileManager.default.contentsOfDirectory(atPath: served + "/drop").isEmpty, "deleted after upload")
        // The name with a newline is escaped in the terminal's summary, raw only inside JSON strings.
        #expect(!run.stderr.contains("new\nline"))
        for text in [run.stdout, run.stderr, try String(contentsOfFile: project.file("m.jsonl"), encoding: .utf8)] {
            #expect(!text.contains(obscured) && !text.contains(RcloneServer.password))
        }
    }

    @Test(
        "WebDAV (rclone serve webdav): include/exclude/minAge filter the listing; a move to a prefix of the same remote"
    )
    func webdav() async throws {
        let project = try makeProject(files: [])
        let served = project.file("dav-root")
        let server = try await RcloneServer("webdav", root: served, scratch: project.path)
        try FileManager.default.createDirectory(atPath: served + "/in/raw", withIntermediateDirectories: true)
        for name in ["a.jpg", "b.png", ".hidden.jpg", "raw/c.jpg"] {
            try FileManager.default.copyItem(
                atPath: Corpus.path("images/jpeg/gps_minimal.jpg"), toPath: served + "/in/" + name)
        }
        try FileManager.default.copyItem(
            atPath: Corpus.path("images/jpeg/gps_minimal.jpg"), toPath: served + "/in/young.jpg")
        let old = Date().addingTimeInterval(-3600)
        for name in ["a.jpg", "b.png", ".hidden.jpg", "raw/c.jpg"] {
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: served + "/in/" + name)
        }
        let obscured = try RcloneServer.obscuredPassword()
        try project.write(
            "rclone.conf",
            "[dav]\ntype = webdav\nurl = http://127.0.0.1:\(server.port)/\nvendor = other\nuser = \(RcloneServer.user)\npass = \(obscured)\n"
        )
        try project.write(
            "pipelines/r.json",
            Self.pipeline(
                remote: "dav:in", archive: #"{"to": "done"}"#,
                source: #", "include": ["*.jpg", "**/*.jpg"], "exclude": ["raw"], "minAge": "10m""#))
        let run = try await Self.run(project)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(Self.manifest(project).compactMap { $0["path"] as? String } == ["a.jpg"], "\(Self.manifest(project))")
        #expect(FileManager.default.fileExists(atPath: served + "/done/a.jpg"), "moved to dav:done")
        #expect(!FileManager.default.fileExists(atPath: served + "/in/a.jpg"))
        for left in ["b.png", ".hidden.jpg", "raw/c.jpg", "young.jpg"] {
            #expect(FileManager.default.fileExists(atPath: served + "/in/" + left), "\(left) stays")
        }
    }
}
