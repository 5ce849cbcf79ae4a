import Foundation
import NIOHTTP1
import TestSupport
import Testing
import WixMediaEmulator

/// The emulator's readings of what Wix's docs allow and a client must survive: the trash, undocumented sort fields,
/// listings that lag, 429s without Retry-After, tus alignment, `sizeInBytes` as a number.
@Suite("wix-media-emulator: the answers Wix's docs allow", .cleansUp)
struct StrictReadingTests {
    static let png = "images/png/iccp.png"

    @Test("a trashed file stays READY with state OK in trash-root: get-file-by-id finds it, listings and search do not")
    func trash() async throws {
        let fixture = try await EmulatorFixture.start()
        let uploaded = try await fixture.upload(try corpusData(Self.png), mimeType: "image/png", fileName: "t.png")
        let id = try #require(uploaded.file["id"] as? String)
        let deleted = try await fixture.send(
            .POST, "/site-media/v1/bulk/files/delete", json: ["fileIds": [id], "permanent": false])
        #expect(deleted.status == 200)
        let file = try await fixture.send(.GET, "/site-media/v1/files/get-file-by-id?fileId=\(id)").file
        #expect(file["operationStatus"] as? String == "READY")
        #expect(file["parentFolderId"] as? String == "trash-root")
        #expect(file["state"] as? String ?? "OK" == "OK")
        let listed = try await fixture.send(.GET, "/site-media/v1/files?parentFolderId=media-root").json
        #expect((listed["files"] as? [Any])?.isEmpty == true)
        let search = try await fixture.send(.POST, "/site-media/v1/files/search", json: [:]).json
        #expect((search["files"] as? [Any])?.isEmpty == true)
        let trash = try await fixture.send(.POST, "/site-media/v1/files/search", json: ["rootFolder": "TRASH_ROOT"])
        #expect((trash.json["files"] as? [Any])?.count == 1)
    }

    @Test("documentedSortsOnly: createdDate is refused with 400; updatedDate, displayName, sizeInBytes are listed")
    func documentedSorts() async throws {
        let fixture = try await EmulatorFixture.start { $0.faults.documentedSortsOnly = true }
        let refused = try await fixture.send(.GET, "/site-media/v1/files?sort.fieldName=createdDate")
        #expect(refused.status == 400 && refused.violatedFields == ["sort.fieldName"])
        for field in ["updatedDate", "displayName", "sizeInBytes"] {
            #expect(try await fixture.send(.GET, "/site-media/v1/files?sort.fieldName=\(field)").status == 200)
        }
        let search = try await fixture.send(
            .POST, "/site-media/v1/files/search", json: ["sort": ["fieldName": "createdDate", "order": "DESC"]])
        #expect(search.status == 400)
    }

    @Test("listingLagSeconds: a new file is in get-file-by-id at once, in List Files and Search Files only later")
    func listingLag() async throws {
        let fixture = try await EmulatorFixture.start { $0.faults.listingLagSeconds = 60 }
        let uploaded = try await fixture.upload(try corpusData(Self.png), mimeType: "image/png", fileName: "l.png")
        let id = try #require(uploaded.file["id"] as? String)
        #expect(try await fixture.send(.GET, "/site-media/v1/files/get-file-by-id?fileId=\(id)").status == 200)
        func listed() async throws -> Int {
            (try await fixture.send(.GET, "/site-media/v1/files").json["files"] as? [Any])?.count ?? -1
        }
        #expect(try await listed() == 0)
        // Once the lag has passed (here: set to nothing), it is listed.
        var faults = FaultSettings()
        faults.listingLagSeconds = 0
        await fixture.emulator.setFaults(faults)
        #expect(try await listed() == 1)
    }

    @Test("rateLimitWithoutRetryAfter: 429s carry no Retry-After")
    func throttlingWithoutRetryAfter() async throws {
        var faults = FaultSettings(rateLimitRate: 1)
        faults.rateLimitWithoutRetryAfter = true
        let fixture = try await EmulatorFixture.start { $0.faults = faults }
        let reply = try await fixture.send(.GET, "/site-media/v1/files")
        #expect(reply.status == 429)
        #expect(reply.headers.first(name: "Retry-After") == nil)
    }

    @Test("sizeInBytes: a number is accepted, unless sizeAsStringOnly; a string always")
    func numericSize() async throws {
        let lenient = try await EmulatorFixture.start()
        let path = "/site-media/v1/files/generate-upload-url"
        #expect(try await lenient.send(.POST, path, json: ["mimeType": "image/png", "sizeInBytes": 12]).status == 200)
        let strict = try await EmulatorFixture.start { $0.faults.makeStrict() }
        let refused = try await strict.send(.POST, path, json: ["mimeType": "image/png", "sizeInBytes": 12])
        #expect(refused.status == 400 && refused.violatedFields == ["sizeInBytes"])
        #expect(try await strict.send(.POST, path, json: ["mimeType": "image/png", "sizeInBytes": "12"]).status == 200)
    }
}
