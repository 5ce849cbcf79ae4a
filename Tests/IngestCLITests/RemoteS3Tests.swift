import Foundation
import TestSupport
import Testing

/// `source.remote` over S3 (rclone's s3 backend against moto's S3 server on loopback): the listing's MD5 checks each
/// download, and the archive moves objects between prefixes of the bucket.
extension RemoteSourceTests {
    @Test(
        "S3: listed with MD5, streamed, archived to another prefix; an object replaced by one of the same size fails its MD5"
    )
    func s3() async throws {
        let project = try makeProject(files: [])
        let server = try await MotoS3Server(scratch: project.path)
        try project.write("rclone.conf", server.configSection("shop"))
        let config = project.file("rclone.conf")
        let env = MotoS3Server.environment
        let staging = project.file("staging")
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/jpeg/gps_minimal.jpg")))
        for index in 0..<3 {
            try (jpeg + Data("\(index)".utf8)).write(to: URL(fileURLWithPath: staging + "/f\(index).jpg"))
        }
        try (jpeg + Data("X".utf8)).write(to: URL(fileURLWithPath: project.file("same-size.jpg")))
        #expect(try runProcess(rclone, ["--config", config, "mkdir", "shop:products"], environment: env).status == 0)
        let copied = try runProcess(
            rclone, ["--config", config, "copy", staging, "shop:products/inbox"], environment: env)
        #expect(copied.status == 0, "\(copied.stderr)")

        // While f0 passes, f1 is replaced by an object of the same size: only its MD5 tells (--ignore-times: moto keeps
        // no modification time, so rclone would take the two for the same object and skip the copy).
        let replace = try Self.onFirstFile(
            "AWS_CA_BUNDLE= '\(rclone)' --config '\(config)' copyto '\(project.file("same-size.jpg"))' shop:products/inbox/f1.jpg --ignore-times"
        )
        try project.write(
            "pipelines/r.json",
            Self.pipeline(remote: "shop:products/inbox", archive: #"{"to": "products/archive"}"#, extra: replace)
                .replacingOccurrences(of: #""concurrency": 2"#, with: #""concurrency": 1"#))
        let first = try await Self.run(project, ["--json"], environment: env)
        #expect(first.status == 1, "\(first.stdout)\(first.stderr)")
        let counts = try Self.counts(first)
        #expect(counts["done"] == 2 && counts["failed"] == 1, "\(counts) \(first.stderr.suffix(1500))")
        let failed = try #require(Self.manifest(project).first { $0["status"] as? String == "failed" })
        #expect(failed["path"] as? String == "f1.jpg" && failed["code"] as? String == "remote_changed", "\(failed)")
        #expect((failed["reason"] as? String)?.contains("md5:") == true, "\(failed)")

        let archived = try runProcess(rclone, ["--config", config, "lsf", "shop:products/archive"], environment: env)
            .stdout
        #expect(archived.split(separator: "\n").sorted() == ["f0.jpg", "f2.jpg"], "\(archived)")
        let left = try runProcess(rclone, ["--config", config, "lsf", "shop:products/inbox"], environment: env).stdout
        #expect(left.split(separator: "\n") == ["f1.jpg"], "\(left)")

        // The next run takes the replaced object as it is now.
        try project.write(
            "pipelines/r.json", Self.pipeline(remote: "shop:products/inbox", archive: #"{"to": "products/archive"}"#))
        let second = try await Self.run(project, ["--json"], environment: env)
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(try Self.counts(second)["done"] == 1)
    }
}
