import Foundation
import TestSupport
import Testing

/// `ingest watch` over a remote: no events there, so it lists the remote every `pollEvery`.
extension RemoteSourceTests {
    @Test("watch polls a remote: an object added after start lands within the poll interval; SIGTERM exits 0")
    func watchPollsARemote() async throws {
        let project = try Self.localProject(count: 1)
        try project.write(
            "pipelines/w.json",
            """
            {"name": "w", "stages": [
              {"kind": "source.remote", "with": {"remote": "box:\(project.file("bucket/inbox"))", "config": "rclone.conf", "pollEvery": "5s"}},
              {"kind": "detect.mime"},
              {"kind": "upload.library", "with": {"path": "library"}},
              {"kind": "report.manifest", "with": {"path": "m.jsonl"}}
            ]}
            """)
        let log = project.file("watch.err")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ingest)
        process.arguments = ["watch", "w"]
        process.currentDirectoryURL = URL(fileURLWithPath: project.path)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        func paths() -> [String] { Self.manifest(project).compactMap { $0["path"] as? String } }
        #expect(try await WatchTests.until(seconds: 20) { paths() == ["f0.jpg"] }, "the first listing")
        try FileManager.default.copyItem(
            atPath: Corpus.path("images/jpeg/Nikon_COOLPIX_P1.jpg"), toPath: project.file("bucket/inbox/later.jpg"))
        #expect(
            try await WatchTests.until(seconds: 20) { paths() == ["f0.jpg", "later.jpg"] },
            "the next poll: \(paths()) \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        kill(process.processIdentifier, SIGTERM)
        #expect(try await WatchTests.until(seconds: 10) { !process.isRunning })
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(
            rcloneDaemons().allSatisfy {
                (try? String(contentsOfFile: "/proc/\($0)/status", encoding: .utf8))?.contains(
                    "PPid:\t\(process.processIdentifier)") != true
            })
    }
}
