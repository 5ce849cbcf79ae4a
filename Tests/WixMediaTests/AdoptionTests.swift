import Foundation
import Logging
import MediaIngest
import TestSupport
import Testing
import WixMedia
import WixMediaEmulator

/// What a lookup after a lost answer may adopt, and what the strict emulator answers that the client must survive:
/// other bytes under the same name and size, the trash, privacy, listings that lag, folders that appear during the
/// upload, undocumented sort fields, FAILED copies, one bad id in a poll, 429s without Retry-After, tus alignment.
@Suite("WixMedia client: exactly once under every answer Wix documents", .cleansUp)
struct AdoptionTests {
    /// A second client on the same emulator: what a re-run (a new process) knows.
    static func client(_ fixture: ClientTests.Fixture, lag: Duration = .milliseconds(300)) -> WixMediaClient {
        let client = WixMediaClient(
            baseURL: fixture.emulator.baseURL, apiKey: ClientTests.key, siteID: ClientTests.site,
            retry: RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(20), listingLag: lag),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        TestCleanup.mustRegister { await client.close() }
        return client
    }

    @Test("a file of the same name and size with other bytes is never adopted; the same bytes are, proven by download")
    func sameNameAndSizeIsNoProof() async throws {
        let fixture = try await ClientTests.start()
        let first = try ClientTests.file(4000, seed: 1)
        let uploaded = try await fixture.client.upload(ClientTests.job(first, name: "IMG_0001.zip", size: 4000))
        let other = try ClientTests.file(4000, seed: 2)
        let rerun = Self.client(fixture)
        #expect(
            try await rerun.findUploaded(ClientTests.job(other, name: "IMG_0001.zip", size: 4000)) == nil,
            "same name and size, other bytes: not ours")
        let same = try await rerun.findUploaded(ClientTests.job(first, name: "IMG_0001.zip", size: 4000))
        #expect(same?.id == uploaded.descriptor.id, "the same bytes, downloaded and compared")
    }

    @Test("a file in the trash is READY in trash-root, and never adopted")
    func trashIsAbsent() async throws {
        let fixture = try await ClientTests.start()
        let path = try ClientTests.file(3000)
        let uploaded = try await fixture.client.upload(ClientTests.job(path, name: "trashed.zip", size: 3000))
        try await fixture.client.deleteFiles(ids: [uploaded.descriptor.id], permanent: false)
        let trashed = try await fixture.client.file(id: uploaded.descriptor.id)
        #expect(trashed.isReady && trashed.isTrashed, "Wix keeps trashed files READY in trash-root")
        let rerun = Self.client(fixture)
        #expect(try await rerun.findUploaded(ClientTests.job(path, name: "trashed.zip", size: 3000)) == nil)
    }

    @Test("a private file cannot be downloaded to compare: not adopted unless this run proved hash is the MD5")
    func privateNeedsAProvenHash() async throws {
        let strict = try await ClientTests.start()
        let path = try ClientTests.file(3500)
        var job = ClientTests.job(path, name: "private.zip", size: 3500)
        job.options.isPrivate = true
        _ = try await strict.client.upload(job)
        #expect(try await Self.client(strict).findUploaded(job) == nil, "unproven: sent again, never assumed")
        var publicJob = job
        publicJob.options.isPrivate = false
        #expect(try await Self.client(strict).findUploaded(publicJob) == nil, "a public copy is not a private one")

        let plain = try await ClientTests.start { $0.faults = FaultSettings() }
        _ = try await plain.client.upload(job)
        let rerun = Self.client(plain)
        // One answered upload shows this site's hash is the MD5 of what was sent…
        let probe = try ClientTests.file(1200, seed: 9)
        _ = try await rerun.upload(ClientTests.job(probe, name: "probe.zip", size: 1200))
        #expect(rerun.hashReading == .md5)
        // …so a listed hash proves the private file's bytes without downloading them.
        #expect(try await rerun.findUploaded(job) != nil)
    }

    @Test(
        "a lost answer into a folder the upload created, behind a listing that lags: found on the second look, not sent twice"
    )
    func laggingListingAndNewFolder() async throws {
        let fixture = try await ClientTests.start {
            $0.faults.lostResponseRate = 1
            $0.faults.listingLagSeconds = 0.5
        }
        // The run listed the parent before the upload created the folder.
        let client = Self.client(fixture, lag: .seconds(1))
        #expect(try await client.folderID(path: "/fresh/2026", under: "media-root") == nil)
        let path = try ClientTests.file(2500)
        let outcome = try await client.upload(
            ClientTests.job(path, name: "lagged.zip", size: 2500, filePath: "/fresh/2026"))
        #expect(outcome.method == "found")
        #expect(try await ClientTests.stored(fixture.emulator).count == 1)
        let counts = fixture.emulator.requestCounts
        #expect(counts.keys.allSatisfy { !$0.contains(" 400") }, "only documented sort fields: \(counts)")
    }

    @Test("copies that ended FAILED after lost answers are deleted, not left at Wix")
    func failedCopiesAreDeleted() async throws {
        let fixture = try await ClientTests.start {
            $0.faults.lostResponseRate = 1
            $0.faults.processingFailureRate = 1
        }
        let path = try ClientTests.file(2200)
        await #expect(throws: WixClientError.self) {
            _ = try await fixture.client.upload(ClientTests.job(path, name: "doomed.zip", size: 2200))
        }
        #expect(try await ClientTests.stored(fixture.emulator).count == 0)
    }

    @Test("one id Wix refuses in a poll is that id's error; the others are answered")
    func oneBadIDInAPoll() async throws {
        let fixture = try await ClientTests.start()
        let path = try ClientTests.file(1500)
        let good = try await fixture.client.upload(ClientTests.job(path, name: "good.zip", size: 1500)).descriptor.id
        let bad = String(repeating: "x", count: 1200)
        let (files, refused) = try await fixture.client.filesEach(ids: [good, bad, "unknown-id"])
        #expect(files.map(\.id) == [good])
        #expect(refused.keys.sorted() == [bad], "\(refused)")
    }

    @Test("tus PATCHes end on multiples of 256 KiB whatever chunkSize says")
    func tusChunksAligned() async throws {
        let fixture = try await ClientTests.start()
        let size = 1_000_000
        let path = try ClientTests.file(size)
        var job = ClientTests.job(path, name: "aligned.zip", size: size, resumableAbove: 100_000)
        job.chunkSize = 300 * 1024
        let outcome = try await fixture.client.upload(job)
        #expect(outcome.method == "tus")
        #expect(outcome.descriptor.sizeInBytes == Int64(size))
    }

    @Test("429s without Retry-After slow the pacer down (by a fifth, down to a floor), pause it, and spend no retry")
    func throttlingWithoutRetryAfter() async throws {
        let pacer = RequestPacer(decreaseInterval: .zero)
        await pacer.throttled(retryAfter: nil)
        #expect(await pacer.isPacing)
        let start = await pacer.requestsPerMinute
        await pacer.throttled(retryAfter: nil)
        #expect(abs(await pacer.requestsPerMinute - start * 0.8) < 0.01)
        for _ in 0..<40 { await pacer.throttled(retryAfter: nil) }
        #expect(await pacer.requestsPerMinute == pacer.minimumRequestsPerMinute)
        #expect(await pacer.minimumRequestsPerMinute < start / 4)
        // The 429s of one burst in flight lower the rate once.
        let burst = RequestPacer()
        await burst.throttled(retryAfter: nil)
        for _ in 0..<10 { await burst.throttled(retryAfter: nil) }
        #expect(abs(await burst.requestsPerMinute - start * 0.8) < 0.01)
        // And each pauses every request for a while (the server's window may stay full): the next one waits.
        let paused = RequestPacer()
        await paused.throttled(retryAfter: nil)
        let waited = try await ContinuousClock().measure { try await paused.acquire() }
        #expect(waited >= .milliseconds(400), "\(waited)")

        // A quarter of all requests answered 429 without Retry-After (the strict emulator's reading).
        let fixture = try await ClientTests.start(
            {
                $0.faults.rateLimitRate = 0.25
                $0.faults.seed = 11
            }, budget: RetryBudget(2))
        for index in 0..<6 {
            let path = try ClientTests.file(900 + index, seed: UInt8(index))
            _ = try await fixture.client.upload(ClientTests.job(path, name: "t\(index).zip", size: 900 + index))
        }
        #expect(fixture.client.budget.spent == 0, "429s are pacing, not failures: \(fixture.client.budget.summary)")
        #expect(fixture.emulator.requestCounts.keys.contains { $0.hasSuffix(" 429") })
    }

    @Test("Import File whose answer is lost is found by its source URL, not imported a second time")
    func importOnce() async throws {
        let fixture = try await ClientTests.start { $0.faults = FaultSettings() }
        let path = try ClientTests.file(2048)
        let served = try await fixture.client.upload(ClientTests.job(path, name: "served.zip", size: 2048))
        let url = try #require(served.descriptor.url)
        await fixture.emulator.setFaults(FaultSettings(lostResponseRate: 1))
        var options = UploadOptions(mimeType: "application/zip", fileName: "imported.zip", filePath: "/imports")
        options.externalInfo = ExternalInfo(origin: "test", externalIds: ["u1"])
        let imported = try await fixture.client.importOnce(url: url, options: options, since: Date())
        #expect(imported.raw["sourceUrl"]?.stringValue == url)
        let stored = try await ClientTests.stored(fixture.emulator)
        #expect(stored.count == 2, "the upload and one import: \(stored.map { $0["displayName"] ?? "" })")
    }

    @Test("folder names Wix compares without case: Create Folder's 409 finds the folder, a lookup finds the file in it")
    func caseInsensitiveFolders() async throws {
        let fixture = try await ClientTests.start { $0.faults.lostResponseRate = 0 }
        let made = try await fixture.client.folder(["Photos"], under: "media-root", create: true)
        let other = Self.client(fixture)
        #expect(try await other.folder(["photos"], under: "media-root", create: true) == made)
        // An upload to "/photos" lands in "Photos"; its lost answer is found there.
        await fixture.emulator.setFaults(
            {
                var faults = FaultSettings(lostResponseRate: 1)
                faults.makeStrict()
                return faults
            }())
        let path = try ClientTests.file(1800)
        let outcome = try await Self.client(fixture).upload(
            ClientTests.job(path, name: "case.zip", size: 1800, filePath: "/photos"))
        #expect(outcome.method == "found")
        #expect(try await ClientTests.stored(fixture.emulator).count == 1)
    }

    @Test(
        "Bulk Import File: each URL answered on its own; a lost answer is resolved URL by URL, nothing imported twice"
    )
    func bulkImport() async throws {
        let fixture = try await ClientTests.start { $0.faults = FaultSettings() }
        var urls: [String] = []
        for index in 0..<3 {
            let path = try ClientTests.file(1500 + index, seed: UInt8(index))
            let served = try await fixture.client.upload(
                ClientTests.job(path, name: "s\(index).zip", size: 1500 + index))
            urls.append(try #require(served.descriptor.url))
        }
        func request(_ url: String, _ name: String) -> ImportRequest {
            ImportRequest(
                url: url, options: UploadOptions(mimeType: "application/zip", fileName: name, filePath: "/bulk"))
        }
        let refused = request("ftp://nowhere.example/x.zip", "refused.zip")
        let answered = try await fixture.client.bulkImport([request(urls[0], "a.zip"), refused])
        #expect((try? answered[0].get())?.raw["sourceUrl"]?.stringValue == urls[0])
        #expect((try? answered[1].get()) == nil, "the refused item fails alone")

        await fixture.emulator.setFaults(FaultSettings(lostResponseRate: 1))
        let lost = try await fixture.client.importAllOnce(
            [request(urls[1], "b.zip"), request(urls[2], "c.zip")], since: Date())
        #expect(lost.compactMap { try? $0.get().raw["sourceUrl"]?.stringValue } == [urls[1], urls[2]])
        let stored = try await ClientTests.stored(fixture.emulator)
        #expect(stored.count == 6, "3 uploads, 3 imports: \(stored.map { $0["displayName"] ?? "" })")
    }

    @Test("Retry-After as an HTTP-date is honoured")
    func retryAfterDate() throws {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let later = now.addingTimeInterval(30)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        #expect(WixMediaClient.retryAfterSeconds(formatter.string(from: later), now: now) == 30)
        #expect(WixMediaClient.retryAfterSeconds("7", now: now) == 7)
        #expect(WixMediaClient.retryAfterSeconds("soon", now: now) == nil)
    }
}
