import Foundation
import Logging
import MediaIngest
import TestSupport
import Testing
import WixMedia
import WixMediaEmulator

/// The Wix client against the in-process emulator in its strict mode — the stricter reading of each point Wix's docs
/// leave open — one test per point the review found.
@Suite("WixMedia client: right under every reading of the docs", .cleansUp)
struct ClientTests {
    static let key = "client-test-key"
    static let site = "client-test-site"

    struct Fixture {
        var emulator: RunningEmulator
        var data: String
        var client: WixMediaClient

        func stop() async {
            await client.close()
            await emulator.stop()
            try? FileManager.default.removeItem(atPath: data)
        }
    }

    static func start(
        _ configure: (inout EmulatorConfiguration) -> Void = { _ in },
        budget: RetryBudget = RetryBudget(base: 50, perAsset: 0.5), connections: Int = 8
    ) async throws -> Fixture {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("client-\(UUID().uuidString)").path
        var configuration = EmulatorConfiguration(apiKey: key, siteID: site, dataDirectory: data, port: 0)
        configuration.faults.makeStrict()
        configuration.mediaProcessingDelay = .milliseconds(100)
        configure(&configuration)
        let emulator = try await WixMediaEmulator.start(configuration)
        let client = WixMediaClient(
            baseURL: emulator.baseURL, apiKey: key, siteID: site,
            retry: RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(20), listingLag: .milliseconds(300)),
            budget: budget, connections: connections,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let fixture = Fixture(emulator: emulator, data: data, client: client)
        TestCleanup.mustRegister { await fixture.stop() }
        return fixture
    }

    static func file(_ bytes: Int, seed: UInt8 = 1) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("client-\(UUID().uuidString).bin").path
        try Data((0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }).write(
            to: URL(fileURLWithPath: path))
        TestCleanup.mustRegister { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    static func job(
        _ path: String, name: String, size: Int, filePath: String? = nil, resumableAbove: Int64 = 10_000_000
    ) -> UploadJob {
        UploadJob(
            path: path, size: Int64(size),
            options: UploadOptions(
                mimeType: "application/zip", fileName: name, sizeInBytes: Int64(size), filePath: filePath),
            resumableAbove: resumableAbove, chunkSize: 256 * 1024, startedAt: Date())
    }

    static func stored(_ emulator: RunningEmulator) async throws -> [[String: Any]] {
        let result = try await runProcessAsync("/usr/bin/curl", ["-sf", emulator.baseURL + "/_emulator/files"])
        return ((try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any])?["files"]
            as? [[String: Any]] ?? []
    }

    @Test("1: single-use URLs and lost answers: every upload lands exactly once, never by re-sending to a used URL")
    func singleUseAndLostAnswers() async throws {
        let fixture = try await Self.start {
            $0.faults.lostResponseRate = 0.5
            $0.faults.connectionResetRate = 0.3
            $0.faults.seed = 7
        }
        for index in 0..<12 {
            let size = 20_000 + index
            let path = try Self.file(size, seed: UInt8(index))
            let outcome = try await fixture.client.upload(
                Self.job(
                    path, name: "file-\(index).zip", size: size,
                    filePath: "/strict/{x}".replacingOccurrences(of: "{x}", with: "a")))
            #expect(outcome.descriptor.sizeInBytes == Int64(size))
        }
        let stored = try await Self.stored(fixture.emulator)
        #expect(stored.count == 12, "\(stored.map { $0["displayName"] ?? "" })")
        #expect(Set(stored.compactMap { $0["displayName"] as? String }).count == 12, "no duplicates")
        let counts = fixture.emulator.requestCounts
        #expect((counts["PUT /upload/* 429"] ?? 0) == 0, "never a second PUT to a used URL: \(counts)")
    }

    @Test("1: a plain 403 from the upload host (an expired URL) is not a credentials failure")
    func expiredURLIsNotCredentials() async throws {
        let fixture = try await Self.start { $0.uploadURLLifetime = .milliseconds(1) }
        let path = try Self.file(1000)
        do {
            _ = try await fixture.client.upload(Self.job(path, name: "late.zip", size: 1000))
            Issue.record("every URL expires at once: the upload cannot succeed")
        } catch let error as WixClientError {
            #expect(!error.isAuthenticationFailure, "\(error)")
            #expect(error.isUnusableUploadURL, "\(error)")
        }
    }

    @Test("2: hash is not the MD5: what the client sent is known by its own digests, not Wix's hash")
    func opaqueHash() async throws {
        let fixture = try await Self.start()
        let path = try Self.file(5000)
        let outcome = try await fixture.client.upload(Self.job(path, name: "a.zip", size: 5000))
        let md5 = String(try await runProcessAsync("/usr/bin/md5sum", [path]).stdout.prefix(32))
        #expect(outcome.digest?.md5 == md5)
        #expect(
            outcome.descriptor.hash.count == 32 && outcome.descriptor.hash != md5,
            "the strict emulator's hash is not the MD5")
    }

    @Test("3: an upload whose answer was lost is found again by name, size and time in a filePath folder")
    func findInFilePathFolder() async throws {
        let fixture = try await Self.start { $0.faults.lostResponseRate = 1 }
        let path = try Self.file(3000)
        let job = Self.job(path, name: "lost.zip", size: 3000, filePath: "/deep/er/folder")
        let outcome = try await fixture.client.upload(job)
        #expect(outcome.method == "found", "the PUT's answer never came; the file was found instead of sent again")
        #expect(try await Self.stored(fixture.emulator).count == 1)
        // A second asset with the same name and size does not get the same file.
        #expect(try await fixture.client.findUploaded(job) == nil, "already claimed by this run")
    }

    @Test("4: generate-resumable-upload-url carries no externalInfo; generate-upload-url does")
    func externalInfoOnlyWhereDocumented() async throws {
        let fixture = try await Self.start { $0.faults.ignoreResumableExternalInfo = false }
        let small = try Self.file(2000)
        var job = Self.job(small, name: "small.zip", size: 2000)
        job.options.externalInfo = ExternalInfo(origin: "test", externalIds: ["abc"])
        _ = try await fixture.client.upload(job)
        let big = try Self.file(600_000)
        var resumable = Self.job(big, name: "big.zip", size: 600_000, resumableAbove: 100_000)
        resumable.options.externalInfo = ExternalInfo(origin: "test", externalIds: ["def"])
        _ = try await fixture.client.upload(resumable)
        let stored = try await Self.stored(fixture.emulator)
        #expect(stored.first { $0["displayName"] as? String == "small.zip" }?["externalIds"] as? [String] == ["abc"])
        #expect(
            stored.first { $0["displayName"] as? String == "big.zip" }?["externalIds"] == nil,
            "not sent on the resumable request")
    }

    @Test("5: video dimensions come from the largest rendition, whatever the order")
    func largestRendition() throws {
        let json: JSONValue = [
            "id": "v1", "operationStatus": "READY",
            "media": [
                "video": [
                    "resolutions": [
                        ["width": 426, "height": 240], ["width": 0, "height": 0, "format": "hls"],
                        ["width": 256, "height": 144], ["width": 1920, "height": 1080],
                    ]
                ]
            ],
        ]
        let descriptor = try FileDescriptor(json: json)
        #expect(descriptor.width == 1920 && descriptor.height == 1080)
    }

    @Test("createdDate: with and without fractional seconds, with an offset; anything else is no date")
    func createdDates() throws {
        let expected: [(String, Double?)] = [
            ("2022-09-11T15:13:24.000Z", 1_662_909_204), ("2022-08-21T15:39:09Z", 1_661_096_349),
            ("2022-08-21T17:39:09+02:00", 1_661_096_349), ("2022-08-21T15:39:09.5Z", 1_661_096_349.5),
            ("yesterday", nil), ("", nil),
        ]
        for (text, seconds) in expected {
            let descriptor = try FileDescriptor(json: [
                "id": "f", "operationStatus": "READY", "createdDate": .string(text),
            ])
            #expect(descriptor.createdDate?.timeIntervalSince1970 == seconds, "\(text)")
        }
    }

    @Test("6: cursors with +, / and = are percent-encoded: listing walks every page")
    func opaqueCursors() async throws {
        let fixture = try await Self.start()
        for index in 0..<5 {
            let path = try Self.file(100 + index, seed: UInt8(index))
            _ = try await fixture.client.upload(Self.job(path, name: "page-\(index).zip", size: 100 + index))
        }
        var cursor: String?
        var seen: [String] = []
        repeat {
            let page = try await fixture.client.listFiles(limit: 2, cursor: cursor)
            seen += page.files.map(\.displayName)
            if let next = page.next { #expect(next.contains("+") && next.contains("/") && next.contains("=")) }
            cursor = page.next
        } while cursor != nil
        #expect(Set(seen).count == 5)
    }

    @Test("7: get-files with an id Wix does not know (404 for the batch) still answers for the others")
    func getFilesFallback() async throws {
        let fixture = try await Self.start()
        var ids: [String] = []
        for index in 0..<3 {
            let path = try Self.file(500 + index, seed: UInt8(index))
            ids.append(
                try await fixture.client.upload(Self.job(path, name: "known-\(index).zip", size: 500 + index))
                    .descriptor.id)
        }
        let files = try await fixture.client.files(ids: ids + ["0a1b2c_00000000000000000000000000000000.zip"])
        #expect(Set(files.map(\.id)) == Set(ids))
    }

    @Test("8: a relative tus Location is resolved against the creation URL")
    func relativeLocation() async throws {
        let fixture = try await Self.start()
        let path = try Self.file(900_000)
        let outcome = try await fixture.client.upload(
            Self.job(path, name: "tus.zip", size: 900_000, resumableAbove: 100_000))
        #expect(outcome.method == "tus")
        let sha = String(try await runProcessAsync("/usr/bin/sha256sum", [path]).stdout.prefix(64))
        #expect(outcome.digest?.sha256 == sha)
        #expect(try await Self.stored(fixture.emulator).first?["sha256"] as? String == sha)
    }

    @Test(
        "9: the adaptive pacer slows down at the first 429 and stays under the limit; Retry-After 429s spend no budget")
    func pacing() async throws {
        // 10 requests per 2 s window = 300 a minute; the pacer aims at Wix's 200 a minute once throttled. The budget
        // is small but not zero: what it must never pay for is a 429 (checked by kind below), not a connection that a
        // machine under load drops now and then.
        // A connection per caller, so the burst below is sent at once, not eight at a time.
        let budget = RetryBudget(3)
        let fixture = try await Self.start(
            {
                $0.faults.requestsPerMinute = 10
                $0.faults.rateLimitWindowSeconds = 2
            }, budget: budget, connections: 20)
        func throttled() -> Int {
            fixture.emulator.requestCounts.filter { $0.key.hasSuffix(" 429") }.values.reduce(0, +)
        }
        // A burst of 20 at once goes past the limit however fast this machine is today: the first 429 turns pacing on.
        #expect(await fixture.client.pacer.isPacing == false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                let path = try Self.file(50 + index, seed: UInt8(index))
                group.addTask {
                    _ = try await fixture.client.upload(Self.job(path, name: "burst-\(index).zip", size: 50 + index))
                }
            }
            try await group.waitForAll()
        }
        #expect(await fixture.client.pacer.isPacing)
        #expect(throttled() > 0)
        // Paced from then on: 20 more, one after another, meet no 429 at all.
        let before = throttled()
        for index in 0..<20 {
            let path = try Self.file(100 + index, seed: UInt8(index))
            _ = try await fixture.client.upload(Self.job(path, name: "paced-\(index).zip", size: 100 + index))
        }
        #expect(throttled() == before, "429s after the pacer took over: \(fixture.emulator.requestCounts)")
        #expect(try await Self.stored(fixture.emulator).count == 40, "all landed: pacing is not failure")
        #expect(!budget.summary.contains("http_429"), "Retry-After 429s spent the budget: \(budget.summary)")
    }

    @Test(
        "more callers than connections wait their turn, however slow the answers: a busy pool is not a failure that spends the budget"
    )
    func busyPool() async throws {
        // Each answer takes longer than the connect timeout; async-http-client fails a request that waited that long
        // for a pooled connection (getConnectionFromPoolTimeout), so without the client's own queue the second and
        // third callers failed — and, with a zero budget, could not even be retried.
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("client-\(UUID().uuidString)").path
        var configuration = EmulatorConfiguration(apiKey: Self.key, siteID: Self.site, dataDirectory: data, port: 0)
        configuration.faults.latencyMilliseconds = 1500
        let emulator = try await WixMediaEmulator.start(configuration)
        let client = WixMediaClient(
            baseURL: emulator.baseURL, apiKey: Self.key, siteID: Self.site, budget: RetryBudget(0), connections: 1,
            connectTimeout: .seconds(1), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        TestCleanup.mustRegister {
            await client.close()
            await emulator.stop()
            try? FileManager.default.removeItem(atPath: data)
        }
        let urls = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<3 {
                group.addTask {
                    try await client.generateUploadURL(UploadOptions(mimeType: "image/png", fileName: "\(index).png"))
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(urls).count == 3)
        #expect(client.budget.spent == 0, "\(client.budget.summary)")
    }

    @Test("OAuth: an app's client credentials get an access token that authorizes calls without a site id")
    func oauth() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("client-\(UUID().uuidString)").path
        let emulator = try await WixMediaEmulator.start(
            EmulatorConfiguration(apiKey: Self.key, siteID: Self.site, dataDirectory: data, port: 0))
        TestCleanup.mustRegister {
            await emulator.stop()
            try? FileManager.default.removeItem(atPath: data)
        }
        let client = WixMediaClient(
            baseURL: emulator.baseURL,
            authorization: .oauth(
                appID: "emulator-app-id", appSecret: "emulator-app-secret", instanceID: "emulator-instance-id"),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let path = try Self.file(700)
        let outcome = try await client.upload(Self.job(path, name: "oauth.zip", size: 700))
        #expect(outcome.descriptor.sizeInBytes == 700)
        let wrong = WixMediaClient(
            baseURL: emulator.baseURL,
            authorization: .oauth(appID: "emulator-app-id", appSecret: "wrong", instanceID: "emulator-instance-id"),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            _ = try await wrong.generateUploadURL(UploadOptions(mimeType: "image/png", fileName: "x.png"))
            Issue.record("a wrong app secret must be refused")
        } catch let error as WixClientError {
            #expect(error.isAuthenticationFailure, "\(error)")
        }
        await client.close()
        await wrong.close()
    }
}
