import AsyncHTTPClient
import Foundation
import Logging
import MediaIngest
import NIOCore
import NIOHTTP1
import PipelineTesting
import Synchronization
import TestSupport
import Testing
import WixMedia
import WixMediaEmulator

@testable import IngestStages
@testable import WixStages

/// File Ready / File Failed webhooks: verified as Wix signs them (RS256 with the app's key), repeated deliveries
/// dropped, bad ones refused with a reason, early ones kept for their waiter.
@Suite("wix.await-ready via events: the webhook endpoint", .cleansUp)
struct WixEventsTests {
    static func post(_ body: String, to address: String) async throws -> Int {
        var request = HTTPClientRequest(url: "http://\(address)/hook")
        request.method = .POST
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 16)
        return Int(response.status.code)
    }

    @Test(
        "the emulator's events verify with its public key; each is delivered once though sent twice; a tampered signature, another algorithm or no JWT is refused 401 and changes nothing"
    )
    func verifiedOnce() async throws {
        let delivered = Mutex<[WixFileEvent]>([])
        let logs = InMemoryLogHandler.Store()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("events-\(UUID().uuidString)").path
        // The key first (the receiver needs it), from an emulator with the same data folder.
        var configuration = EmulatorConfiguration(apiKey: "k", siteID: "s", dataDirectory: data, port: 0)
        let keyOnly = try await WixMediaEmulator.start(configuration)
        let verifier = try WixEventVerifier(publicKeyPEM: try await keyOnly.webhookPublicKey())
        await keyOnly.stop()
        let receiver = try await WixEventReceiver.start(
            listen: ("127.0.0.1", 0), verifier: verifier, logger: logs.logger()
        ) { event in
            delivered.withLock { $0.append(event) }
            return .unknown
        }
        TestCleanup.mustRegister { await receiver.stop() }
        configuration.webhookURL = "http://\(receiver.address)/hook"
        configuration.faults.webhookDuplicateRate = 1
        let emulator = try await WixMediaEmulator.start(configuration)
        TestCleanup.mustRegister {
            await emulator.stop()
            try? FileManager.default.removeItem(atPath: data)
        }
        let client = WixMediaClient(
            baseURL: emulator.baseURL, apiKey: "k", siteID: "s",
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        TestCleanup.mustRegister { await client.close() }
        let path = Corpus.path("images/png/iccp.png")
        let size = try FileStatus.of(path).size
        let uploaded = try await client.upload(
            UploadJob(
                path: path, size: size, options: UploadOptions(mimeType: "image/png", fileName: "e.png"),
                resumableAbove: 10_000_000, chunkSize: 1 << 20, startedAt: Date()))
        func logged(_ text: String) -> Bool {
            logs.entries.contains { ($0.message + " " + $0.metadata.values.joined(separator: " ")).contains(text) }
        }
        // Both deliveries, however slow the machine: the first taken, the repeated one logged and dropped.
        for _ in 0..<600 where !logged("repeated") { try await Task.sleep(for: .milliseconds(50)) }
        #expect(logged("repeated"))
        let events = delivered.withLock { $0 }
        #expect(events.count == 1, "sent twice, taken once: \(events)")
        #expect(events.first?.fileID == uploaded.descriptor.id && events.first?.isReady == true)
        #expect(events.first?.file?.operationStatus == "READY")
        // Refusals: a tampered signature, HS256, not a JWT.
        let header = Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8).base64EncodedString()
        #expect(try await Self.post(header + ".e30.c2ln", to: receiver.address) == 401)
        #expect(try await Self.post("hello", to: receiver.address) == 401)
        let rs = Data(#"{"alg":"RS256","typ":"JWT"}"#.utf8).base64EncodedString()
            .replacingOccurrences(of: "=", with: "")
        #expect(try await Self.post(rs + ".e30." + String(repeating: "A", count: 342), to: receiver.address) == 401)
        #expect(delivered.withLock { $0.count } == 1, "refused requests change nothing")
        #expect(logged("bad signature") && logged("not signed RS256") && logged("not a JWT"))
    }

    @Test("an event that comes before its waiter (before the upload's answer) settles the file when the waiter comes")
    func earlyEvent() async throws {
        let client = WixMediaClient(
            baseURL: "http://127.0.0.1:9", apiKey: "k", siteID: "s",
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        TestCleanup.mustRegister { await client.close() }
        let poller = ReadyPoller(
            client: client, first: .milliseconds(50), longest: .seconds(1), fallback: .seconds(30),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let ready = try FileDescriptor(
            json: ["id": "early-id", "operationStatus": "READY", "displayName": "x.png", "sizeInBytes": "10"])
        #expect(
            await poller.receive(
                WixFileEvent(id: "1", isReady: true, fileID: "early-id", file: ready, externalIDs: [])) == .unknown)
        let settled = try await poller.await("early-id", timeout: .seconds(5))
        #expect(settled.isReady)
        await poller.cancelAll()
    }
}
