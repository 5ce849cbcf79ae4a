import Foundation
import TestSupport
import Testing
import WixMediaEmulator

/// The ledger, the lock, crash safety, archiving, `status`/`retry`/`schedule` and metrics, through the `ingest`
/// executable against the in-process emulator.
@Suite("cron-ready runs: ledger, lock, crash safety, archive", .cleansUp)
struct StateTests {
    static func wixProject(
        files: [String], emulator: RunningEmulator, post: String = "", state: String = "", concurrency: Int = 4,
        upload: String = ""
    ) throws -> TemporaryDirectoryHandle {
        let project = try makeProject(files: files)
        let connection =
            #""baseURL": "\#(emulator.baseURL)", "siteId": "site", "apiKey": "${WIX_API_KEY}", "retryBudget": 0, "maxAttempts": 1"#
        try project.write(
            "pipelines/cron.json",
            """
            {"name": "cron", "concurrency": \(concurrency), \(state.isEmpty ? "" : #""state": \#(state),"#) "stages": [
              {"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "detect.mime"},
              {"kind": "upload.wix", "with": {\(connection)\(upload)}},
              {"kind": "wix.await-ready", "with": {\(connection), "pollInterval": "100ms", "readyTimeout": "20s"}}\(post.isEmpty ? "" : ",\n" + post)
            ]}
            """)
        return project
    }

    static func startEmulator(
        _ configure: (inout EmulatorConfiguration) -> Void = { _ in }
    ) async throws -> RunningEmulator {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString)").path
        var configuration = EmulatorConfiguration(apiKey: "key", siteID: "site", dataDirectory: data, port: 0)
        configuration.mediaProcessingDelay = .milliseconds(200)
        configure(&configuration)
        configuration.faults = emulatorFaults(configuration.faults)
        let emulator = try await WixMediaEmulator.start(configuration)
        TestCleanup.mustRegister {
            await emulator.stop()
            try? FileManager.default.removeItem(atPath: data)
        }
        return emulator
    }

    static func stored(_ emulator: RunningEmulator) async throws -> [[String: Any]] {
        let result = try await runProcessAsync("/usr/bin/curl", ["-sf", emulator.baseURL + "/_emulator/files"])
        return ((try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any])?["files"]
            as? [[String: Any]] ?? []
    }

    static func run(
        _ project: TemporaryDirectoryHandle, _ arguments: [String] = ["run", "cron"]
    ) async throws -> ProcessResult {
        try await runProcessAsync(
            ingest, arguments, environment: ["WIX_API_KEY": "key"], currentDirectory: project.path)
    }

    static let files = [
        "images/jpeg/gps_minimal.jpg", "images/png/iccp.png", "video/plain.mp4", "documents/minimal.pdf",
        "images/jpeg/orientation_landscape_2.jpg",
        "images/jpeg/orientation_landscape_3.jpg", "images/jpeg/orientation_landscape_4.jpg",
        "images/jpeg/orientation_landscape_5.jpg",
    ]

    @Test("re-runs never upload twice; changed files go again; status shows the ledger; metrics are written")
    func rerunsAndStatus() async throws {
        let emulator = try await Self.startEmulator()
        let project = try Self.wixProject(files: Self.files, emulator: emulator)
        let first = try await Self.run(project)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let second = try await Self.run(project, ["run", "cron", "--metrics-file", "metrics/ingest.prom"])
        #expect(second.status == 0)
        #expect(second.stdout.contains("0 done"), "\(second.stdout)")
        #expect(try await Self.stored(emulator).count == Self.files.count)

        // A changed file is uploaded again (size differs), the others stay skipped.
        let changed = project.file("inbox/documents/minimal.pdf")
        try (try Data(contentsOf: URL(fileURLWithPath: changed)) + Data("\n% changed\n".utf8)).write(
            to: URL(fileURLWithPath: changed))
        let third = try await Self.run(project)
        #expect(third.stdout.contains("1 done"), "\(third.stdout)")
        #expect(try await Self.stored(emulator).count == Self.files.count + 1)

        let status = try await Self.run(project, ["status", "cron"])
        #expect(
            status.stdout.contains("cron: \(Self.files.count) done, 0 rejected, 0 failed, 0 in flight"),
            "\(status.stdout)")
        #expect(status.stdout.contains("exit code 0"))
        let metrics = try String(contentsOfFile: project.file("metrics/ingest.prom"), encoding: .utf8)
        #expect(
            metrics.contains(#"ingest_last_run_assets{pipeline="cron",status="skipped"} \#(Self.files.count)"#),
            "\(metrics)")
        #expect(metrics.contains(#"ingest_last_run_exit_code{pipeline="cron"} 0"#))
    }

    @Test("a second run exits at once with code 4 while the lock is held; --wait waits for it")
    func locking() async throws {
        let emulator = try await Self.startEmulator()
        let project = try Self.wixProject(files: ["images/png/iccp.png"], emulator: emulator)
        try FileManager.default.createDirectory(atPath: project.file(".ingest"), withIntermediateDirectories: true)
        // A single process holding the same kind of lock (flock) another ingest run would.
        let lockFile = project.file(".ingest/cron.lock")
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = [
            "python3", "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); time.sleep(120)",
            lockFile,
        ]
        holder.standardOutput = FileHandle.nullDevice
        holder.standardError = FileHandle.nullDevice
        try holder.run()
        for _ in 0..<100 where try await runProcessAsync("/usr/bin/flock", ["-n", lockFile, "true"]).status == 0 {
            try await Task.sleep(for: .milliseconds(100))
        }
        let clock = ContinuousClock()
        var blocked: ProcessResult?
        let quick = try await clock.measure { blocked = try await Self.run(project) }
        #expect(blocked?.status == 4)
        #expect(blocked?.stderr.contains("another run holds") == true, "\(blocked?.stderr ?? "")")
        #expect(quick < .seconds(10), "exits at once instead of waiting for the 120 s holder")
        // --wait: the run waits until the holder goes away, then runs.
        async let waited = Self.run(project, ["run", "cron", "--wait", "60"])
        try await Task.sleep(for: .seconds(1))
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let result = try await waited
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test("kill -9 in the middle of a run, then re-run: every file lands exactly once")
    func crashSafety() async throws {
        let emulator = try await Self.startEmulator { $0.faults.latencyMilliseconds = 150 }
        let names = Corpus.expectations(under: "images/jpeg/").prefix(24).map(\.path)
        let project = try Self.wixProject(files: names, emulator: emulator, concurrency: 2)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ingest)
        // Killed runs leave their scratch and work folders behind (later runs clear them after six hours): keep them
        // in the project.
        try FileManager.default.createDirectory(atPath: project.file("scratch"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: project.file("tmp"), withIntermediateDirectories: true)
        process.arguments = ["run", "cron", "--quiet", "--scratch-dir", project.file("scratch")]
        process.currentDirectoryURL = URL(fileURLWithPath: project.path)
        process.environment = ProcessInfo.processInfo.environment.merging([
            "WIX_API_KEY": "key", "TMPDIR": project.file("tmp"),
        ]) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill it once some, but not all, files reached the emulator.
        for _ in 0..<200 {
            if try await Self.stored(emulator).count >= 4 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let before = try await Self.stored(emulator).count
        #expect(before > 0 && before < names.count, "killed mid-run: \(before) of \(names.count)")
        await emulator.setFaults(emulatorFaults(FaultSettings()))
        let rerun = try await Self.run(project)
        #expect(rerun.status == 0, "\(rerun.stdout)\(rerun.stderr)")
        let stored = try await Self.stored(emulator).compactMap { $0["displayName"] as? String }
        #expect(stored.count == names.count, "exactly once: \(stored.count) stored for \(names.count) files")
        #expect(Set(stored).count == stored.count)
    }

    @Test(
        "300 files, kill -9 at 20 random moments and 5 double Ctrl-Cs, re-run: 0 duplicates, 0 missing, nothing archived before READY, ledger consistent; concurrent runs: one runs"
    )
    func crashTwentyTimes() async throws {
        try await crashTest(filePath: nil, strict: false)
    }

    @Test("the same with a filePath and the strict emulator (single-use URLs, opaque hash): 0 duplicates")
    func crashWithFilePathStrict() async throws {
        try await crashTest(filePath: "/crash/{yyyy}", strict: true)
    }

    /// 300 distinct files; 20 runs killed with SIGKILL and 5 stopped by two SIGINTs at random moments; then two runs at
    /// once (one gets the lock) and a final run that has nothing left to do.
    func crashTest(filePath: String?, strict: Bool) async throws {
        func faults(latency: Int) -> FaultSettings {
            var faults = FaultSettings()
            faults.latencyMilliseconds = latency
            if strict { faults.makeStrict() }
            return emulatorFaults(faults)
        }
        let emulator = try await Self.startEmulator { $0.faults = faults(latency: 5) }
        let project = try Self.wixProject(
            files: [], emulator: emulator, post: #"{"kind": "source.archive", "with": {"to": "archive"}}"#,
            concurrency: 4,
            upload: filePath.map { #", "filePath": "\#($0)""# } ?? "")
        // 300 distinct files derived from the corpus JPEGs (a trailing byte makes each content unique).
        let sources = Corpus.expectations(under: "images/jpeg/").map(\.absolutePath)
        try FileManager.default.createDirectory(atPath: project.file("inbox/batch"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: project.file("scratch"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: project.file("tmp"), withIntermediateDirectories: true)
        for index in 0..<300 {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: sources[index % sources.count]))
            bytes.append(contentsOf: withUnsafeBytes(of: UInt32(index).bigEndian, Array.init))
            try bytes.write(to: URL(fileURLWithPath: project.file("inbox/batch/f\(index).jpg")))
        }
        var generator = SystemRandomNumberGenerator()
        // Every fifth run is stopped with a double Ctrl-C (the second one cancels the uploads in flight) instead of a kill.
        for round in 0..<25 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: ingest)
            process.arguments = ["run", "cron", "--quiet", "--wait", "10", "--scratch-dir", project.file("scratch")]
            process.currentDirectoryURL = URL(fileURLWithPath: project.path)
            process.environment = ProcessInfo.processInfo.environment.merging([
                "WIX_API_KEY": "key", "TMPDIR": project.file("tmp"),
            ]) { _, new in new }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...700, using: &generator)))
            if round % 5 == 4 {
                kill(process.processIdentifier, SIGINT)
                // Later than SignalTrap's window (1 s for a repeat from the same process): a second request, not the
                // first one delivered twice.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1100...1400, using: &generator)))
                kill(process.processIdentifier, SIGINT)
                let deadline = Date().addingTimeInterval(20)
                while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
                #expect(!process.isRunning, "a double Ctrl-C ends the run")
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            } else {
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
        }
        // Two runs at once: exactly one works, the other exits 4. The kills may have left nothing to do, and a run
        // with nothing to do can end before the other process starts: one more file, behind a slower Wix (400 ms a
        // request), keeps the winner busy for a few seconds.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: sources[0]))
        bytes.append(contentsOf: withUnsafeBytes(of: UInt32(300).bigEndian, Array.init))
        try bytes.write(to: URL(fileURLWithPath: project.file("inbox/batch/f300.jpg")))
        await emulator.setFaults(faults(latency: 400))
        async let first = Self.run(project)
        async let second = Self.run(project)
        let statuses = try await [first.status, second.status].sorted()
        #expect(statuses == [0, 4], "one run, one lock-held exit: \(statuses)")
        await emulator.setFaults(faults(latency: 5))
        let final = try await Self.run(project)
        #expect(final.status == 0)
        #expect(final.stdout.contains("0 done"), "a run over the unchanged folder uploads nothing: \(final.stdout)")

        let stored = try await Self.stored(emulator).filter {
            $0["state"] as? String != "DELETED" && $0["parentFolderId"] as? String != "trash-root"
        }
        let names = stored.compactMap { $0["displayName"] as? String }
        #expect(names.count == 301, "0 duplicates and 0 missing: \(names.count) stored")
        #expect(
            Set(names).count == names.count,
            "duplicates: \(Dictionary(grouping: names, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted())")
        let ready = Set(
            stored.filter { $0["operationStatus"] as? String == "READY" }.compactMap { $0["displayName"] as? String })
        let archived = (try? FileManager.default.contentsOfDirectory(atPath: project.file("archive/batch"))) ?? []
        #expect(archived.count == 301)
        #expect(archived.allSatisfy { ready.contains($0) }, "nothing archived without a READY upload")
        let status = try await Self.run(project, ["status", "cron"])
        #expect(status.stdout.contains("cron: 301 done, 0 rejected, 0 failed, 0 in flight"), "\(status.stdout)")
    }

    @Test("source.archive moves a file only after READY; a FAILED upload leaves it in place; status and retry")
    func archiveAfterReady() async throws {
        let emulator = try await Self.startEmulator()
        let project = try Self.wixProject(
            files: ["images/png/iccp.png"], emulator: emulator,
            post: #"{"kind": "source.archive", "with": {"to": "archive"}}"#)
        let run = try await Self.run(project)
        #expect(run.status == 0, "\(run.stdout)")
        // READY: moved, keeping its relative path.
        #expect(FileManager.default.fileExists(atPath: project.file("archive/images/png/iccp.png")))
        #expect(!FileManager.default.fileExists(atPath: project.file("inbox/images/png/iccp.png")))

        // FAILED at Wix: a failure (trouble that may pass), the FAILED copy deleted at Wix, the source left where it is…
        try copyCorpus(["images/jpeg/gps_minimal.jpg"], into: project.file("inbox"))
        await emulator.setFaults(emulatorFaults(FaultSettings(processingFailureRate: 1)))
        let failedProcessing = try await Self.run(project)
        #expect(failedProcessing.status == 1, "\(failedProcessing.stdout)")
        #expect(failedProcessing.stdout.contains("processing_failed"), "\(failedProcessing.stdout)")
        #expect(FileManager.default.fileExists(atPath: project.file("inbox/images/jpeg/gps_minimal.jpg")))
        #expect(!FileManager.default.fileExists(atPath: project.file("archive/images/jpeg/gps_minimal.jpg")))
        #expect(
            try await Self.stored(emulator).filter { $0["displayName"] as? String == "gps_minimal.jpg" }.isEmpty,
            "no FAILED leftover at Wix")
        // …and the next run uploads it again: READY, archived, one copy at Wix.
        await emulator.setFaults(emulatorFaults(FaultSettings()))
        let reprocessed = try await Self.run(project)
        #expect(reprocessed.status == 0, "\(reprocessed.stdout)")
        #expect(FileManager.default.fileExists(atPath: project.file("archive/images/jpeg/gps_minimal.jpg")))
        #expect(try await Self.stored(emulator).filter { $0["displayName"] as? String == "gps_minimal.jpg" }.count == 1)

        // A dead endpoint: the asset fails, status lists it, retry re-queues it after maxAttempts.
        try copyCorpus(["documents/readme.txt"], into: project.file("inbox"))
        await emulator.setFaults(emulatorFaults(FaultSettings(serverErrorRate: 1)))
        let failing = try await Self.run(project)
        #expect(failing.status == 1 || failing.status == 5, "\(failing.stdout)")
        let status = try await Self.run(project, ["status", "cron"])
        #expect(status.stdout.contains("failed:") && status.stdout.contains("documents/readme.txt"), "\(status.stdout)")
        await emulator.setFaults(emulatorFaults(FaultSettings()))
        let retried = try await Self.run(project, ["retry", "cron"])
        #expect(retried.stdout.contains("re-queued"))
        let again = try await Self.run(project)
        #expect(again.status == 0)
        #expect(FileManager.default.fileExists(atPath: project.file("archive/documents/readme.txt")))
    }

    @Test("schedule prints an absolute, quiet, logged crontab line and validates the cron expression")
    func schedule() async throws {
        let project = try makeProject(files: [])
        try project.write(
            "pipelines/lib.json",
            #"{"stages": [{"kind": "source.directory", "with": {"path": "inbox"}}, {"kind": "upload.library", "with": {"path": "library"}}]}"#
        )
        let line = try await runProcessAsync(
            ingest, ["schedule", "lib", "--cron", "*/10 6-22 * * mon-fri"], currentDirectory: project.path)
        #expect(line.status == 0)
        let resolvedProject = URL(fileURLWithPath: project.path).resolvingSymlinksInPath().path
        #expect(line.stdout.hasPrefix("*/10 6-22 * * mon-fri cd "), "\(line.stdout)")
        #expect(line.stdout.contains(resolvedProject) || line.stdout.contains(project.path))
        #expect(line.stdout.contains(" run lib --quiet --log-file .ingest/lib.log # media-ingest:lib:"))
        #expect(line.stdout.contains(" /") && line.stdout.contains("/ingest run"), "absolute binary path")
        for bad in ["* * * *", "61 * * * *", "* 5-2 * * *", "@sometimes", "*/0 * * * *"] {
            let refused = try await runProcessAsync(
                ingest, ["schedule", "lib", "--cron", bad], currentDirectory: project.path)
            #expect(refused.status == 64, "\(bad) must be refused")
        }
    }
}
