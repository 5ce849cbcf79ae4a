import AsyncHTTPClient
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MediaFormats
import NIOCore
import NIOHTTP1
import NIOPosix

/// Background work the request handlers hand off (imports fetch their URL after the response is sent).
enum BackgroundJob: Sendable {
    case importFile(id: String, url: String, headers: [String: String])
}

/// The emulator's request handlers: the Wix paths, the upload endpoints (plain PUT and tus), file serving and the
/// `/_emulator` admin API.
struct EmulatorRoutes: Sendable {
    let configuration: EmulatorConfiguration
    let store: EmulatorStore
    let faults: FaultInjector
    let counter: RequestCounter
    let base: BaseURLBox
    let jobs: AsyncStream<BackgroundJob>.Continuation
    let logger: Logger

    var renderer: DescriptorRenderer { DescriptorRenderer(baseURL: base.url) }

    func buildRouter() -> Router<EmulatorRequestContext> {
        let router = Router(context: EmulatorRequestContext.self)
        router.middlewares.add(FaultMiddleware(faults: faults, counter: counter))
        router.middlewares.add(AuthMiddleware(apiKey: configuration.apiKey, siteID: configuration.siteID))

        let files = router.group("/site-media/v1/files")
        files.post("generate-upload-url") { request, context in try await generateUploadURL(request, context, resumable: false) }
        files.post("generate-resumable-upload-url") { request, context in try await generateUploadURL(request, context, resumable: true) }
        files.post("import") { request, context in try await importFile(request, context) }
        files.get("get-file-by-id") { request, _ in
            guard let fileID = request.uri.queryParameters.get("fileId"), !fileID.isEmpty else {
                throw WixError.invalid(field: "fileId", "is required", rule: "REQUIRED_FIELD")
            }
            return try await fileResponse(fileID)
        }
        files.post("get-files") { request, context in try await getFiles(request, context) }
        files.get("{fileId}") { _, context in try await fileResponse(context.parameters.require("fileId")) }
        files.get { request, _ in try await listFiles(request) }

        let folders = router.group("/site-media/v1/folders")
        folders.post { request, context in try await createFolder(request, context) }
        folders.get("{folderId}") { _, context in
            let id = try context.parameters.require("folderId")
            guard let folder = await store.folder(id) else { throw WixError.notFound("Entity not found") }
            return json(["folder": renderer.folder(folder)])
        }
        folders.get { request, _ in
            let parent = request.uri.queryParameters.get("parentFolderId") ?? "media-root"
            let list = await store.allFolders().filter { $0.parentFolderId == parent && $0.state == "OK" }.sorted { $0.createdDate < $1.createdDate }
            return json(["folders": list.map(renderer.folder), "nextCursor": ["cursors": ["next": NSNull()]]])
        }

        router.put("/upload/{token}") { request, context in try await putUpload(request, context) }
        router.on("/upload/tus", method: .options) { _, _ in tusOptions() }
        router.post("/upload/tus") { request, _ in try await tusCreate(request) }
        router.head("/upload/tus/{id}") { request, context in try await tusHead(request, context) }
        router.patch("/upload/tus/{id}") { request, context in try await tusPatch(request, context) }
        router.delete("/upload/tus/{id}") { request, context in try await tusDelete(request, context) }
        // tus resources and the finalize step share the path shape; for PUT the last segment is the upload token.
        router.put("/upload/tus/{id}") { request, context in try await tusFinalize(request, context) }

        router.get("/media/{id}") { _, context in try await serveFile(context.parameters.require("id"), context) }
        router.get("/video/{id}/file") { _, context in try await serveFile(context.parameters.require("id"), context) }

        let admin = router.group("/_emulator")
        admin.get("health") { _, _ in json(["status": "ok", "files": await store.allFiles().count]) }
        admin.get("files") { _, _ in try await adminFiles() }
        admin.get("requests") { _, _ in json(["requests": counter.snapshot]) }
        admin.get("faults") { _, _ in try encodedJSON(await faults.settings) }
        admin.post("faults") { request, context in
            let settings = try await request.decode(as: FaultSettings.self, context: context)
            await faults.update(settings)
            return try encodedJSON(settings)
        }
        admin.post("reset") { _, _ in
            try await store.reset()
            counter.reset()
            return Response(status: .noContent)
        }
        return router
    }

    // MARK: Generate upload URL (§1, §3)

    func generateUploadURL(_ request: Request, _ context: EmulatorRequestContext, resumable: Bool) async throws -> Response {
        var fields = FieldReader(try await jsonObject(request, context))
        let mimeType = fields.string("mimeType", required: true, maxLength: 100)
        let fileName = fields.string("fileName", maxLength: 200)
        let sizeInBytes = fields.int64String("sizeInBytes")
        let parentFolderId = fields.string("parentFolderId", maxLength: 100)
        let isPrivate = fields.bool("private") ?? false
        let labels = fields.strings("labels", maxItems: resumable ? 500 : 50, maxLength: 200) ?? []
        let filePath = fields.string("filePath", maxLength: 100)
        let external = fields.externalInfo()
        if resumable, let value = fields.string("uploadProtocol", maxLength: 20), value != "TUS" {
            fields.violation("uploadProtocol", "must be TUS", rule: "ENUM")
        }
        if let mimeType, !mimeType.isEmpty, !mimeType.contains("/") {
            fields.violation("mimeType", "must be a MIME type like image/jpeg, got \"\(mimeType)\"", rule: "FORMAT")
        }
        guard fields.violations.isEmpty, let mimeType else { throw WixError.invalid(fields.violations) }
        let parent = try await resolveFolder(parentFolderId: parentFolderId, filePath: filePath)

        let now = Date()
        let lifetime = resumable ? configuration.resumableTokenLifetime : configuration.uploadURLLifetime
        let fileID = Self.fileID(siteID: configuration.siteID, mime: mimeType, fileName: fileName)
        let token = UploadToken(
            jti: UUID().uuidString.lowercased(), aud: "urn:service:upload", iss: "urn:app:wix-media-emulator", iat: Int64(now.timeIntervalSince1970),
            exp: Int64(now.timeIntervalSince1970 + lifetime.seconds), path: "media/\(fileID)", fileId: fileID, mimeType: mimeType,
            fileName: fileName, sizeInBytes: sizeInBytes, parentFolderId: parent, filePath: filePath, labels: labels, private: isPrivate,
            externalOrigin: external.origin, externalIds: external.ids, siteId: configuration.siteID, acl: isPrivate ? "private" : "public",
            protocol: resumable ? "tus" : nil)
        let encoded = try token.encoded(secret: store.signingKey)
        if resumable {
            return json(["uploadToken": encoded, "uploadUrl": "\(base.url)/upload/tus", "uploadProtocol": "TUS"])
        }
        return json(["uploadUrl": "\(base.url)/upload/\(encoded)"])
    }

    /// The folder a file lands in: `parentFolderId` (default `media-root`, must exist), then `filePath` below it with
    /// missing folders created.
    func resolveFolder(parentFolderId: String?, filePath: String?) async throws -> String {
        let parent = parentFolderId.flatMap { $0.isEmpty ? nil : $0 } ?? "media-root"
        guard await store.folderExists(parent) else {
            throw WixError(status: .notFound, message: "Folder \(parent) not found", code: "FOLDER_NOT_FOUND")
        }
        guard let filePath, !filePath.isEmpty else { return parent }
        return try await store.folder(forPath: filePath, under: parent, now: Date())
    }

    /// `<6 hex of the site>_<32 hex>~mv2.<ext>` for images (Wix's shape), `<6 hex>_<32 hex>` for video,
    /// `<6 hex>_<32 hex>.<ext>` for everything else.
    static func fileID(siteID: String, mime: String, fileName: String?) -> String {
        let prefix = String(hex(SHA256.hash(data: Data(siteID.utf8))).prefix(6))
        let body = "\(prefix)_\(EmulatorStore.hexID())"
        switch MediaKinds.mediaType(for: mime) {
        case "IMAGE": return "\(body)~mv2.\(MediaKinds.fileExtension(mime: mime, fileName: fileName))"
        case "VIDEO": return body
        default: return "\(body).\(MediaKinds.fileExtension(mime: mime, fileName: fileName))"
        }
    }

    // MARK: Plain upload (§2)

    func decodeToken(_ text: String, expectTus: Bool) throws -> UploadToken {
        let token: UploadToken
        switch Result(catching: { () throws(UploadToken.Problem) in try UploadToken.decode(text, secret: store.signingKey, now: Date()) }) {
        case .success(let decoded):
            token = decoded
        case .failure(.expired):
            throw WixError(status: .forbidden, message: "The upload URL has expired; generate a new one", code: "UPLOAD_URL_EXPIRED")
        case .failure(.badSignature):
            throw WixError(status: .forbidden, message: "The upload token's signature is invalid", code: "INVALID_UPLOAD_TOKEN")
        case .failure(.malformed):
            throw WixError(status: .forbidden, message: "The upload token is malformed", code: "INVALID_UPLOAD_TOKEN")
        }
        guard (token.protocol == "tus") == expectTus else {
            throw WixError.permissionDenied(expectTus ? "This is not a resumable upload token" : "Resumable upload tokens must be used with the tus endpoint")
        }
        return token
    }

    func putUpload(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        let token = try decodeToken(try context.parameters.require("token"), expectTus: false)
        let temporary = store.partialPath("put-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        let expected = request.headers[.contentLength].flatMap { Int64($0) }
        if let expected, expected > configuration.maxUploadBytes {
            throw WixError(status: .contentTooLarge, message: "The body is larger than the emulator's limit of \(configuration.maxUploadBytes) bytes", code: "FILE_TOO_LARGE")
        }
        var writer = try BlobWriter(path: temporary)
        let resetAt = await faults.resetPoint(expectedBytes: expected)
        try await receive(request.body, into: &writer, resetAt: resetAt, context: context)
        let written = try writer.finish()
        let contentType = request.headers[.contentType]
        let file = try await storeUpload(
            token: token, from: temporary, digest: written, contentType: contentType, fileName: request.uri.queryParameters.get("filename"))
        return json(["file": renderer.file(file, now: Date())])
    }

    /// Streams a body into `writer`, resetting the connection after `resetAt` bytes when a fault asks for it.
    func receive(_ body: RequestBody, into writer: inout BlobWriter, resetAt: Int64?, context: EmulatorRequestContext) async throws {
        for try await buffer in body {
            if let resetAt, writer.count + Int64(buffer.readableBytes) > resetAt {
                let keep = Int(max(0, resetAt - writer.count))
                try writer.write(buffer.getSlice(at: buffer.readerIndex, length: keep) ?? ByteBuffer())
                await resetConnection(context.channel)
                throw ConnectionResetFault()
            }
            try writer.write(buffer)
            if writer.count > configuration.maxUploadBytes {
                throw WixError(status: .contentTooLarge, message: "The body is larger than the emulator's limit", code: "FILE_TOO_LARGE")
            }
        }
    }

    /// Sends a TCP RST (SO_LINGER 0, then close), as a dropped mobile connection or a proxy timeout would.
    func resetConnection(_ channel: any Channel) async {
        if let provider = channel as? any SocketOptionProvider {
            try? await provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
        }
        try? await channel.close()
    }

    /// Turns received bytes into a stored file: display name, MIME (the token's, or sniffed for octet-stream),
    /// content check, dimensions, processing schedule.
    func storeUpload(
        token: UploadToken, from path: String, digest: (md5: String, sha256: String, count: Int64, head: [UInt8]), contentType: String?, fileName: String?
    ) async throws -> StoredFile {
        let now = Date()
        let name = Self.displayName(fileName ?? token.fileName ?? token.fileId)
        var mime = token.mimeType
        let declared = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if token.mimeType == "application/octet-stream" || declared == "application/octet-stream" {
            mime = MediaKinds.sniff(digest.head) ?? MediaKinds.mime(forFileName: name) ?? token.mimeType
        }
        var file = StoredFile(
            id: token.fileId, displayName: name, parentFolderId: token.parentFolderId, mimeType: mime, mediaType: MediaKinds.mediaType(for: mime),
            hash: digest.md5, sha256: digest.sha256, sizeInBytes: digest.count, isPrivate: token.private, labels: token.labels, siteId: token.siteId,
            createdDate: now, updatedDate: now, sourceUrl: nil, width: nil, height: nil, state: "OK", readyAt: nil, outcome: "READY", failureReason: nil,
            externalOrigin: token.externalOrigin, externalIds: token.externalIds, blob: token.fileId, notified: configuration.webhookURL == nil)
        if let existing = await store.file(token.fileId) { file.createdDate = existing.createdDate }
        try FileManager.default.moveItemReplacing(at: path, to: store.blobPath(token.fileId))
        await finishProcessing(&file, head: digest.head, now: now)
        try await store.put(file)
        return file
    }

    /// Schedules the end of processing: READY or FAILED after the configured delay for the file's media type.
    func finishProcessing(_ file: inout StoredFile, head: [UInt8], now: Date) async {
        if let info = try? ImageHeaders.inspect(FileBytes(path: store.blobPath(file.id))) {
            file.width = info.size.width
            file.height = info.size.height
        }
        let delay: Duration = switch file.mediaType {
        case "IMAGE", "VECTOR": configuration.imageProcessingDelay
        case "VIDEO", "AUDIO": configuration.mediaProcessingDelay
        default: configuration.otherProcessingDelay
        }
        file.readyAt = now.addingTimeInterval(delay.seconds)
        if file.sizeInBytes == 0 {
            file.outcome = "FAILED"
            file.failureReason = "the file is empty"
        } else if let mismatch = MediaKinds.mismatch(declared: file.mimeType, head: head) {
            file.outcome = "FAILED"
            file.failureReason = mismatch
        } else if await faults.processingFails() {
            file.outcome = "FAILED"
            file.failureReason = "processing failed (injected fault)"
        } else {
            file.outcome = "READY"
        }
    }

    /// A display name from a client-supplied name: no folders, no control characters, at most 200 characters.
    static func displayName(_ name: String) -> String {
        let last = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? name
        let clean = String(last.unicodeScalars.filter { !CharacterSet.controlCharacters.contains($0) }.map(Character.init))
        return clean.isEmpty ? "file" : String(clean.prefix(200))
    }

    // MARK: tus 1.0.0 (§3; https://tus.io/protocols/resumable-upload)

    static let tusHeaders: HTTPFields = [.tusResumable: "1.0.0"]

    func tusOptions() -> Response {
        var headers = Self.tusHeaders
        headers[.tusVersion] = "1.0.0"
        headers[.tusExtension] = "creation,termination"
        headers[.tusMaxSize] = String(configuration.maxUploadBytes)
        return Response(status: .noContent, headers: headers)
    }

    func checkTusVersion(_ request: Request) throws {
        guard request.headers[.tusResumable] == "1.0.0" else {
            var error = WixError(status: .preconditionFailed, message: "Tus-Resumable: 1.0.0 is required", code: "TUS_VERSION_UNSUPPORTED")
            error.headers[.tusVersion] = "1.0.0"
            throw error
        }
    }

    /// tus `Upload-Metadata`: comma-separated `key base64value` pairs.
    static func tusMetadata(_ header: String?) -> [String: String] {
        var metadata: [String: String] = [:]
        for pair in (header ?? "").split(separator: ",") {
            let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1)
            guard let key = parts.first else { continue }
            let value = parts.count > 1 ? Data(base64Encoded: String(parts[1])).map { String(decoding: $0, as: UTF8.self) } ?? "" : ""
            metadata[String(key)] = value
        }
        return metadata
    }

    func tusCreate(_ request: Request) async throws -> Response {
        try checkTusVersion(request)
        if request.headers[.uploadDeferLength] != nil {
            throw WixError(status: .badRequest, message: "Upload-Defer-Length is not supported; send Upload-Length", code: "TUS_DEFER_UNSUPPORTED")
        }
        guard let lengthText = request.headers[.uploadLength], let length = Int64(lengthText), length >= 0 else {
            throw WixError(status: .badRequest, message: "Upload-Length is required", code: "TUS_LENGTH_REQUIRED")
        }
        guard length <= configuration.maxUploadBytes else {
            throw WixError(status: .contentTooLarge, message: "Upload-Length exceeds Tus-Max-Size \(configuration.maxUploadBytes)", code: "FILE_TOO_LARGE")
        }
        let metadata = Self.tusMetadata(request.headers[.uploadMetadata])
        guard let tokenText = metadata["token"], !tokenText.isEmpty else {
            throw WixError.unauthenticated("Upload-Metadata must carry the uploadToken as `token`")
        }
        let token = try decodeToken(tokenText, expectTus: true)
        if let existing = await store.upload(forToken: tokenText), existing.finalizedFileId != nil {
            throw WixError(status: .conflict, message: "This upload token was already used", code: "ALREADY_EXISTS")
        }
        let upload = TusUpload(id: EmulatorStore.hexID(), token: tokenText, length: length, metadata: metadata, createdDate: Date(), finalizedFileId: nil)
        _ = token
        guard FileManager.default.createFile(atPath: store.partialPath(upload.id), contents: nil) else {
            throw WixError(status: .internalServerError, message: "Cannot create the upload's file", code: "INTERNAL")
        }
        try await store.put(upload)
        var headers = Self.tusHeaders
        headers[.location] = "\(base.url)/upload/tus/\(upload.id)"
        return Response(status: .created, headers: headers)
    }

    func tusUpload(_ context: EmulatorRequestContext) async throws -> TusUpload {
        let id = try context.parameters.require("id")
        guard let upload = await store.upload(id) else {
            throw WixError(status: .notFound, message: "Upload \(id) not found", code: "NOT_FOUND", headers: Self.tusHeaders)
        }
        _ = try decodeToken(upload.token, expectTus: true)
        return upload
    }

    func tusHead(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        try checkTusVersion(request)
        let upload = try await tusUpload(context)
        var headers = Self.tusHeaders
        headers[.uploadOffset] = String(fileSize(store.partialPath(upload.id)))
        headers[.uploadLength] = String(upload.length)
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers)
    }

    func tusPatch(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        try checkTusVersion(request)
        guard request.headers[.contentType]?.lowercased() == "application/offset+octet-stream" else {
            throw WixError(status: .unsupportedMediaType, message: "PATCH needs Content-Type: application/offset+octet-stream", code: "TUS_CONTENT_TYPE", headers: Self.tusHeaders)
        }
        let upload = try await tusUpload(context)
        guard let offsetText = request.headers[.uploadOffset], let offset = Int64(offsetText) else {
            throw WixError(status: .badRequest, message: "Upload-Offset is required", code: "TUS_OFFSET_REQUIRED", headers: Self.tusHeaders)
        }
        guard upload.finalizedFileId == nil else {
            throw WixError(status: .conflict, message: "The upload was already finalized", code: "ALREADY_EXISTS", headers: Self.tusHeaders)
        }
        guard await store.beginPatch(upload.id) else {
            throw WixError(status: .conflict, message: "Another PATCH for this upload is in progress", code: "TUS_LOCKED", headers: Self.tusHeaders)
        }
        let path = store.partialPath(upload.id)
        do {
            let current = fileSize(path)
            guard offset == current else {
                throw WixError(status: .conflict, message: "Upload-Offset \(offset) does not match the server's offset \(current)", code: "TUS_OFFSET_MISMATCH", headers: Self.tusHeaders)
            }
            var writer = try BlobWriter(path: path, append: true)
            let remaining = upload.length - current
            let chunk = request.headers[.contentLength].flatMap { Int64($0) }
            if let chunk, chunk > remaining {
                throw WixError(status: .contentTooLarge, message: "The chunk goes past Upload-Length", code: "TUS_LENGTH_EXCEEDED", headers: Self.tusHeaders)
            }
            let resetAt = await faults.resetPoint(expectedBytes: chunk ?? remaining)
            for try await buffer in request.body {
                if let resetAt, writer.count + Int64(buffer.readableBytes) > resetAt {
                    // The bytes received before the reset stay: tus servers keep partial PATCH data so clients resume.
                    try writer.write(buffer.getSlice(at: buffer.readerIndex, length: Int(max(0, resetAt - writer.count))) ?? ByteBuffer())
                    _ = try? writer.finish()
                    await resetConnection(context.channel)
                    throw ConnectionResetFault()
                }
                guard writer.count + Int64(buffer.readableBytes) <= remaining else {
                    throw WixError(status: .contentTooLarge, message: "The chunk goes past Upload-Length", code: "TUS_LENGTH_EXCEEDED", headers: Self.tusHeaders)
                }
                try writer.write(buffer)
            }
            _ = try writer.finish()
            await store.endPatch(upload.id)
        } catch {
            await store.endPatch(upload.id)
            throw error
        }
        var headers = Self.tusHeaders
        headers[.uploadOffset] = String(fileSize(path))
        return Response(status: .noContent, headers: headers)
    }

    func tusDelete(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        try checkTusVersion(request)
        let upload = try await tusUpload(context)
        await store.removeUpload(upload.id)
        return Response(status: .noContent, headers: Self.tusHeaders)
    }

    /// `PUT {uploadUrl}/{uploadToken}?filename=…` (§3 step 3): turns a complete tus upload into a file. Idempotent:
    /// finalizing twice returns the same descriptor.
    func tusFinalize(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        let tokenText = try context.parameters.require("id")
        let token = try decodeToken(tokenText, expectTus: true)
        guard var upload = await store.upload(forToken: tokenText) else {
            throw WixError(status: .badRequest, message: "No tus upload was created with this token", code: "UPLOAD_NOT_FOUND")
        }
        if let fileID = upload.finalizedFileId, let file = await store.file(fileID) {
            return json(["file": renderer.file(file, now: Date())])
        }
        let path = store.partialPath(upload.id)
        let received = fileSize(path)
        guard received == upload.length else {
            throw WixError(status: .badRequest, message: "The upload is incomplete: \(received) of \(upload.length) bytes received", code: "UPLOAD_INCOMPLETE")
        }
        let digest = try hashFile(path)
        let fileName = request.uri.queryParameters.get("filename") ?? upload.metadata["filename"]
        let contentType = upload.metadata["contentType"] ?? upload.metadata["filetype"]
        let file = try await storeUpload(token: token, from: path, digest: digest, contentType: contentType, fileName: fileName)
        upload.finalizedFileId = file.id
        try await store.put(upload)
        return json(["file": renderer.file(file, now: Date())])
    }

    // MARK: Import (§4)

    func importFile(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        let object = try await jsonObject(request, context)
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
        if let url, !url.isEmpty, !(url.hasPrefix("http://") || url.hasPrefix("https://")) || URL(string: url)?.host == nil {
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
                status: .badRequest, message: "Cannot tell the file type: send mimeType, or a displayName or URL with an extension",
                code: "UNKNOWN_FILE_TYPE")
        }
        if let mediaType, mediaType != "UNKNOWN", MediaKinds.mediaType(for: mime) != mediaType {
            throw WixError.invalid(field: "mediaType", "\(mediaType) does not match the file type \(mime)", rule: "FORMAT")
        }
        let parent = try await resolveFolder(parentFolderId: parentFolderId, filePath: filePath)
        let now = Date()
        let id = Self.fileID(siteID: configuration.siteID, mime: mime, fileName: name)
        let file = StoredFile(
            id: id, displayName: name, parentFolderId: parent, mimeType: mime, mediaType: MediaKinds.mediaType(for: mime), hash: "", sha256: "",
            sizeInBytes: 0, isPrivate: isPrivate, labels: labels, siteId: configuration.siteID, createdDate: now, updatedDate: now, sourceUrl: url,
            width: nil, height: nil, state: "OK", readyAt: nil, outcome: "READY", failureReason: nil, externalOrigin: external.origin,
            externalIds: external.ids, blob: nil, notified: configuration.webhookURL == nil)
        try await store.put(file)
        jobs.yield(.importFile(id: id, url: url, headers: urlHeaders))
        return json(["file": renderer.file(file, now: now)])
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
            guard (200..<300).contains(response.status.code) else { throw ImportFailure(reason: "the URL answered \(response.status.code)") }
            var writer = try BlobWriter(path: temporary)
            for try await buffer in response.body {
                try writer.write(buffer)
                if writer.count > configuration.maxUploadBytes { throw ImportFailure(reason: "the file is larger than the emulator's limit") }
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

    // MARK: Descriptors and listing (§5)

    func fileResponse(_ rawID: String) async throws -> Response {
        guard let file = await store.file(Self.fileID(fromReference: rawID)), file.state == "OK" else {
            throw WixError.notFound("Entity not found")
        }
        return json(["file": renderer.file(file, now: Date())])
    }

    /// A file id from an id or a `wix:image://v1/<id>/<name>#…` media URL.
    static func fileID(fromReference reference: String) -> String {
        guard reference.hasPrefix("wix:"), let range = reference.range(of: "/v1/") else { return reference }
        return String(reference[range.upperBound...].prefix { $0 != "/" && $0 != "#" })
    }

    func getFiles(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        var fields = FieldReader(try await jsonObject(request, context))
        let ids = fields.strings("fileIds", maxItems: 100, maxLength: 1000)
        guard fields.violations.isEmpty, let ids, !ids.isEmpty else {
            throw WixError.invalid(fields.violations.isEmpty ? [.init(field: "fileIds", description: "is required", violatedRule: "REQUIRED_FIELD")] : fields.violations)
        }
        let now = Date()
        var found: [[String: Any]] = []
        for id in ids {
            if let file = await store.file(Self.fileID(fromReference: id)), file.state == "OK" { found.append(renderer.file(file, now: now)) }
        }
        return json(["files": found])
    }

    /// `GET /site-media/v1/files`: files of one folder (default `media-root`), filtered by `mediaTypes` and
    /// `private`, sorted by `sort.fieldName` (`createdDate`, `updatedDate`, `displayName`, `sizeInBytes`), paged by
    /// an opaque cursor (`paging.limit` ≤ 100, default 50).
    func listFiles(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let parent = query.get("parentFolderId") ?? "media-root"
        let mediaTypes = Set<String>(query.getAll("mediaTypes").map { String($0) })
        let privateFilter = query.get("private").map { $0 == "true" }
        let limitText = query.get("paging.limit")
        let limit = limitText.flatMap(Int.init) ?? 50
        guard (1...100).contains(limit) else { throw WixError.invalid(field: "paging.limit", "must be between 1 and 100", rule: "RANGE") }
        var offset = 0
        if let cursor = query.get("paging.cursor"), !cursor.isEmpty {
            guard let data = UploadToken.data(base64URL: cursor), let value = Int(String(decoding: data, as: UTF8.self).replacingOccurrences(of: "offset:", with: "")) else {
                throw WixError.invalid(field: "paging.cursor", "is not a cursor this server issued", rule: "FORMAT")
            }
            offset = value
        }
        let field = query.get("sort.fieldName") ?? "updatedDate"
        let descending = (query.get("sort.order") ?? "DESC").uppercased() != "ASC"
        var files = await store.allFiles().filter { file in
            file.parentFolderId == parent && file.state == "OK" && (mediaTypes.isEmpty || mediaTypes.contains(file.mediaType))
                && (privateFilter == nil || privateFilter == file.isPrivate)
        }
        files.sort { a, b in
            let ordered = Self.precedes(a, b, by: field)
            return descending ? !ordered : ordered
        }
        let page = files.dropFirst(offset).prefix(limit)
        let now = Date()
        let next: Any = offset + page.count < files.count ? UploadToken.base64URL(Data("offset:\(offset + page.count)".utf8)) : NSNull()
        return json(["files": page.map { renderer.file($0, now: now) }, "nextCursor": ["cursors": ["next": next]]])
    }

    /// Sort order for listings, ties broken by id so paging is stable.
    static func precedes(_ a: StoredFile, _ b: StoredFile, by field: String) -> Bool {
        switch field {
        case "createdDate": if a.createdDate != b.createdDate { return a.createdDate < b.createdDate }
        case "displayName": if a.displayName != b.displayName { return a.displayName < b.displayName }
        case "sizeInBytes": if a.sizeInBytes != b.sizeInBytes { return a.sizeInBytes < b.sizeInBytes }
        default: if a.updatedDate != b.updatedDate { return a.updatedDate < b.updatedDate }
        }
        return a.id < b.id
    }

    // MARK: Folders (§9)

    func createFolder(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        var fields = FieldReader(try await jsonObject(request, context))
        let name = fields.string("displayName", required: true, maxLength: 200)
        let parent = fields.string("parentFolderId", maxLength: 100) ?? "media-root"
        guard fields.violations.isEmpty, let name else { throw WixError.invalid(fields.violations) }
        guard await store.folderExists(parent) else { throw WixError(status: .notFound, message: "Folder \(parent) not found", code: "FOLDER_NOT_FOUND") }
        let folder = try await store.createFolder(displayName: name, parent: parent, now: Date())
        return json(["folder": renderer.folder(folder)])
    }

    // MARK: Serving bytes

    func serveFile(_ id: String, _ context: EmulatorRequestContext) async throws -> Response {
        guard let file = await store.file(id), file.blob != nil, file.state == "OK" else { throw HTTPError(.notFound) }
        guard !file.isPrivate else { throw HTTPError(.forbidden, message: "private file") }
        let body = try await FileIO().loadFile(path: store.blobPath(id), context: context)
        return Response(status: .ok, headers: [.contentType: file.mimeType, .contentLength: String(file.sizeInBytes)], body: body)
    }

    // MARK: Admin

    /// One stored file as the admin listing shows it.
    struct AdminFile: Encodable {
        var id, displayName, mimeType, mediaType, sizeInBytes, md5, sha256, operationStatus, parentFolderId, createdDate: String
        var failureReason, sourceUrl, externalOrigin: String?
        var externalIds: [String]?
        var labels: [String]
        var `private`: Bool
        var width, height: Int?
    }

    func adminFiles() async throws -> Response {
        let now = Date()
        let files = await store.allFiles().sorted { $0.createdDate == $1.createdDate ? $0.id < $1.id : $0.createdDate < $1.createdDate }
        let rows = files.map { file in
            AdminFile(
                id: file.id, displayName: file.displayName, mimeType: file.mimeType, mediaType: file.mediaType, sizeInBytes: String(file.sizeInBytes),
                md5: file.hash, sha256: file.sha256, operationStatus: file.operationStatus(at: now), parentFolderId: file.parentFolderId,
                createdDate: DescriptorRenderer.date(file.createdDate), failureReason: file.failureReason, sourceUrl: file.sourceUrl,
                externalOrigin: file.externalOrigin, externalIds: file.externalIds, labels: file.labels, private: file.isPrivate, width: file.width,
                height: file.height)
        }
        struct Listing: Encodable {
            var files: [AdminFile]
            var count: Int
        }
        return try encodedJSON(Listing(files: rows, count: rows.count))
    }

    // MARK: Helpers

    func jsonObject(_ request: Request, _ context: EmulatorRequestContext) async throws -> [String: Any] {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        let data = Data(buffer.readableBytesView)
        guard !data.isEmpty else { return [:] }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw WixError.invalid(field: "body", "must be a JSON object", rule: "FORMAT")
        }
        return object
    }
}

/// The connection was reset on purpose (fault injection); the response is never sent.
struct ConnectionResetFault: Error {}

/// An import's URL could not be fetched.
struct ImportFailure: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

func encodedJSON(_ value: some Encodable) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    var seconds: TimeInterval { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension FileManager {
    /// Moves `source` to `destination`, replacing what is there (rename(2): atomic within one file system).
    func moveItemReplacing(at source: String, to destination: String) throws {
        guard rename(source, destination) == 0 else { throw EmulatorIOError(path: destination, operation: "rename", code: errno) }
    }
}
