import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import Synchronization
import TestSupport
import Testing
import WixMediaEmulator

@Suite("wix-media-emulator: tus, faults, webhooks", .cleansUp)
struct EmulatorTusAndFaultTests {
    /// A file of `count` pseudo-random bytes.
    static func randomData(_ count: Int, seed: UInt64 = 7) -> Data {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: count)
        for index in bytes.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            bytes[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
        return Data(bytes)
    }

    func tusCreate(
        _ fixture: EmulatorFixture, length: Int, fileName: String
    ) async throws -> (location: String, uploadURL: String, token: String) {
        let generated = try await fixture.send(
            .POST, "/site-media/v1/files/generate-resumable-upload-url",
            json: ["mimeType": "video/mp4", "fileName": fileName, "uploadProtocol": "TUS"])
        #expect(generated.json["uploadProtocol"] as? String == "TUS")
        let uploadURL = try #require(generated.json["uploadUrl"] as? String)
        let token = try #require(generated.json["uploadToken"] as? String)
        let metadata = ["filename": fileName, "contentType": "video/mp4", "token": token].map {
            "\($0.key) \(Data($0.value.utf8).base64EncodedString())"
        }.joined(separator: ",")
        let created = try await fixture.send(
            .POST, uploadURL,
            headers: ["Tus-Resumable": "1.0.0", "Upload-Length": String(length), "Upload-Metadata": metadata])
        #expect(created.status == 201)
        return (try #require(created.headers.first(name: "Location")), uploadURL, token)
    }

    func tusOffset(_ fixture: EmulatorFixture, _ location: String) async throws -> Int {
        let head = try await fixture.send(.HEAD, location, headers: ["Tus-Resumable": "1.0.0"])
        #expect(head.headers.first(name: "Cache-Control") == "no-store")
        return Int(head.headers.first(name: "Upload-Offset") ?? "") ?? -1
    }

    @Test(
        "tus: a PATCH broken by a connection reset keeps its received bytes; HEAD gives the offset, the client resumes, finalize returns the descriptor"
    )
    func tusResume() async throws {
        let fixture = try await EmulatorFixture.start()
        let video = try corpusData("video/plain.mp4")
        let options = try await fixture.send(.OPTIONS, fixture.base + "/upload/tus", headers: [:])
        #expect(options.headers.first(name: "Tus-Version") == "1.0.0")
        #expect(options.headers.first(name: "Tus-Extension")?.contains("creation") == true)
        let (location, uploadURL, token) = try await tusCreate(fixture, length: video.count, fileName: "clip.mp4")
        #expect(try await tusOffset(fixture, location) == 0)

        await fixture.emulator.setFaults(FaultSettings(connectionResetRate: 1, seed: 3))
        await #expect(throws: (any Error).self) {
            _ = try await fixture.send(
                .PATCH, location,
                headers: [
                    "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream",
                ], body: video)
        }
        await fixture.emulator.setFaults(FaultSettings())
        let offset = try await tusOffset(fixture, location)
        #expect(offset > 0 && offset < video.count, "part of the body arrived before the reset: \(offset)")

        let wrongOffset = try await fixture.send(
            .PATCH, location,
            headers: [
                "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream",
            ], body: video)
        #expect(wrongOffset.status == 409)
        let early = try await fixture.send(
            .PUT, "\(uploadURL)/\(token)?filename=clip.mp4", headers: [:], json: [String: String]())
        #expect(early.status == 400 && early.errorCode == "UPLOAD_INCOMPLETE")

        let rest = try await fixture.send(
            .PATCH, location,
            headers: [
                "Tus-Resumable": "1.0.0", "Upload-Offset": String(offset),
                "Content-Type": "application/offset+octet-stream",
            ], body: video.subdata(in: offset..<video.count))
        #expect(rest.status == 204)
        #expect(rest.headers.first(name: "Upload-Offset") == String(video.count))
        let final = try await fixture.send(
            .PUT, "\(uploadURL)/\(token)?filename=clip.mp4", headers: [:], json: [String: String]())
        #expect(final.status == 200)
        #expect(final.file["hash"] as? String == (try md5sum(video)))
        #expect(final.file["displayName"] as? String == "clip.mp4")
        let again = try await fixture.send(
            .PUT, "\(uploadURL)/\(token)?filename=clip.mp4", headers: [:], json: [String: String]())
        #expect(again.file["id"] as? String == final.file["id"] as? String, "finalize is idempotent")
        #expect(try await fixture.storedFiles().count == 1)
        let noVersion = try await fixture.send(.HEAD, location, headers: [:])
        #expect(noVersion.status == 412)
    }

    @Test(
        "tus: finalize reports the right hash whether the digest ran across every PATCH or the emulator restarted between them"
    )
    func tusDigestAcrossPatches() async throws {
        let data = Self.randomData(3 * 1024 * 1024 + 17, seed: 11)
        let third = data.count / 3
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("emulator-\(UUID().uuidString)")
            .path
        var fixture = try await EmulatorFixture.start(dataDirectory: directory)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (firstLocation, firstUploadURL, token) = try await tusCreate(
            fixture, length: data.count, fileName: "restart.mp4")
        let patch = { (fixture: EmulatorFixture, location: String, range: Range<Int>) in
            try await fixture.send(
                .PATCH, location,
                headers: [
                    "Tus-Resumable": "1.0.0", "Upload-Offset": String(range.lowerBound),
                    "Content-Type": "application/offset+octet-stream",
                ], body: data.subdata(in: range))
        }
        #expect(try await patch(fixture, firstLocation, 0..<third).status == 204)
        // A restart loses the in-memory digest: the next PATCHes and finalize must not trust a partial one.
        let oldBase = fixture.base
        await fixture.stop(removeData: false)
        fixture = try await EmulatorFixture.start(dataDirectory: directory)
        let location = firstLocation.replacingOccurrences(of: oldBase, with: fixture.base)
        let uploadURL = firstUploadURL.replacingOccurrences(of: oldBase, with: fixture.base)
        #expect(try await tusOffset(fixture, location) == third)
        #expect(try await patch(fixture, location, third..<(2 * third)).status == 204)
        #expect(try await patch(fixture, location, (2 * third)..<data.count).status == 204)
        let final = try await fixture.send(
            .PUT, "\(uploadURL)/\(token)?filename=restart.mp4", headers: [:], json: [String: String]())
        #expect(final.status == 200)
        #expect(final.file["hash"] as? String == (try md5sum(data)))
        let copy = directory + "-copy"
        try data.write(to: URL(fileURLWithPath: copy))
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let stored = try await fixture.storedFiles()
        #expect(stored.first?["sha256"] as? String == (try sha256sum(copy)))

        // Without a restart the digest runs across the PATCHes; it must come out the same.
        let (location2, uploadURL2, token2) = try await tusCreate(fixture, length: data.count, fileName: "straight.mp4")
        for range in [0..<third, third..<(2 * third), (2 * third)..<data.count] {
            #expect(try await patch(fixture, location2, range).status == 204)
        }
        let straight = try await fixture.send(
            .PUT, "\(uploadURL2)/\(token2)?filename=straight.mp4", headers: [:], json: [String: String]())
        #expect(straight.file["hash"] as? String == (try md5sum(data)))
        await fixture.stop(removeData: false)
    }

    @Test("tus: an independent client (tuspy from PyPI) uploads in chunks through the emulator")
    func tuspyInterop() async throws {
        let fixture = try await EmulatorFixture.start()
        let data = Self.randomData(3_000_000)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tus-\(UUID().uuidString).mp4").path
        try (Data([0, 0, 0, 0x18]) + Data("ftypmp42".utf8) + data).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let generated = try await fixture.send(
            .POST, "/site-media/v1/files/generate-resumable-upload-url", json: ["mimeType": "video/mp4"])
        let uploadURL = try #require(generated.json["uploadUrl"] as? String)
        let token = try #require(generated.json["uploadToken"] as? String)
        let script = """
            import sys
            from tusclient import client
            c = client.TusClient(sys.argv[1])
            u = c.uploader(sys.argv[2], chunk_size=1000000, metadata={"filename": "py.mp4", "contentType": "video/mp4", "token": sys.argv[3]})
            u.upload()
            print(u.url)
            """
        let result = try await runProcessAsync("/usr/bin/env", ["python3", "-c", script, uploadURL, path, token])
        #expect(result.status == 0, "tuspy: \(result.stderr)")
        let final = try await fixture.send(
            .PUT, "\(uploadURL)/\(token)?filename=py.mp4", headers: [:], json: [String: String]())
        #expect(final.file["hash"] as? String == (try md5sum(try Data(contentsOf: URL(fileURLWithPath: path)))))
        let patches = fixture.emulator.requestCounts["PATCH /upload/tus/* 204"] ?? 0
        #expect(patches == 4, "3,000,012 bytes in 1 MB chunks")
    }

    @Test(
        "fault flags: 500/503, 429 with Retry-After in Wix's shape, request-per-minute limit, latency, processing failures, resets"
    )
    func faults() async throws {
        let fixture = try await EmulatorFixture.start()
        let path = "/site-media/v1/files/generate-upload-url"
        let body = ["mimeType": "image/png"]

        await fixture.emulator.setFaults(FaultSettings(serverErrorRate: 1))
        let statuses = try await [
            fixture.send(.POST, path, json: body).status, fixture.send(.POST, path, json: body).status,
        ]
        #expect(Set(statuses) == [500, 503])

        await fixture.emulator.setFaults(FaultSettings(rateLimitRate: 1, retryAfterSeconds: 7))
        let limited = try await fixture.send(.POST, path, json: body)
        #expect(
            limited.status == 429 && limited.headers.first(name: "Retry-After") == "7"
                && limited.errorCode == "RESOURCE_EXHAUSTED")

        await fixture.emulator.setFaults(FaultSettings(requestsPerMinute: 2))
        let window = try await [
            fixture.send(.POST, path, json: body).status, fixture.send(.POST, path, json: body).status,
            fixture.send(.POST, path, json: body).status,
        ]
        #expect(window == [200, 200, 429])

        await fixture.emulator.setFaults(FaultSettings(latencyMilliseconds: 250))
        let clock = ContinuousClock()
        let elapsed = try await clock.measure { _ = try await fixture.send(.POST, path, json: body) }
        #expect(elapsed >= .milliseconds(250))

        await fixture.emulator.setFaults(FaultSettings(processingFailureRate: 1))
        let failed = try await fixture.upload(
            try corpusData("images/png/iccp.png"), mimeType: "image/png", fileName: "f.png")
        #expect(failed.file["operationStatus"] as? String == "FAILED")

        await fixture.emulator.setFaults(FaultSettings(connectionResetRate: 1))
        await #expect(throws: (any Error).self) {
            _ = try await fixture.upload(Self.randomData(2_000_000), mimeType: "application/pdf", fileName: "big.pdf")
        }

        // Same seed, same request order, same faults.
        func pattern() async throws -> [Int] {
            await fixture.emulator.setFaults(FaultSettings(serverErrorRate: 0.5, seed: 99))
            var statuses: [Int] = []
            for _ in 0..<12 { statuses.append(try await fixture.send(.POST, path, json: body).status) }
            return statuses
        }
        let first = try await pattern()
        #expect(try await pattern() == first)
        #expect(first.contains(200) && first.contains { $0 >= 500 })

        // Faults are also settable over HTTP.
        let set = try await fixture.send(.POST, "/_emulator/faults", headers: [:], json: ["rateLimitRate": 1])
        #expect(set.status == 200)
        #expect(try await fixture.send(.POST, path, json: body).status == 429)
        #expect(
            try await fixture.send(.POST, "/_emulator/faults", headers: [:], json: ["rateLimitRate": 2]).status == 400)
    }

    @Test("webhooks: File Ready and File Failed events reach the configured URL as JWTs with the documented envelope")
    func webhooks() async throws {
        let received = Mutex<[String]>([])
        let router = Router()
        router.post("/hook") { request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 20)
            received.withLock { $0.append(String(buffer: body)) }
            return .ok
        }
        let (started, continuation) = AsyncStream.makeStream(of: Int.self)
        let receiver = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) })
        let receiverTask = Task { try await receiver.runService(gracefulShutdownSignals: []) }
        var ports = started.makeAsyncIterator()
        let port = try #require(await ports.next())
        let fixture = try await EmulatorFixture.start { $0.webhookURL = "http://127.0.0.1:\(port)/hook" }
        defer {
            receiverTask.cancel()
            Task { await fixture.stop() }
        }
        _ = try await fixture.upload(
            try corpusData("images/png/iccp.png"), mimeType: "image/png", fileName: "ok.png",
            extra: ["externalInfo": ["origin": "media-ingest", "externalIds": ["abc"]]])
        _ = try await fixture.upload(
            try corpusData("adversarial/text_named_photo.png"), mimeType: "image/png", fileName: "bad.png")
        for _ in 0..<50 where received.withLock({ $0.count }) < 2 { try await Task.sleep(for: .milliseconds(100)) }
        let events = received.withLock { $0 }.map { jwt -> [String: Any] in
            let payload = jwt.split(separator: ".")[1]
            var base64 = payload.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while base64.count % 4 != 0 { base64 += "=" }
            let outer =
                (try? JSONSerialization.jsonObject(with: Data(base64Encoded: base64) ?? Data())) as? [String: Any]
                ?? [:]
            let envelope =
                (try? JSONSerialization.jsonObject(with: Data((outer["data"] as? String ?? "").utf8))) as? [String: Any]
                ?? [:]
            return envelope
        }
        #expect(
            Set(events.compactMap { $0["eventType"] as? String }) == [
                "wix.media.site_media.v1.file_descriptor_file_ready",
                "wix.media.site_media.v1.file_descriptor_file_failed",
            ])
        let ready = events.first { ($0["eventType"] as? String)?.hasSuffix("file_ready") == true }
        let event =
            (try? JSONSerialization.jsonObject(with: Data((ready?["data"] as? String ?? "").utf8))) as? [String: Any]
            ?? [:]
        let body = (event["actionEvent"] as? [String: Any])?["body"] as? [String: Any]
        #expect(((body?["externalInfo"] as? [String: Any])?["externalIds"] as? [String]) == ["abc"])
        #expect((body?["file"] as? [String: Any])?["operationStatus"] as? String == "READY")
    }
}
