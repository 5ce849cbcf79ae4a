import Foundation
import TestSupport
import Testing
import WixMediaEmulator

/// Long runs against a flaky, throttled, strict Wix: the pacer, the retry budget, lost answers, single-use URLs.
@Suite("Wix on a flaky night", .serialized, .cleansUp)
struct WixReliabilityTests {
    /// `count` distinct small PNGs (random pixels, written with Python's zlib: no image library needed).
    static func writePNGs(_ count: Int, into folder: String) async throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let script = """
            import os, struct, sys, zlib
            folder, count = sys.argv[1], int(sys.argv[2])
            def chunk(kind, data): return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
            for index in range(count):
                rows = b''.join(b'\\x00' + os.urandom(24) for _ in range(8))
                png = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 8, 8, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b'')
                path = os.path.join(folder, 'photo-%04d.png' % index)
                open(path, 'wb').write(png)
                os.utime(path, (1700000000, 1700000000))
            """
        let result = try await runProcessAsync("/usr/bin/env", ["python3", "-c", script, folder, String(count)])
        #expect(result.status == 0, "\(result.stderr)")
    }

    struct Setup {
        var emulator: RunningEmulator
        var data: String
        var project: TemporaryDirectoryHandle

        func run(_ pipeline: String = "wix", environment: [String: String] = [:]) async throws -> ProcessResult {
            try await runProcessAsync(
                ingest, ["run", pipeline],
                environment: [
                    "WIX_API_KEY": "rel-key", "WIX_SITE_ID": "rel-site", "WIX_BASE_URL": emulator.baseURL,
                    "WIX_INBOX": "inbox",
                ].merging(environment) { _, new in new },
                currentDirectory: project.path, timeout: 900)
        }

        func stored() async throws -> [[String: Any]] {
            let result = try await runProcessAsync("/usr/bin/curl", ["-sf", emulator.baseURL + "/_emulator/files"])
            return
                (((try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any])?["files"]
                as? [[String: Any]] ?? [])
                .filter { $0["state"] as? String != "DELETED" && $0["parentFolderId"] as? String != "trash-root" }
        }

        func stop() async {
            await emulator.stop()
            try? FileManager.default.removeItem(atPath: data)
        }
    }

    static func start(_ faults: FaultSettings) async throws -> Setup {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("reliability-\(UUID().uuidString)")
            .path
        var configuration = EmulatorConfiguration(apiKey: "rel-key", siteID: "rel-site", dataDirectory: data, port: 0)
        configuration.faults = faults
        configuration.mediaProcessingDelay = .milliseconds(300)
        let emulator = try await WixMediaEmulator.start(configuration)
        let setup = Setup(emulator: emulator, data: data, project: try makeProject(files: []))
        TestCleanup.mustRegister { await setup.stop() }
        return setup
    }

    @Test(
        "300 files through the shipped wix.json (filePath) against strict Wix with 5 % 5xx, resets and lost answers at 200 requests/min: READY in ≤ 3 runs, 0 duplicates, 0 missing, no abort, 429s < 5 %"
    )
    func shippedPipelineOnAFlakyStrictWix() async throws {
        var faults = FaultSettings(
            serverErrorRate: 0.05, connectionResetRate: 0.05, requestsPerMinute: 200, retryAfterSeconds: 1, seed: 16,
            lostResponseRate: 0.05)
        faults.makeStrict()
        let setup = try await Self.start(faults)
        try setup.project.write(
            "pipelines/wix.json", try String(contentsOfFile: repositoryRoot + "/pipelines/wix.json", encoding: .utf8))
        try await Self.writePNGs(300, into: setup.project.file("inbox"))
        var runs = 0
        var ready = 0
        while runs < 3 {
            runs += 1
            let result = try await setup.run()
            #expect(
                result.status == 0 || result.status == 1,
                "run \(runs) must not abort: \(result.stdout)\n\(result.stderr)")
            ready = try await setup.stored().filter { $0["operationStatus"] as? String == "READY" }.count
            if result.status == 0, ready == 300 { break }
        }
        let stored = try await setup.stored()
        let names = stored.compactMap { $0["displayName"] as? String }
        #expect(names.count == 300, "0 duplicates, 0 missing: \(names.count) stored after \(runs) runs")
        #expect(Set(names).count == 300)
        #expect(ready == 300)
        let counts = setup.emulator.requestCounts
        let total = counts.values.reduce(0, +)
        let throttled = counts.filter { $0.key.hasSuffix(" 429") }.values.reduce(0, +)
        #expect(Double(throttled) < 0.05 * Double(total), "\(throttled) of \(total) requests were 429s: \(counts)")
    }

    @Test(
        "a run throttled at its rate limit for longer than a fixed budget lasts finishes: Retry-After 429s spend nothing"
    )
    func throttledLongRun() async throws {
        // 10 requests per 3 s window is Wix's 200 a minute; a budget of 3 retries would be spent by the first 429s.
        var faults = FaultSettings(requestsPerMinute: 10, retryAfterSeconds: 1, seed: 3)
        faults.rateLimitWindowSeconds = 3
        let setup = try await Self.start(faults)
        try setup.project.write(
            "pipelines/paced.json",
            #"""
            {"name": "paced", "concurrency": 4, "stages": [
              {"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "upload.wix", "with": {"baseURL": "${WIX_BASE_URL}", "siteId": "${WIX_SITE_ID}", "apiKey": "${WIX_API_KEY}", "retryBudget": 3}},
              {"kind": "wix.await-ready", "with": {"baseURL": "${WIX_BASE_URL}", "siteId": "${WIX_SITE_ID}", "apiKey": "${WIX_API_KEY}", "pollInterval": "200ms"}}
            ]}
            """#)
        try await Self.writePNGs(40, into: setup.project.file("inbox"))
        let result = try await setup.run("paced")
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(try await setup.stored().count == 40)
    }

    @Test("1,000 files under 10 % 5xx: the budget grows with the run, so it is not cut off halfway")
    func steadyServerErrors() async throws {
        let setup = try await Self.start(FaultSettings(serverErrorRate: 0.1, retryAfterSeconds: 0, seed: 21))
        try setup.project.write(
            "pipelines/many.json",
            #"""
            {"name": "many", "concurrency": 8, "state": {"enabled": false}, "stages": [
              {"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "upload.wix", "with": {"baseURL": "${WIX_BASE_URL}", "siteId": "${WIX_SITE_ID}", "apiKey": "${WIX_API_KEY}"}}
            ]}
            """#)
        try await Self.writePNGs(1000, into: setup.project.file("inbox"))
        let result = try await setup.run("many")
        #expect(result.status == 0, "\(result.stdout.prefix(2000))\n\(result.stderr.suffix(2000))")
        #expect(try await setup.stored().count == 1000)
    }

    @Test("a dead endpoint still stops the run, with what was spent and on what")
    func deadEndpointAbortMessage() async throws {
        let setup = try await Self.start(FaultSettings(serverErrorRate: 1, retryAfterSeconds: 0, seed: 1))
        try setup.project.write(
            "pipelines/dead.json",
            #"""
            {"name": "dead", "concurrency": 2, "state": {"enabled": false}, "stages": [
              {"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "upload.wix", "with": {"baseURL": "${WIX_BASE_URL}", "siteId": "${WIX_SITE_ID}", "apiKey": "${WIX_API_KEY}", "maxAttempts": 3}}
            ]}
            """#)
        try await Self.writePNGs(200, into: setup.project.file("inbox"))
        let result = try await setup.run("dead")
        #expect(result.status == 5, "\(result.stdout)")
        #expect(result.stdout.contains("retries spent (budget"), "\(result.stdout)")
        #expect(result.stdout.contains("http_500") || result.stdout.contains("http_503"), "\(result.stdout)")
        #expect(result.stdout.contains("listed but not started"), "\(result.stdout)")
    }
}
