import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import MediaFormats
import NIOCore
import NIOHTTP1

extension EmulatorRoutes {
    // MARK: Import (§4)

    func importFile(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        let file = try await importOne(try await jsonObject(request, context))
        // Import File is not idempotent: an answer lost here makes a blind retry a second import.
        try await maybeLoseResponse(context)
        return json(["file": await fileRenderer().file(file, now: Date())])
    }

    /// `POST /site-media/v1/bulk/files/import-v2 {importFileRequests, returnEntity}` (§4): up to 100 imports, each
    /// answered on its own (`results[].itemMetadata.success`, `error`), with `bulkActionMetadata` counts.
    func bulkImport(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        let object = try await jsonObject(request, context)
        guard let requests = object["importFileRequests"] as? [[String: Any]], !requests.isEmpty else {
            throw WixError.invalid(field: "importFileRequests", "is required", rule: "REQUIRED_FIELD")
        }
        guard requests.count <= 100 else {
            throw WixError.invalid(field: "importFileRequests", "must have at most 100 items", rule: "MAX_ITEMS")
        }
        let returnEntity = (object["returnEntity"] as? Bool) ?? true
        let renderer = await fileRenderer()
        var results: [[String: Any]] = []
        var successes = 0
        for (index, item) in requests.enumerated() {
            do {
                let file = try await importOne(item)
                successes += 1
                var result: [String: Any] = [
                    "itemMetadata": ["id": file.id, "originalIndex": index, "success": true]
                ]
                if returnEntity { result["item"] = renderer.file(file, now: Date()) }
                results.append(result)
            } catch let error as WixError {
                results.append([
                    "itemMetadata": [
                        "originalIndex": index, "success": false,
                        "error": ["code": error.code ?? "INVALID_ARGUMENT", "description": error.message],
                    ]
                ])
            }
        }
        try await maybeLoseResponse(context)
        return json([
            "results": results,
            "bulkActionMetadata": [
                "totalSuccesses": successes, "totalFailures": requests.count - successes, "undetailedFailures": 0,
            ],
        ])
    }

    /// One Import File request: validated, stored PENDING, its fetch scheduled.
    func importOne(_ object: [String: Any]) async throws -> StoredFile {
        var fields = FieldReader(object)
        let url = fields.string("url", required: true, maxLength: 2000)
        let mediaType = fields.string("mediaType", maxLength: 20)
        let displayName = fields.string("displayName", maxLength: 200)
        let parentFolderId = fields.string("parentFolderId", maxLength: 100)
        let isPrivate = fields.bool("private") ?? false
        let labels = fields.strings("labels", maxItems: 50, maxLength: 200) ?? []
        let mimeType = fields.string("mimeType", maxLength: 100)
        let filePath = fields.string("filePath", maxLength: 100)
        let external = fields.externalInfo()
        let urlHeaders = (object["urlHeaders"] as? [String: String]) ?? [:]
        if let url, !url.isEmpty,
            !(url.hasPrefix("http://") || url.hasPrefix("https://")) || URL(string: url)?.host == nil
        {
            fields.violation("url", "must be a public http(s) URL", rule: "FORMAT")
        }
        let mediaTypes = ["UNKNOWN", "IMAGE", "VIDEO", "AUDIO", "DOCUMENT", "VECTOR", "ARCHIVE", "MODEL3D", "OTHER"]
        if let mediaType, !mediaTypes.contains(mediaType) {
            fields.violation("mediaType", "must be one of \(mediaTypes.joined(separator: ", "))", rule: "ENUM")
        }
        guard fields.violations.isEmpty, let url else { throw WixError.invalid(fields.violations) }
        let pathName = URL(string: url)?.lastPathComponent
        let name = Self.displayName(displayName ?? pathName ?? "imported")
        guard let mime = mimeType ?? MediaKinds.mime(forFileName: name) ?? MediaKinds.mime(forFileName: pathName) else {
            throw WixError(
                status: .badRequest,
                message: "Cannot tell the file type: send mimeType, or a displayName or URL with an extension",
                code: "UNKNOWN_FILE_TYPE")
        }
        if let mediaType, mediaType != "UNKNOWN", MediaKinds.mediaType(for: mime) != mediaType {
            throw WixError.invalid(
                field: "mediaType", "\(mediaType) does not match the file type \(mime)", rule: "FORMAT")
        }
        let parent = try await resolveFolder(parentFolderId: parentFolderId, filePath: filePath)
        let now = Date()
        let id = Self.fileID(siteID: configuration.siteID, mime: mime, fileName: name)
        let file = StoredFile(
            id: id, displayName: name, parentFolderId: parent, mimeType: mime,
            mediaType: MediaKinds.mediaType(for: mime), hash: "", sha256: "",
            sizeInBytes: 0, isPrivate: isPrivate, labels: labels, siteId: configuration.siteID, createdDate: now,
            updatedDate: now, sourceUrl: url,
            width: nil, height: nil, state: "OK", readyAt: nil, outcome: "READY", failureReason: nil,
            externalOrigin: external.origin,
            externalIds: external.ids, blob: nil, notified: configuration.webhookURL == nil)
        try await store.put(file)
        jobs.yield(.importFile(id: id, url: url, headers: urlHeaders))
        return file
    }

    /// Fetches an imported file's URL (streamed to disk), then schedules its processing like an upload.
    func runImport(id: String, url: String, headers: [String: String], client: HTTPClient) async {
        guard var file = await store.file(id) else { return }
        let temporary = store.partialPath("import-\(id)")
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        do {
            var request = HTTPClientRequest(url: url)
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            let response = try await client.execute(request, timeout: .seconds(60))
            guard (200..<300).contains(response.status.code) else {
                throw ImportFailure(reason: "the URL answered \(response.status.code)")
            }
            var writer = try BlobWriter(path: temporary)
            for try await buffer in response.body {
                try writer.write(buffer)
                if writer.count > configuration.maxUploadBytes {
                    throw ImportFailure(reason: "the file is larger than the emulator's limit")
                }
            }
            let digest = try writer.finish()
            try FileManager.default.moveItemReplacing(at: temporary, to: store.blobPath(id))
            file.blob = id
            file.hash = digest.md5
            file.sha256 = digest.sha256
            file.sizeInBytes = digest.count
            file.updatedDate = Date()
            await finishProcessing(&file, head: digest.head, now: Date())
        } catch {
            logger.info("import failed", metadata: ["file": "\(id)", "error": "\(error)"])
            file.readyAt = Date()
            file.outcome = "FAILED"
            file.failureReason = "import failed: \(error)"
        }
        try? await store.put(file)
    }
}
