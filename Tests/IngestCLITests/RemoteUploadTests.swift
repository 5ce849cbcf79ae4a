import Foundation
import TestSupport
import Testing

/// `upload.remote`: the stripped copy into an rclone remote, laid out by date and name, verified after the copy.
extension RemoteSourceTests {
    @Test(
        "upload.remote to S3 and to a local remote: {yyyy}/{mm}/{name}, a taken name gets (1), the same bytes are found not copied, MD5-verified; the source is archived after"
    )
    func uploadRemote() async throws {
        let project = try makeProject(files: [])
        let server = try await MotoS3Server(scratch: project.path)
        try project.write("rclone.conf", server.configSection("shop") + "[disk]\ntype = local\n")
        let env = MotoS3Server.environment
        #expect(
            try runProcess(rclone, ["--config", project.file("rclone.conf"), "mkdir", "shop:media"], environment: env)
                .status == 0)
        let when = try #require(ISO8601DateFormatter().date(from: "2024-07-01T12:00:00Z"))
        for (folder, file) in [
            ("one", "Canon_DIGITAL_IXUS_400.jpg"), ("two", "Nikon_COOLPIX_P1.jpg"),
            ("three", "Canon_DIGITAL_IXUS_400.jpg"),
        ] {
            try FileManager.default.createDirectory(
                atPath: project.file("inbox/" + folder), withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                atPath: Corpus.path("images/jpeg/" + file), toPath: project.file("inbox/\(folder)/a.jpg"))
            try FileManager.default.setAttributes(
                [.modificationDate: when], ofItemAtPath: project.file("inbox/\(folder)/a.jpg"))
        }
        try project.write(
            "pipelines/u.json",
            #"""
            {"name": "u", "concurrency": 1, "stages": [
              {"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "detect.mime"},
              {"kind": "strip.metadata"},
              {"kind": "upload.remote", "with": {"remote": "shop:media/photos", "config": "rclone.conf"}},
              {"kind": "source.archive", "with": {"to": "archive"}},
              {"kind": "report.manifest", "with": {"path": "m.jsonl"}}
            ]}
            """#)
        let run = try await runProcessAsync(
            ingest, ["run", "u"], environment: env, currentDirectory: project.path, timeout: 180)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let listed = try runProcess(
            rclone, ["--config", project.file("rclone.conf"), "lsf", "-R", "--files-only", "shop:media/photos"],
            environment: env
        ).stdout
        #expect(listed.split(separator: "\n").sorted() == ["2024/07/a (1).jpg", "2024/07/a.jpg"], "\(listed)")
        let lines = Self.manifest(project)
        #expect(lines.count == 3 && lines.allSatisfy { $0["status"] as? String == "done" }, "\(lines)")
        let reports = lines.compactMap { ($0["facts"] as? [String: Any])?["upload.remote"] as? [String: Any] }
        #expect(reports.allSatisfy { $0["verifiedBy"] as? String == "md5" }, "\(reports)")
        #expect(reports.filter { $0["alreadyThere"] as? Bool == true }.count == 1, "three/a.jpg: the same bytes")
        #expect(
            try FileManager.default.subpathsOfDirectory(atPath: project.file("archive")).filter { $0.hasSuffix(".jpg") }
                .count == 3)
        // What landed is the stripped copy, not the source.
        let fetched = project.file("fetched.jpg")
        _ = try runProcess(
            rclone, ["--config", project.file("rclone.conf"), "copyto", "shop:media/photos/2024/07/a.jpg", fetched],
            environment: env)
        #expect(try sha256sum(fetched) != sha256sum(Corpus.path("images/jpeg/Canon_DIGITAL_IXUS_400.jpg")))
        let exif = try runProcess("/usr/bin/exiftool", ["-q", "-q", "-p", "$Make", fetched]).stdout
        #expect(exif.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "camera data stripped: \(exif)")
    }
}
