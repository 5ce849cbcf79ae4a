import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import Testing
import WixMediaEmulator

@Suite("wix-media-emulator: documented API", .cleansUp)
struct EmulatorAPITests {
    @Test("seed flow: generate-upload-url then PUT returns a full FileDescriptor, READY, with MD5 hash and dimensions")
    func seedFlow() async throws {
        let fixture = try await EmulatorFixture.start()
        let data = try corpusData("images/jpeg/gps_minimal.jpg")
        let generated = try await fixture.send(
            .POST, "/site-media/v1/files/generate-upload-url",
            json: [
                "mimeType": "image/jpeg", "fileName": "gps_minimal.jpg", "sizeInBytes": String(data.count),
                "filePath": "/photos/2024", "labels": ["trip"],
            ])
        #expect(generated.status == 200)
        #expect(Array(generated.json.keys) == ["uploadUrl"], "the documented response has only uploadUrl")
        let uploadURL = try #require(generated.json["uploadUrl"] as? String)
        #expect(uploadURL.hasPrefix(fixture.base + "/upload/"))
        #expect(uploadURL.split(separator: "/").last?.split(separator: ".").count == 3, "the token is a compact JWT")

        // The PUT carries no Authorization header: the token in the URL is the credential.
        let put = try await fixture.send(
            .PUT, uploadURL + "?filename=beach.jpg", headers: ["Content-Type": "image/jpeg"], body: data)
        #expect(put.status == 200)
        let file = put.file
        for field in [
            "id", "displayName", "url", "parentFolderId", "hash", "sizeInBytes", "private", "mediaType", "media",
            "operationStatus", "sourceUrl", "thumbnailUrl", "labels", "createdDate", "updatedDate", "siteId", "state",
        ] {
            #expect(file[field] != nil, "descriptor field \(field)")
        }
        let id = try #require(file["id"] as? String)
        #expect(id.wholeMatch(of: /[0-9a-f]{6}_[0-9a-f]{32}~mv2\.jpeg/) != nil, "image ids look like Wix's: \(id)")
        #expect(file["displayName"] as? String == "beach.jpg")
        #expect(file["hash"] as? String == (try md5sum(data)))
        #expect(file["sizeInBytes"] as? String == String(data.count))
        #expect(file["mediaType"] as? String == "IMAGE")
        #expect(file["operationStatus"] as? String == "READY")
        #expect(file["siteId"] as? String == EmulatorFixture.siteID)
        #expect(file["labels"] as? [String] == ["trip"])
        let image = ((file["media"] as? [String: Any])?["image"] as? [String: Any])?["image"] as? [String: Any]
        #expect(image?["width"] as? Int == 8 && image?["height"] as? Int == 8)

        // filePath created /photos/2024 under media-root; the file is in the leaf folder.
        let photos =
            try await fixture.send(.GET, "/site-media/v1/folders?parentFolderId=media-root").json["folders"]
            as? [[String: Any]] ?? []
        #expect(photos.map { $0["displayName"] as? String } == ["photos"])
        let year =
            try await fixture.send(
                .GET, "/site-media/v1/folders?parentFolderId=\(photos.first?["id"] as? String ?? "")"
            ).json["folders"] as? [[String: Any]] ?? []
        #expect(year.first?["id"] as? String == file["parentFolderId"] as? String)

        // get-file-by-id (current), GET /files/{id} (2023 form), get-files, and the bytes at url.
        #expect(
            try await fixture.send(.GET, "/site-media/v1/files/get-file-by-id?fileId=\(id)").file["hash"] as? String
                == file["hash"] as? String)
        #expect(try await fixture.send(.GET, "/site-media/v1/files/\(id)").file["id"] as? String == id)
        let many = try await fixture.send(.POST, "/site-media/v1/files/get-files", json: ["fileIds": [id, "missing"]])
        #expect((many.json["files"] as? [[String: Any]])?.count == 1)
        let served = try await fixture.send(.GET, try #require(file["url"] as? String), headers: [:])
        #expect(served.body == data)
        #expect(
            try await fixture.send(.GET, "/site-media/v1/files/get-file-by-id?fileId=nope").errorCode == "NOT_FOUND")
    }

    @Test("auth: missing or wrong key is 401, missing or wrong site is 403, in Wix's error shape; Bearer is accepted")
    func authentication() async throws {
        let fixture = try await EmulatorFixture.start()
        let path = "/site-media/v1/files/generate-upload-url"
        let body = ["mimeType": "image/png"]
        let missing = try await fixture.send(.POST, path, headers: ["wix-site-id": EmulatorFixture.siteID], json: body)
        #expect(missing.status == 401 && missing.errorCode == "UNAUTHENTICATED")
        #expect(missing.json["message"] as? String != nil)
        let wrongKey = try await fixture.send(
            .POST, path, headers: ["Authorization": "nope", "wix-site-id": EmulatorFixture.siteID], json: body)
        #expect(wrongKey.status == 401)
        let noSite = try await fixture.send(.POST, path, headers: ["Authorization": EmulatorFixture.apiKey], json: body)
        #expect(noSite.status == 403 && noSite.errorCode == "PERMISSION_DENIED")
        let otherSite = try await fixture.send(
            .POST, path, headers: ["Authorization": EmulatorFixture.apiKey, "wix-site-id": "other"], json: body)
        #expect(otherSite.status == 403)
        let both = try await fixture.send(
            .POST, path,
            headers: [
                "Authorization": EmulatorFixture.apiKey, "wix-site-id": EmulatorFixture.siteID, "wix-account-id": "a",
            ], json: body)
        #expect(both.status == 403)
        let bearer = try await fixture.send(
            .POST, path,
            headers: ["Authorization": "Bearer " + EmulatorFixture.apiKey, "wix-site-id": EmulatorFixture.siteID],
            json: body)
        #expect(bearer.status == 200)
    }

    @Test("validation failures name every bad field")
    func validation() async throws {
        let fixture = try await EmulatorFixture.start()
        let path = "/site-media/v1/files/generate-upload-url"
        let noMime = try await fixture.send(.POST, path, json: ["fileName": "a.jpg"])
        #expect(noMime.status == 400 && noMime.violatedFields == ["mimeType"])
        let bad = try await fixture.send(
            .POST, path,
            json: [
                "mimeType": String(repeating: "a", count: 101), "fileName": String(repeating: "b", count: 201),
                "sizeInBytes": "twelve",
                "labels": (0..<51).map { "l\($0)" }, "filePath": String(repeating: "p", count: 101), "private": "yes",
            ])
        #expect(bad.status == 400)
        #expect(Set(bad.violatedFields) == ["mimeType", "fileName", "sizeInBytes", "labels", "filePath", "private"])
        let resumableLabels = try await fixture.send(
            .POST, "/site-media/v1/files/generate-resumable-upload-url",
            json: ["mimeType": "video/mp4", "labels": (0..<51).map { "l\($0)" }])
        #expect(resumableLabels.status == 200, "resumable allows 500 labels")
        let notJSON = try await fixture.send(.POST, path, body: Data("{".utf8))
        #expect(notJSON.status == 400 && notJSON.violatedFields == ["body"])
        let folder = try await fixture.send(.POST, path, json: ["mimeType": "image/png", "parentFolderId": "nope"])
        #expect(folder.status == 404)
    }

    @Test("expired and tampered upload URLs are refused with 403 and an error body")
    func expiredAndTamperedTokens() async throws {
        let fixture = try await EmulatorFixture.start { $0.uploadURLLifetime = .seconds(1) }
        let data = try corpusData("images/png/iccp.png")
        let generated = try await fixture.send(
            .POST, "/site-media/v1/files/generate-upload-url", json: ["mimeType": "image/png"])
        let url = try #require(generated.json["uploadUrl"] as? String)
        var tampered = Array(url)
        let index = tampered.count - 5
        tampered[index] = tampered[index] == "A" ? "B" : "A"
        let forged = try await fixture.send(.PUT, String(tampered), headers: ["Content-Type": "image/png"], body: data)
        #expect(forged.status == 403 && forged.errorCode == "INVALID_UPLOAD_TOKEN")
        try await Task.sleep(for: .milliseconds(2100))
        let expired = try await fixture.send(.PUT, url, headers: ["Content-Type": "image/png"], body: data)
        #expect(expired.status == 403 && expired.errorCode == "UPLOAD_URL_EXPIRED")
        #expect(try await fixture.storedFiles().isEmpty)
    }

    @Test("bytes that are not the declared type go FAILED; octet-stream plus filename is sniffed")
    func contentMismatch() async throws {
        let fixture = try await EmulatorFixture.start()
        let script = try corpusData("adversarial/shell_script_named_photo.jpg")
        let failed = try await fixture.upload(script, mimeType: "image/jpeg", fileName: "photo.jpg")
        #expect(failed.status == 200)
        #expect(failed.file["operationStatus"] as? String == "FAILED")
        let png = try corpusData("images/png/iccp.png")
        let sniffed = try await fixture.upload(
            png, mimeType: "application/octet-stream", fileName: "x.png", contentType: "application/octet-stream")
        #expect(sniffed.file["mediaType"] as? String == "IMAGE")
        #expect(sniffed.file["operationStatus"] as? String == "READY")
    }

    @Test("video stays PENDING for the processing delay, then READY; video ids have no extension")
    func asynchronousProcessing() async throws {
        let fixture = try await EmulatorFixture.start { $0.mediaProcessingDelay = .milliseconds(700) }
        let reply = try await fixture.upload(
            try corpusData("video/plain.mp4"), mimeType: "video/mp4", fileName: "clip.mp4")
        #expect(reply.file["operationStatus"] as? String == "PENDING")
        let id = try #require(reply.file["id"] as? String)
        #expect(!id.contains("."))
        #expect((reply.file["url"] as? String)?.hasSuffix("/video/\(id)/file") == true)
        let done = try await fixture.awaitProcessed(id)
        #expect(done["operationStatus"] as? String == "READY")
    }

    @Test("listing pages with a cursor, filters by media type, sorts")
    func listing() async throws {
        let fixture = try await EmulatorFixture.start()
        for name in ["a", "b", "c", "d", "e"] {
            _ = try await fixture.upload(
                try corpusData("images/png/iccp.png"), mimeType: "image/png", fileName: "\(name).png")
        }
        _ = try await fixture.upload(
            try corpusData("documents/minimal.pdf"), mimeType: "application/pdf", fileName: "doc.pdf")
        var names: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            var path =
                "/site-media/v1/files?parentFolderId=media-root&mediaTypes=IMAGE&sort.fieldName=displayName&sort.order=ASC&paging.limit=2"
            if let cursor { path += "&paging.cursor=\(cursor)" }
            let page = try await fixture.send(.GET, path)
            #expect(page.status == 200)
            names += (page.json["files"] as? [[String: Any]] ?? []).compactMap { $0["displayName"] as? String }
            cursor = ((page.json["nextCursor"] as? [String: Any])?["cursors"] as? [String: Any])?["next"] as? String
            pages += 1
        } while cursor != nil && pages < 10
        #expect(names == ["a.png", "b.png", "c.png", "d.png", "e.png"])
        #expect(pages == 3)
        let bad = try await fixture.send(.GET, "/site-media/v1/files?paging.limit=1000")
        #expect(bad.violatedFields == ["paging.limit"])
    }

    @Test(
        "import fetches the URL in the background: PENDING with an empty hash, then READY with the MD5; a dead URL ends FAILED"
    )
    func importFile() async throws {
        let fixture = try await EmulatorFixture.start()
        let data = try corpusData("images/jpeg/orientation_landscape_6.jpg")
        let source = try await fixture.upload(data, mimeType: "image/jpeg", fileName: "source.jpg")
        let sourceURL = try #require(source.file["url"] as? String)
        let imported = try await fixture.send(
            .POST, "/site-media/v1/files/import",
            json: [
                "url": sourceURL, "displayName": "imported.jpg",
                "externalInfo": ["origin": "test", "externalIds": ["42"]],
            ])
        #expect(imported.status == 200)
        #expect(imported.file["operationStatus"] as? String == "PENDING")
        #expect(imported.file["hash"] as? String == "")
        #expect(imported.file["sourceUrl"] as? String == sourceURL)
        let done = try await fixture.awaitProcessed(try #require(imported.file["id"] as? String))
        #expect(done["operationStatus"] as? String == "READY")
        #expect(done["hash"] as? String == (try md5sum(data)))

        let dead = try await fixture.send(
            .POST, "/site-media/v1/files/import", json: ["url": "http://127.0.0.1:9/nothing.jpg"])
        let failed = try await fixture.awaitProcessed(try #require(dead.file["id"] as? String))
        #expect(failed["operationStatus"] as? String == "FAILED")
        let badURL = try await fixture.send(.POST, "/site-media/v1/files/import", json: ["url": "file:///etc/passwd"])
        #expect(badURL.violatedFields == ["url"])
    }

    @Test("restarting with the same data folder keeps files and keeps issued upload URLs valid")
    func persistence() async throws {
        let first = try await EmulatorFixture.start()
        let stored = try await first.upload(
            try corpusData("images/png/iccp.png"), mimeType: "image/png", fileName: "kept.png")
        let pending = try await first.send(
            .POST, "/site-media/v1/files/generate-upload-url", json: ["mimeType": "image/png"])
        let pendingURL = try #require(pending.json["uploadUrl"] as? String)
        await first.stop(removeData: false)
        let second = try await EmulatorFixture.start(dataDirectory: first.dataDirectory)
        let id = try #require(stored.file["id"] as? String)
        #expect(
            try await second.send(.GET, "/site-media/v1/files/get-file-by-id?fileId=\(id)").file["displayName"]
                as? String == "kept.png")
        // Same signing key after the restart: the URL issued before it still works (on the new port).
        let path = String(pendingURL[pendingURL.range(of: "/upload/")!.lowerBound...])
        let late = try await second.send(
            .PUT, second.base + path, headers: ["Content-Type": "image/png"],
            body: try corpusData("images/png/iccp.png"))
        #expect(late.status == 200)
        #expect(try await second.storedFiles().count == 2)
    }
}
