import Foundation
import TestSupport
import Testing
import WixMediaEmulator

/// Several `ingest run` processes of one pipeline sharing a PostgreSQL ledger — each with its own `INGEST_HOST`, so
/// they behave as separate hosts — against one emulator: exactly once, under kills, a freeze past the lease and a
/// database restart; and the shared queue.
@Suite(
    "fleet: several hosts, one PostgreSQL ledger", .serialized, .cleansUp,
    .enabled(if: PostgresTestServer.isAvailable, Comment(rawValue: PostgresTestServer.skipReason)))
struct FleetTests {
    /// A project whose pipeline `fleet` uploads `inbox/` to the emulator and archives after READY, with its ledger
    /// in a database of its own.
    static func project(
        emulator: RunningEmulator, files: Int, lease: String = "3s", source: String? = nil, concurrency: Int = 4
    ) async throws -> (TemporaryDirectoryHandle, [String: String]) {
        let project = try makeProject(files: [])
        let database = try await PostgresTestServer.makeDatabase()
        let connection =
            #""baseURL": "\#(emulator.baseURL)", "siteId": "site", "apiKey": "${WIX_API_KEY}", "retryBudget": 0, "maxAttempts": 1"#
        try project.write(
            "pipelines/fleet.json",
            """
            {"name": "fleet", "concurrency": \(concurrency),
             "state": {"ledger": "${FLEET_LEDGER}", "lease": "\(lease)"},
             "stages": [
              \(source ?? #"{"kind": "source.directory", "with": {"path": "inbox"}}"#),
              {"kind": "detect.mime"},
              {"kind": "upload.wix", "with": {\(connection)}},
              {"kind": "wix.await-ready", "with": {\(connection), "pollInterval": "100ms", "readyTimeout": "30s"}}\(source == nil ? #", {"kind": "source.archive", "with": {"to": "archive"}}"# : "")
            ]}
            """)
        let sources = Corpus.expectations(under: "images/jpeg/").map(\.absolutePath)
        try FileManager.default.createDirectory(atPath: project.file("inbox/batch"), withIntermediateDirectories: true)
        for index in 0..<files {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: sources[index % sources.count]))
            bytes.append(contentsOf: withUnsafeBytes(of: UInt32(index).bigEndian, Array.init))
            try bytes.write(to: URL(fileURLWithPath: project.file("inbox/batch/f\(index).jpg")))
        }
        let environment = PostgresTestServer.childEnvironment.merging([
            "WIX_API_KEY": "key", "FLEET_LEDGER": database,
        ]) { _, new in new }
        return (project, environment)
    }

    static func worker(
        _ name: String, project: TemporaryDirectoryHandle, environment: [String: String], arguments: [String] = []
    ) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ingest)
        process.arguments = ["run", "fleet", "--quiet", "--json"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: project.path)
        // Killed workers leave their work folders behind: in the project, not in the shared /tmp.
        try FileManager.default.createDirectory(atPath: project.file("tmp"), withIntermediateDirectories: true)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
            .merging(["INGEST_HOST": name, "TMPDIR": project.file("tmp")]) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func waitFor(_ process: Process, seconds: Double = 240) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Every file stored once at the emulator, archived once, none left in the inbox, none lost.
    static func expectExactlyOnce(
        _ emulator: RunningEmulator, project: TemporaryDirectoryHandle, count: Int
    ) async throws {
        let stored = try await StateTests.stored(emulator).filter {
            $0["state"] as? String != "DELETED" && $0["parentFolderId"] as? String != "trash-root"
        }
        let names = stored.compactMap { $0["displayName"] as? String }
        #expect(names.count == count, "0 duplicates and 0 missing: \(names.count) stored of \(count)")
        #expect(
            Set(names).count == names.count,
            "duplicates: \(Dictionary(grouping: names, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted())")
        let ready = Set(
            stored.filter { $0["operationStatus"] as? String == "READY" }.compactMap { $0["displayName"] as? String })
        let archived = (try? FileManager.default.contentsOfDirectory(atPath: project.file("archive/batch"))) ?? []
        let left = (try? FileManager.default.contentsOfDirectory(atPath: project.file("inbox/batch"))) ?? []
        #expect(archived.count == count, "archived once each: \(archived.count), left in the inbox: \(left.count)")
        #expect(archived.allSatisfy { !$0.contains(" (") }, "nothing archived twice")
        #expect(archived.allSatisfy { ready.contains($0) }, "nothing archived without a READY upload")
        #expect(archived.count + left.count == count, "no source lost")
    }

    @Test("three hosts started together over 600 files: each READY once, each host did a share, none archived twice")
    func threeHosts() async throws {
        let emulator = try await StateTests.startEmulator { $0.faults.latencyMilliseconds = 5 }
        let (project, environment) = try await Self.project(emulator: emulator, files: 600)
        let hosts = ["host-a", "host-b", "host-c"]
        async let runs = withThrowingTaskGroup(of: (String, ProcessResult).self) { group in
            for host in hosts {
                group.addTask {
                    let result = try await runProcessAsync(
                        ingest, ["run", "fleet", "--json", "--quiet"],
                        environment: environment.merging(["INGEST_HOST": host]) { _, new in new },
                        currentDirectory: project.path, timeout: 400)
                    return (host, result)
                }
            }
            return try await group.reduce(into: [String: ProcessResult]()) { $0[$1.0] = $1.1 }
        }
        let results = try await runs
        for host in hosts {
            let result = try #require(results[host])
            #expect(result.status == 0, "\(host): \(result.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            let done = (report?["counts"] as? [String: Int])?["done"] ?? 0
            #expect(done > 0, "\(host) did a share of the work: \(done)")
        }
        try await Self.expectExactlyOnce(emulator, project: project, count: 600)
        let status = try runProcess(
            ingest, ["status", "fleet"], environment: environment, currentDirectory: project.path)
        #expect(status.stdout.contains("fleet: 600 done, 0 rejected, 0 failed, 0 in flight"), "\(status.stdout)")
        for host in hosts { #expect(status.stdout.contains(" on \(host) "), "\(status.stdout)") }
    }

    @Test(
        "kill -9 of random hosts 10 times, one frozen past its lease, the database restarted: then a clean run, 0 duplicates, 0 missing"
    )
    func faults() async throws {
        let emulator = try await StateTests.startEmulator { $0.faults.latencyMilliseconds = 5 }
        let count = 600
        // Two in flight per host, so the work outlasts the faults.
        let (project, environment) = try await Self.project(
            emulator: emulator, files: count, lease: "3s", concurrency: 2)
        var generator = SystemRandomNumberGenerator()
        var workers = try (0..<3).map { try Self.worker("host-\($0)", project: project, environment: environment) }
        var kills = 0
        var froze = false
        var restarted = false
        var frozen: (slot: Int, since: ContinuousClock.Instant)?
        var rounds = 0
        // Faults at random moments while the work lasts; a killed host comes back (cron), a finished one is restarted
        // while files remain.
        while rounds < 200 {
            rounds += 1
            let archived =
                (try? FileManager.default.contentsOfDirectory(atPath: project.file("archive/batch")))?.count ?? 0
            if archived >= count && kills >= 10 && froze && restarted && frozen == nil { break }
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...500, using: &generator)))
            let slot = Int.random(in: 0..<workers.count, using: &generator)
            if let (frozenSlot, since) = frozen, ContinuousClock.now - since >= .milliseconds(7500) {
                kill(workers[frozenSlot].processIdentifier, SIGCONT)
                frozen = nil
            }
            if rounds >= 4 && !froze && workers[slot].isRunning {
                // Frozen for two and a half leases while the others work on (and get killed): its claims are taken
                // over; woken, it must not upload or archive them.
                kill(workers[slot].processIdentifier, SIGSTOP)
                frozen = (slot, ContinuousClock.now)
                froze = true
            } else if rounds == 8 {
                try PostgresTestServer.restart()
                restarted = true
            } else if kills < 10 && workers[slot].isRunning && frozen?.slot != slot {
                kill(workers[slot].processIdentifier, SIGKILL)
                workers[slot].waitUntilExit()
                kills += 1
            }
            for index in workers.indices where !workers[index].isRunning {
                workers[index] = try Self.worker("host-\(index)", project: project, environment: environment)
            }
        }
        if let (frozenSlot, _) = frozen { kill(workers[frozenSlot].processIdentifier, SIGCONT) }
        #expect(kills == 10 && froze && restarted, "faults: \(kills) kills, froze \(froze), restarted \(restarted)")
        for worker in workers { try await Self.waitFor(worker) }
        // A clean run on one host settles what the faults left (claims of killed hosts are taken over at once).
        let clean = try await runProcessAsync(
            ingest, ["run", "fleet"], environment: environment.merging(["INGEST_HOST": "host-clean"]) { _, new in new },
            currentDirectory: project.path, timeout: 300)
        #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
        try await Self.expectExactlyOnce(emulator, project: project, count: count)
        let status = try runProcess(
            ingest, ["status", "fleet"], environment: environment, currentDirectory: project.path)
        #expect(status.stdout.contains("fleet: \(count) done, 0 rejected, 0 failed, 0 in flight"), "\(status.stdout)")
    }

    @Test(
        "a host frozen mid-upload past its lease and woken after another took the file: its transfer is cancelled at once, no second copy ever reaches Wix"
    )
    func frozenDuringUpload() async throws {
        let emulator = try await StateTests.startEmulator { $0.faults.latencyMilliseconds = 5 }
        let (project, environment) = try await Self.project(emulator: emulator, files: 0, lease: "2s")
        // One 6 MB photo, sent at 1 MB/s: a transfer of about six seconds.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/jpeg/gps_minimal.jpg")))
        bytes.append(Data((0..<(6 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }))
        try bytes.write(to: URL(fileURLWithPath: project.file("inbox/batch/big.jpg")))
        let pipeline = try String(contentsOfFile: project.file("pipelines/fleet.json"), encoding: .utf8)
            .replacingOccurrences(of: #""maxAttempts": 1}}"#, with: #""maxAttempts": 1, "maxBytesPerSecond": "1MB"}}"#)
        try #require(pipeline.contains("maxBytesPerSecond"))
        try project.write("pipelines/fleet.json", pipeline)

        let frozen = try Self.worker("host-frozen", project: project, environment: environment)
        // Mid-transfer: the emulator holds an upload of big.jpg in progress (or 2 s have passed).
        try await Task.sleep(for: .seconds(2))
        kill(frozen.processIdentifier, SIGSTOP)
        // Past the lease: the other host takes the file over and sends it.
        try await Task.sleep(for: .milliseconds(2600))
        let taker = try Self.worker("host-taker", project: project, environment: environment)
        try await Task.sleep(for: .milliseconds(1500))
        kill(frozen.processIdentifier, SIGCONT)
        try await Self.waitFor(frozen, seconds: 60)
        try await Self.waitFor(taker, seconds: 60)

        // Exactly one upload ever completed at Wix: the frozen host's transfer was cancelled when it woke, so it never
        // finished, never fired a File Ready and had no copy to delete (before: it sent the rest of the file, then
        // deleted the copy).
        let counts = try await runProcessAsync("/usr/bin/curl", ["-sf", emulator.baseURL + "/_emulator/requests"])
        let requests =
            ((try JSONSerialization.jsonObject(with: Data(counts.stdout.utf8)) as? [String: Any])?["requests"]
                as? [String: Int]) ?? [:]
        let completed = requests.filter { $0.key.hasPrefix("PUT /upload/* 2") }.values.reduce(0, +)
        #expect(completed == 1, "uploads completed: \(requests)")
        #expect(!requests.keys.contains { $0.contains("delete") }, "no copy to delete: \(requests)")
        let all = try await StateTests.stored(emulator).filter { $0["displayName"] as? String == "big.jpg" }
        #expect(all.count == 1)
        #expect(all.first?["operationStatus"] as? String == "READY")
        let archived = (try? FileManager.default.contentsOfDirectory(atPath: project.file("archive/batch"))) ?? []
        #expect(archived == ["big.jpg"], "archived once, by the host that holds it: \(archived)")
    }

    @Test("ingest enqueue + source.queue: 1,000 URLs enqueued while two hosts run, each imported exactly once")
    func queue() async throws {
        let emulator = try await StateTests.startEmulator { $0.faults.latencyMilliseconds = 2 }
        let (project, environment) = try await Self.project(
            emulator: emulator, files: 0,
            source: #"{"kind": "source.queue", "with": {"idle": "4s", "pollEvery": "100ms"}}"#)
        // A local HTTP server with 1,000 distinct images to import by URL.
        let served = project.file("served")
        try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
        let image = try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/jpeg/gps_minimal.jpg")))
        for index in 0..<1000 {
            var bytes = image
            bytes.append(contentsOf: withUnsafeBytes(of: UInt32(index).bigEndian, Array.init))
            try bytes.write(to: URL(fileURLWithPath: served + "/u\(index).jpg"))
        }
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-u", "-m", "http.server", "--bind", "127.0.0.1", "0"]
        server.currentDirectoryURL = URL(fileURLWithPath: served)
        let serverOutput = Pipe()
        server.standardOutput = serverOutput
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { kill(server.processIdentifier, SIGKILL) }
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        var banner = ""
        while !banner.contains("port ") || !banner.contains("(") {
            let chunk = serverOutput.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            banner += String(decoding: chunk, as: UTF8.self)
        }
        let port = try #require(
            banner.split(separator: " ").firstIndex(of: "port").map { banner.split(separator: " ")[$0 + 1] })
        let urls = (0..<1000).map { "http://127.0.0.1:\(port)/u\($0).jpg" }

        let workers = try ["host-a", "host-b"].map { try Self.worker($0, project: project, environment: environment) }
        // The producer enqueues in ten batches while the workers run (the last one on standard input).
        for batch in 0..<10 {
            let slice = Array(urls[(batch * 100)..<((batch + 1) * 100)])
            let result =
                batch == 9
                ? try runProcess(
                    ingest, ["enqueue", "fleet", "-"], environment: environment, currentDirectory: project.path,
                    input: slice.joined(separator: "\n") + "\n")
                : try runProcess(
                    ingest, ["enqueue", "fleet"] + slice, environment: environment, currentDirectory: project.path)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("100 items queued"), "\(result.stdout)")
            try await Task.sleep(for: .milliseconds(200))
        }
        let again = try runProcess(
            ingest, ["enqueue", "fleet", urls[0]], environment: environment, currentDirectory: project.path)
        #expect(again.stdout.contains("0 items queued (1 already in the queue)"), "\(again.stdout)")
        for worker in workers { try await Self.waitFor(worker, seconds: 300) }
        for worker in workers { #expect(worker.terminationStatus == 0) }

        let stored = try await StateTests.stored(emulator).filter {
            $0["state"] as? String != "DELETED" && $0["parentFolderId"] as? String != "trash-root"
        }
        let names = stored.compactMap { $0["displayName"] as? String }
        #expect(names.count == 1000, "each URL imported once: \(names.count)")
        #expect(Set(names).count == names.count, "no duplicates")
        let status = try runProcess(
            ingest, ["status", "fleet"], environment: environment, currentDirectory: project.path)
        #expect(status.stdout.contains("fleet: 1000 done"), "\(status.stdout)")
        let owners = try await PostgresTestServer.query(
            "SELECT string_agg(DISTINCT owner_host, ',' ORDER BY owner_host) FROM ingest_asset",
            database: environment["FLEET_LEDGER"])
        #expect(owners == "host-a,host-b", "both hosts took items: \(owners)")
    }
}
