import Foundation
import TestSupport
import Testing

/// `ingest watch` as a real process over a real folder: files arriving at random moments, written slowly, moved in,
/// dropped into new folders; a forced inotify overflow; SIGTERM mid-batch; SIGHUP with a broken and a good file.
@Suite("ingest watch", .serialized)
struct WatchTests {
    /// A project whose pipeline `w` takes `inbox` into a local library, with a manifest.
    static func project(minAge: String = "1s", manifest: String = "manifest.jsonl") throws -> TemporaryDirectoryHandle {
        let project = TemporaryDirectoryHandle()
        for folder in ["pipelines", "inbox", "staging"] {
            try FileManager.default.createDirectory(atPath: project.file(folder), withIntermediateDirectories: true)
        }
        try project.write("pipelines/w.json", pipeline(minAge: minAge, manifest: manifest))
        return project
    }

    static func pipeline(minAge: String, manifest: String) -> String {
        """
        {"name": "w", "concurrency": 4, "stages": [
          {"kind": "source.directory", "with": {"path": "inbox", "minAge": "\(minAge)"}},
          {"kind": "detect.mime"},
          {"kind": "upload.library", "with": {"path": "library"}},
          {"kind": "report.manifest", "with": {"path": "\(manifest)"}}
        ]}
        """
    }

    /// A running `ingest watch` whose standard error goes to a file.
    final class Watcher: Sendable {
        let process: Process
        let log: String

        init(_ project: TemporaryDirectoryHandle, _ arguments: [String] = []) throws {
            log = project.file("watch.err")
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: ingest)
            process.arguments = ["watch", "w"] + arguments
            process.currentDirectoryURL = URL(fileURLWithPath: project.path)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardInput = FileHandle.nullDevice
            try process.run()
            self.process = process
        }

        var errors: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

        /// Waits until the log contains `text` (or the deadline passes).
        func waitForLog(_ text: String, seconds: Double = 30) async throws -> Bool {
            try await until(seconds: seconds) { self.errors.contains(text) }
        }

        /// Sends a signal and waits for the exit; returns the status and how long the exit took.
        func signal(_ number: Int32, waitingUpTo seconds: Double = 30) async throws -> (status: Int32?, seconds: Double)
        {
            let start = Date()
            kill(process.processIdentifier, number)
            _ = try await until(seconds: seconds) { !self.process.isRunning }
            let elapsed = Date().timeIntervalSince(start)
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return (nil, elapsed)
            }
            process.waitUntilExit()
            return (process.terminationStatus, elapsed)
        }

        deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    }

    /// Polls a condition every 50 ms until it holds or the deadline passes (readiness, not timing).
    static func until(seconds: Double, _ condition: () -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    struct Line {
        var path: String
        var status: String
        var sha256: String?
        var time: Date
        var stored: String?
    }

    static func manifest(_ path: String) -> [Line] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let path = object["path"] as? String, let status = object["status"] as? String,
                let time = (object["time"] as? String).flatMap(formatter.date(from:))
            else { return nil }
            let library = (object["facts"] as? [String: Any])?["library"] as? [String: Any]
            return Line(
                path: path, status: status, sha256: object["sha256"] as? String, time: time,
                stored: library?["path"] as? String)
        }
    }

    /// Writes files into the inbox the way people and cameras do, and prints a JSON object: for each relative path,
    /// when it arrived whole (its last write, or its `mv`) and the SHA-256 of its final bytes (Python's hashlib).
    static let writer = #"""
        import hashlib, json, os, random, sys, threading, time
        inbox, staging, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        rng = random.Random(seed)
        head = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")
        arrived, lock, threads = {}, threading.Lock(), []
        def content(i, size):
            body = hashlib.sha256(str(i).encode()).digest() * (size // 32 + 1)
            return head + body[:size]
        def record(rel, data):
            with lock:
                arrived[rel] = {"time": time.time(), "sha256": hashlib.sha256(data).hexdigest()}
        def slow(rel, data):
            path = os.path.join(inbox, rel)
            with open(path, "wb") as f:  # one open handle, six chunks over 3 s: never closed half-way
                step = len(data) // 6 + 1
                for k in range(0, len(data), step):
                    f.write(data[k:k + step]); f.flush(); time.sleep(0.5)
            record(rel, data)
        for i in range(count):
            kind = i % 4
            data = content(i, rng.randint(2_000, 300_000))
            if kind == 0:
                rel = "quick%03d.jpg" % i
                with open(os.path.join(inbox, rel), "wb") as f: f.write(data)
                record(rel, data)
            elif kind == 1:
                rel = "slow%03d.jpg" % i
                t = threading.Thread(target=slow, args=(rel, data)); t.start(); threads.append(t)
            elif kind == 2:
                rel = "moved%03d.jpg" % i
                tmp = os.path.join(staging, rel)
                with open(tmp, "wb") as f: f.write(data)
                os.rename(tmp, os.path.join(inbox, rel))
                record(rel, data)
            else:
                folder = "new%02d/deeper" % (i // 20)
                os.makedirs(os.path.join(inbox, folder), exist_ok=True)
                rel = folder + "/nested%03d.jpg" % i
                with open(os.path.join(inbox, rel), "wb") as f: f.write(data)
                record(rel, data)
            time.sleep(rng.uniform(0, 0.1))
        for t in threads: t.join()
        print(json.dumps(arrived))
        """#

    @Test(
        "200 files arriving at random: written slowly, moved in, in new folders — each ingested once, whole, within minAge + 2 s"
    )
    func arrivals() async throws {
        let project = try Self.project(minAge: "1s")
        let watcher = try Watcher(project)
        #expect(try await watcher.waitForLog("watching"), "\(watcher.errors)")
        let written = try await runProcessAsync(
            "/usr/bin/python3", ["-c", Self.writer, project.file("inbox"), project.file("staging"), "200", "7"])
        #expect(written.status == 0, "\(written.stderr)")
        let arrived = try #require(
            try JSONSerialization.jsonObject(with: Data(written.stdout.utf8)) as? [String: [String: Any]])
        #expect(arrived.count == 200)
        let manifest = project.file("manifest.jsonl")
        _ = try await Self.until(seconds: 60) { Self.manifest(manifest).count >= 200 }
        try await Task.sleep(for: .seconds(2))  // anything ingested twice would show up by now
        let lines = Self.manifest(manifest)
        #expect(lines.count == 200, "exactly one manifest line per file: \(lines.count)")
        #expect(Set(lines.map(\.path)) == Set(arrived.keys), "the files the writer made, no others")
        #expect(lines.allSatisfy { $0.status == "done" }, "\(lines.filter { $0.status != "done" }.map(\.path))")
        var late: [String] = []
        for line in lines {
            let expected = try #require(arrived[line.path])
            #expect(line.sha256 == expected["sha256"] as? String, "\(line.path) was read half-written")
            let stored = try #require(line.stored)
            #expect(try sha256sum(stored) == expected["sha256"] as? String, "\(line.path) stored whole")
            let delay = line.time.timeIntervalSince1970 - (expected["time"] as? Double ?? 0)
            if delay > 1 + 2 { late.append("\(line.path): \(String(format: "%.2f", delay)) s") }
        }
        #expect(late.isEmpty, "ingested later than minAge + 2 s after the last write: \(late)")
        let stop = try await watcher.signal(SIGTERM)
        #expect(stop.status == 0, "\(watcher.errors.suffix(2000))")
    }

    @Test("20,000 files at once with the inotify queue overflowing: the rescan ingests every one, once")
    func overflow() async throws {
        let project = try Self.project(minAge: "0s")
        let watcher = try Watcher(project, ["--test-overflow-after", "500"])
        #expect(try await watcher.waitForLog("watching"), "\(watcher.errors)")
        let made = try await runProcessAsync(
            "/usr/bin/python3",
            [
                "-c",
                """
                import os, sys
                head = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")
                for i in range(20000):
                    with open(os.path.join(sys.argv[1], "f%05d.jpg" % i), "wb") as f: f.write(head + str(i).encode())
                """,
                project.file("inbox"),
            ])
        #expect(made.status == 0, "\(made.stderr)")
        let manifest = project.file("manifest.jsonl")
        _ = try await Self.until(seconds: 240) { Self.manifest(manifest).count >= 20_000 }
        try await Task.sleep(for: .seconds(1))
        let lines = Self.manifest(manifest)
        #expect(lines.count == 20_000, "\(lines.count) manifest lines")
        #expect(Set(lines.map(\.path)).count == 20_000, "each file once")
        #expect(lines.allSatisfy { $0.status == "done" })
        #expect(watcher.errors.contains("overflowed"), "the overflow path ran")
        #expect(try await watcher.signal(SIGTERM).status == 0)
    }

    @Test("SIGTERM during a batch exits 0 within 5 s; what was not finished is taken by the next run, nothing twice")
    func sigtermMidBatch() async throws {
        let project = try Self.project(minAge: "0s")
        let made = try await runProcessAsync(
            "/usr/bin/python3",
            [
                "-c",
                """
                import os, sys
                head = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")
                for i in range(3000):
                    with open(os.path.join(sys.argv[1], "f%04d.jpg" % i), "wb") as f: f.write(head + os.urandom(4096))
                """,
                project.file("inbox"),
            ])
        #expect(made.status == 0)
        let watcher = try Watcher(project, ["--concurrency", "2"])
        let manifest = project.file("manifest.jsonl")
        #expect(try await Self.until(seconds: 60) { !Self.manifest(manifest).isEmpty }, "the first batch started")
        let stop = try await watcher.signal(SIGTERM, waitingUpTo: 10)
        #expect(stop.status == 0, "\(watcher.errors.suffix(2000))")
        #expect(stop.seconds <= 5, "exited \(stop.seconds) s after SIGTERM")
        let first = Self.manifest(manifest)
        #expect(first.allSatisfy { $0.status == "done" }, "in-flight files finished, none failed")
        let rest = try await runProcessAsync(ingest, ["run", "w", "--quiet"], currentDirectory: project.path)
        #expect(rest.status == 0 || rest.status == 3, "\(rest.stderr)")
        let all = Self.manifest(manifest).filter { $0.status == "done" }
        #expect(all.count == 3000 && Set(all.map(\.path)).count == 3000, "\(all.count) done, first \(first.count)")
    }

    @Test("SIGHUP: a broken pipeline file is refused and the old pipeline keeps running; a good one takes over")
    func reload() async throws {
        let project = try Self.project(minAge: "0s")
        let watcher = try Watcher(project, ["--metrics-listen", "127.0.0.1:0"])
        #expect(try await watcher.waitForLog("watching"), "\(watcher.errors)")
        func drop(_ name: String) throws {
            let data = Data([0xFF, 0xD8, 0xFF, 0xE0]) + Data(name.utf8)
            try data.write(to: URL(fileURLWithPath: project.file("staging/" + name)))
            try FileManager.default.moveItem(
                atPath: project.file("staging/" + name), toPath: project.file("inbox/" + name))
        }
        try drop("a.jpg")
        #expect(try await Self.until(seconds: 30) { Self.manifest(project.file("manifest.jsonl")).count == 1 })

        try project.write("pipelines/w.json", #"{"name": "w", "stages": ["#)
        kill(watcher.process.processIdentifier, SIGHUP)
        #expect(try await watcher.waitForLog("not valid; the running pipeline stays"), "\(watcher.errors)")
        #expect(watcher.errors.contains("line 1"), "the refusal names where the file is broken")
        try drop("b.jpg")
        #expect(
            try await Self.until(seconds: 30) { Self.manifest(project.file("manifest.jsonl")).count == 2 },
            "the old pipeline still runs")

        try project.write("pipelines/w.json", Self.pipeline(minAge: "0s", manifest: "second.jsonl"))
        kill(watcher.process.processIdentifier, SIGHUP)
        #expect(try await watcher.waitForLog("pipeline reloaded"), "\(watcher.errors)")
        try drop("c.jpg")
        #expect(
            try await Self.until(seconds: 30) { Self.manifest(project.file("second.jsonl")).map(\.path) == ["c.jpg"] },
            "the new pipeline runs")
        #expect(Self.manifest(project.file("manifest.jsonl")).count == 2)

        // Metrics, under the textfile's names, and /healthz.
        let address = try #require(
            watcher.errors.firstMatch(of: /address=(http:\/\/127\.0\.0\.1:\d+)\/metrics/).map { String($0.1) })
        let metrics = try await runProcessAsync("/usr/bin/curl", ["-sf", address + "/metrics"])
        #expect(metrics.stdout.contains(#"ingest_assets_total{pipeline="w",status="done"} 3"#), "\(metrics.stdout)")
        #expect(metrics.stdout.contains(#"ingest_last_run_exit_code{pipeline="w"} 0"#), "\(metrics.stdout)")
        #expect(try await runProcessAsync("/usr/bin/curl", ["-sf", address + "/healthz"]).stdout == "ok\n")
        #expect(try await watcher.signal(SIGTERM).status == 0)
    }

    @Test(
        "while another run holds the lock the batch is tried again, a SIGTERM still exits at once, and the file lands after"
    )
    func lockHeldByCron() async throws {
        let project = try Self.project(minAge: "0s")
        try FileManager.default.createDirectory(atPath: project.file(".ingest"), withIntermediateDirectories: true)
        // The same flock(2) lock a cron `ingest run` would hold, taken by another process.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        holder.arguments = [
            "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'w'); fcntl.flock(f, fcntl.LOCK_EX); time.sleep(60)",
            project.file(".ingest/w.lock"),
        ]
        try holder.run()
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } }
        let held = try await Self.until(seconds: 20) {
            (try? runProcess("/usr/bin/flock", ["-n", project.file(".ingest/w.lock"), "true"]).status) == 1
        }
        #expect(held, "the other process holds the lock")
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 1]).write(to: URL(fileURLWithPath: project.file("inbox/a.jpg")))
        var watcher = try Watcher(project)
        #expect(try await watcher.waitForLog("batch could not start"), "\(watcher.errors)")
        let stop = try await watcher.signal(SIGTERM, waitingUpTo: 10)
        #expect(stop.status == 0 && stop.seconds <= 5, "\(stop) \(watcher.errors.suffix(1000))")
        #expect(Self.manifest(project.file("manifest.jsonl")).isEmpty)

        watcher = try Watcher(project)
        #expect(try await watcher.waitForLog("batch could not start"), "\(watcher.errors)")
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        #expect(
            try await Self.until(seconds: 30) {
                Self.manifest(project.file("manifest.jsonl")).map(\.path) == ["a.jpg"]
            },
            "taken once the lock is free: \(watcher.errors.suffix(1000))")
        #expect(try await watcher.signal(SIGTERM).status == 0)
    }

    @Test(
        "schedule --systemd: a watch service, a timer and its run service, accepted by systemd-analyze; --install, --remove"
    )
    func systemdUnits() async throws {
        let project = try Self.project()
        let config = project.file("config")
        let printed = try await runProcessAsync(
            ingest, ["schedule", "w", "--systemd", "--on-calendar", "*:0/5"], currentDirectory: project.path)
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(printed.stdout.contains("ExecStart=\(ingest) watch w"), "\(printed.stdout)")
        #expect(printed.stdout.contains("ExecReload=/bin/kill -HUP $MAINPID"))
        #expect(printed.stdout.contains("OnCalendar=*:0/5"))
        #expect(printed.stdout.contains("WorkingDirectory=\(project.path)"))

        let installed = try await runProcessAsync(
            ingest, ["schedule", "w", "--systemd", "--install"], environment: ["XDG_CONFIG_HOME": config],
            currentDirectory: project.path)
        #expect(installed.status == 0, "\(installed.stderr)")
        let folder = config + "/systemd/user"
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(names == ["ingest-w-watch.service", "ingest-w.service", "ingest-w.timer"])
        // systemd's own checker, where the machine has it (Debian's systemd package).
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") {
            let verified = try await runProcessAsync(
                "/usr/bin/systemd-analyze", ["verify", "--man=no"] + names.map { folder + "/" + $0 })
            #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        }
        let removed = try await runProcessAsync(
            ingest, ["schedule", "w", "--systemd", "--remove"], environment: ["XDG_CONFIG_HOME": config],
            currentDirectory: project.path)
        #expect(removed.status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
    }

    @Test("standard error connected to the journal (JOURNAL_STREAM): <priority> lines without a time of their own")
    func journalLines() async throws {
        let project = try Self.project()
        try Data([0xFF, 0xD8, 0xFF, 0xE0]).write(to: URL(fileURLWithPath: project.file("inbox/a\nfake.jpg")))
        let log = project.file("journal.err")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        var status = stat()
        try #require(stat(log, &status) == 0)
        let (device, inode) = (UInt64(status.st_dev), UInt64(status.st_ino))
        for journal in [true, false] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: ingest)
            process.arguments = ["run", "w", "--verbose"]
            process.currentDirectoryURL = URL(fileURLWithPath: project.path)
            var environment = ProcessInfo.processInfo.environment
            environment["JOURNAL_STREAM"] = journal ? "\(device):\(inode)" : nil
            process.environment = environment
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            try handle.truncate(atOffset: 0)
            process.standardError = handle
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
            #expect(!lines.isEmpty)
            if journal {
                #expect(
                    lines.allSatisfy {
                        $0.wholeMatch(of: /<[2-7]>(debug|info|notice|warning|error|critical) .*/) != nil
                    }, "\(lines)")
                #expect(lines.contains { $0.hasPrefix("<7>debug ") })
            } else {
                #expect(lines.allSatisfy { $0.first?.isNumber == true }, "a time first off the journal: \(lines)")
            }
            #expect(!lines.contains { $0.hasPrefix("fake") }, "a file name cannot start a line of its own")
            ingestCleanLedger(project)
        }
    }

    private func ingestCleanLedger(_ project: TemporaryDirectoryHandle) {
        try? FileManager.default.removeItem(atPath: project.file(".ingest"))
    }
}
