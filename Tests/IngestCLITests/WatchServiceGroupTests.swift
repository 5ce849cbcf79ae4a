import Foundation
import TestSupport
import Testing

/// The watcher, its metrics endpoint and its reloader run as one ServiceGroup: a port that cannot be opened stops it
/// before anything is taken; the first stop request lets the batch in flight finish, a second one cancels it.
extension WatchTests {
    @Test("--metrics-listen on a port already taken: exit 2 naming the address, and no file is taken")
    func metricsPortTaken() async throws {
        let project = try Self.project(minAge: "0s")
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]).write(to: URL(fileURLWithPath: project.file("inbox/a.jpg")))
        // Hold a port with a listening socket of our own.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        let portFile = project.file("port")
        holder.arguments = [
            "-c",
            """
            import socket, sys, time
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
            open(sys.argv[1], "w").write(str(s.getsockname()[1])); time.sleep(120)
            """,
            portFile,
        ]
        try holder.run()
        defer { holder.terminate() }
        #expect(try await Self.until(seconds: 10) { FileManager.default.fileExists(atPath: portFile) })
        let port = try #require(Int(try String(contentsOfFile: portFile, encoding: .utf8)))

        let watcher = try Watcher(project, ["--metrics-listen", "127.0.0.1:\(port)"])
        #expect(try await Self.until(seconds: 30) { !watcher.process.isRunning }, "the watcher stopped by itself")
        watcher.process.waitUntilExit()
        #expect(watcher.process.terminationStatus == 2, "\(watcher.errors)")
        #expect(watcher.errors.contains("--metrics-listen 127.0.0.1:\(port):"), "\(watcher.errors)")
        #expect(!watcher.errors.contains("watching"), "the watcher never started: \(watcher.errors)")
        #expect(Self.manifest(project.file("manifest.jsonl")).isEmpty)
    }

    @Test("a second SIGTERM from another sender cancels the batch in flight: exit 130; the next run takes the rest")
    func secondRequestCancels() async throws {
        let project = try Self.project(minAge: "0s")
        // A slow library (64 KiB/s) so the batch is still in flight when the requests come.
        try project.write(
            "pipelines/w.json",
            """
            {"name": "w", "concurrency": 2, "stages": [
              {"kind": "source.directory", "with": {"path": "inbox", "minAge": "0s"}},
              {"kind": "detect.mime"},
              {"kind": "upload.library", "with": {"path": "library", "maxBytesPerSecond": "64KiB"}},
              {"kind": "report.manifest", "with": {"path": "manifest.jsonl"}}
            ]}
            """)
        for index in 0..<8 {
            let head = Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0])
            try (head + Data(repeating: UInt8(index), count: 512 * 1024))
                .write(to: URL(fileURLWithPath: project.file("inbox/f\(index).jpg")))
        }
        let watcher = try Watcher(project, ["--metrics-listen", "127.0.0.1:0"])
        #expect(try await watcher.waitForLog("watching"), "\(watcher.errors)")
        try await Task.sleep(for: .seconds(1))
        // The first request from this process, the second from another one: two requests, not one delivered twice.
        kill(watcher.process.processIdentifier, SIGTERM)
        #expect(try await watcher.waitForLog("SIGTERM received: finishing files in flight"), "\(watcher.errors)")
        let other = try await runProcessAsync("/bin/kill", ["-TERM", "\(watcher.process.processIdentifier)"])
        #expect(other.status == 0)
        #expect(try await Self.until(seconds: 15) { !watcher.process.isRunning }, "stopped at once")
        watcher.process.waitUntilExit()
        #expect(watcher.process.terminationStatus == 130, "\(watcher.errors.suffix(2000))")
        #expect(Self.manifest(project.file("manifest.jsonl")).filter { $0.status == "done" }.count < 8)

        // The rest at full speed.
        try project.write("pipelines/w.json", Self.pipeline(minAge: "0s", manifest: "manifest.jsonl"))
        let rest = try await runProcessAsync(ingest, ["run", "w", "--quiet"], currentDirectory: project.path)
        #expect(rest.status == 0, "\(rest.stderr)")
        let done = Self.manifest(project.file("manifest.jsonl")).filter { $0.status == "done" }
        #expect(Set(done.map(\.path)) == Set((0..<8).map { "f\($0).jpg" }), "every file once: \(done.map(\.path))")
        #expect(done.count == 8, "nothing twice")
    }
}
