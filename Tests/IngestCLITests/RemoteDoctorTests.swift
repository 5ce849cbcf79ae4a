import Foundation
import TestSupport
import Testing

/// What an operator sees before and when a remote cannot be read: `ingest doctor`'s checks, a remote missing from the
/// config, rclone missing.
extension RemoteSourceTests {
    @Test(
        "doctor: rclone's version and the remote's root listed; a remote not in the config fails with the way to add it"
    )
    func doctor() async throws {
        let project = try Self.localProject(count: 2)
        try project.write(
            "pipelines/r.json",
            Self.pipeline(remote: "box:" + project.file("bucket/inbox"), archive: #"{"to": "box:archive"}"#))
        let good = try await runProcessAsync(ingest, ["doctor", "r"], currentDirectory: project.path)
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.stdout.contains("PASS  rclone") && good.stdout.contains("v1."), "\(good.stdout)")
        #expect(good.stdout.contains("lists: 2 objects and 0 folders at its root"), "\(good.stdout)")
        #expect(good.stdout.contains("remote objects are moved to box:archive"), "\(good.stdout)")
        #expect(rcloneDaemons(config: project.file("rclone.conf")).isEmpty, "doctor stopped its rclone rcd")

        try project.write(
            "pipelines/r.json", Self.pipeline(remote: "nope:inbox", archive: #"{"mode": "delete"}"#))
        let bad = try await runProcessAsync(ingest, ["doctor", "r"], currentDirectory: project.path)
        #expect(bad.status != 0)
        #expect(bad.stdout.contains("FAIL  remote nope:inbox"), "\(bad.stdout)")
        #expect(bad.stdout.contains("rclone config --config " + project.file("rclone.conf")), "\(bad.stdout)")

        let run = try await Self.run(project)
        #expect(run.status == 5, "the source cannot be read: \(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains(#"no remote named "nope" in "# + project.file("rclone.conf")), "\(run.stdout)")
    }

    @Test("rclone missing: the run stops before any asset, saying how to install it; doctor says the same")
    func rcloneMissing() async throws {
        let project = try Self.localProject(count: 1)
        try project.write(
            "pipelines/r.json",
            Self.pipeline(remote: "box:" + project.file("bucket/inbox"), archive: #"{"mode": "delete"}"#))
        let environment = ["RCLONE_BINARY": project.file("no-such-rclone")]
        let run = try await Self.run(project, environment: environment)
        #expect(run.status != 0 && run.status != 1, "\(run.status)")
        #expect((run.stdout + run.stderr).contains("rclone is not installed"), "\(run.stdout)\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: project.file("bucket/inbox/f0.jpg")))
        let doctor = try await runProcessAsync(
            ingest, ["doctor", "r"], environment: environment, currentDirectory: project.path)
        #expect(doctor.stdout.contains("FAIL  rclone"), "\(doctor.stdout)")
    }

    @Test(
        "init takes an rclone remote as the inbox: source.remote, archive on the remote; the pipeline checks and runs")
    func initWithARemote() async throws {
        let project = try Self.localProject(count: 2)
        let remote = "box:" + project.file("bucket/inbox")
        let written = try runProcess(
            ingest,
            [
                "init", "r", "--non-interactive", "--inbox", remote, "--target", "library", "--archive",
                "box:" + project.file("bucket/done"),
            ],
            currentDirectory: project.path)
        #expect(written.status == 0, "\(written.stderr)")
        let text = try String(contentsOfFile: project.file("pipelines/r.json"), encoding: .utf8)
        #expect(text.contains(#""kind": "source.remote""#) && text.contains(remote), "\(text)")
        // rclone's own config: point it at the project's.
        let environment = ["RCLONE_CONFIG": project.file("rclone.conf")]
        let check = try runProcess(ingest, ["check", "r"], environment: environment, currentDirectory: project.path)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        // minAge 60s: backdate the objects.
        for name in ["f0.jpg", "f1.jpg"] {
            try FileManager.default.setAttributes(
                [.modificationDate: Date().addingTimeInterval(-600)], ofItemAtPath: project.file("bucket/inbox/" + name)
            )
        }
        let run = try await Self.run(project, ["--json"], environment: environment)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(try Self.counts(run)["done"] == 2)
        #expect(FileManager.default.fileExists(atPath: project.file("bucket/done/f0.jpg")))
    }
}
