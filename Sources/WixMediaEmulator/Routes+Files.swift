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

extension EmulatorRoutes {
    /// `/site-media/v1/files`: upload URLs, import, descriptors, listing.
    func fileRoutes() -> RouteCollection<EmulatorRequestContext> {
        let files = RouteCollection(context: EmulatorRequestContext.self)
        files.post("generate-upload-url") { request, context in
            try await generateUploadURL(request, context, resumable: false)
        }
        files.post("generate-resumable-upload-url") { request, context in
            try await generateUploadURL(request, context, resumable: true)
        }
        files.post("import") { request, context in try await importFile(request, context) }
        files.get("get-file-by-id") { request, _ in
            guard let fileID = request.uri.queryParameters.get("fileId"), !fileID.isEmpty else {
                throw WixError.invalid(field: "fileId", "is required", rule: "REQUIRED_FIELD")
            }
            guard fileID.count <= 1000 else {
                throw WixError.invalid(field: "fileId", "must be at most 1000 characters", rule: "MAX_LENGTH")
            }
            return try await fileResponse(fileID)
        }
        files.post("get-files") { request, context in try await getFiles(request, context) }
        files.post("search") { request, context in try await searchFiles(request, context) }
        files.get("{fileId}") { _, context in try await fileResponse(context.parameters.require("fileId")) }
        files.get { request, _ in try await listFiles(request) }
        return files
    }

    /// `/site-media/v1/bulk`: Bulk Delete Files, Bulk Import File, Bulk Delete Folders.
    func bulkRoutes() -> RouteCollection<EmulatorRequestContext> {
        let bulk = RouteCollection(context: EmulatorRequestContext.self)
        bulk.post("files/delete") { request, context in try await deleteFiles(request, context) }
        bulk.post("files/import-v2") { request, context in try await bulkImport(request, context) }
        bulk.post("folders/delete") { request, context in try await deleteFolders(request, context) }
        bulk.delete("folders") { request, context in try await deleteFolders(request, context) }
        return bulk
    }

    // MARK: Generate upload URL (§1, §3)

    func generateUploadURL(
        _ request: Request, _ context: EmulatorRequestContext, resumable: Bool
    ) async throws -> Response {
        var fields = FieldReader(try await jsonObject(request, context))
        let mimeType = fields.string("mimeType", required: true, maxLength: 100)
        let fileName = fields.string("fileName", maxLength: 200)
        let sizeInBytes = fields.int64String(
            "sizeInBytes", acceptNumber: await !faults.settings.sizeAsStringOnly)
        let parentFolderId = fields.string("parentFolderId", maxLength: 100)
        let isPrivate = fields.bool("private") ?? false
        let labels = fields.strings("labels", maxItems: resumable ? 500 : 50, maxLength: 200) ?? []
        let filePath = fields.string("filePath", maxLength: 100)
        var external = fields.externalInfo()
        if resumable, await faults.settings.ignoreResumableExternalInfo { external = (nil, nil) }
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
            jti: UUID().uuidString.lowercased(), aud: "urn:service:upload", iss: "urn:app:wix-media-emulator",
            iat: Int64(now.timeIntervalSince1970),
            exp: Int64(now.timeIntervalSince1970 + lifetime.seconds), path: "media/\(fileID)", fileId: fileID,
            mimeType: mimeType,
            fileName: fileName, sizeInBytes: sizeInBytes, parentFolderId: parent, filePath: filePath, labels: labels,
            private: isPrivate,
            externalOrigin: external.origin, externalIds: external.ids, siteId: configuration.siteID,
            acl: isPrivate ? "private" : "public",
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
        return try await store.folder(
            forPath: filePath, under: parent, now: Date(),
            caseInsensitive: await faults.settings.caseInsensitiveFolderNames)
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

    // MARK: Descriptors and listing (§5)

    func fileResponse(_ rawID: String) async throws -> Response {
        guard let file = await store.file(Self.fileID(fromReference: rawID)), file.state == "OK" else {
            throw WixError.notFound("Entity not found")
        }
        return json(["file": await fileRenderer().file(file, now: Date())])
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
            throw WixError.invalid(
                fields.violations.isEmpty
                    ? [.init(field: "fileIds", description: "is required", violatedRule: "REQUIRED_FIELD")]
                    : fields.violations)
        }
        let now = Date()
        let renderer = await fileRenderer()
        let strict = await faults.settings.strictGetFiles
        var found: [[String: Any]] = []
        for id in ids {
            if let file = await store.file(Self.fileID(fromReference: id)), file.state == "OK" {
                found.append(renderer.file(file, now: now))
            } else if strict {
                // The stricter reading of an undocumented case: one unknown id fails the whole batch.
                throw WixError.notFound("Entity not found: \(id)")
            }
        }
        return json(["files": found])
    }

    /// `GET /site-media/v1/files`: files of one folder (default `media-root`; `trash-root` lists the trash), filtered
    /// by `mediaTypes` and `private`, sorted by `sort.fieldName` (`updatedDate`, `displayName`, `sizeInBytes`; also
    /// `createdDate` unless `documentedSortsOnly`), paged by an opaque cursor (`paging.limit` ≤ 100, default 50).
    func listFiles(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let parent = query.get("parentFolderId") ?? "media-root"
        let mediaTypes = Set<String>(query.getAll("mediaTypes").map { String($0) })
        let privateFilter = query.get("private").map { $0 == "true" }
        let (limit, offset) = try Self.pagingWindow(
            limit: query.get("paging.limit"), cursor: Self.formValue(request.uri.query, "paging.cursor"))
        let opaque = await faults.settings.opaqueCursors
        let field = query.get("sort.fieldName") ?? "updatedDate"
        if await faults.settings.documentedSortsOnly { try Self.requireDocumentedSort(field) }
        let descending = (query.get("sort.order") ?? "DESC").uppercased() != "ASC"
        let lag = await faults.settings.listingLagSeconds
        let now = Date()
        var files = await store.allFiles().filter { file in
            file.parentFolderId == parent && file.state == "OK" && Self.listed(file, now: now, lag: lag)
                && (mediaTypes.isEmpty || mediaTypes.contains(file.mediaType))
                && (privateFilter == nil || privateFilter == file.isPrivate)
        }
        files.sort { a, b in
            let ordered = Self.precedes(a, b, by: field)
            return descending ? !ordered : ordered
        }
        let page = files.dropFirst(offset).prefix(limit)
        let hasNext = offset + page.count < files.count
        let next: Any = hasNext ? Self.cursor(offset: offset + page.count, opaque: opaque) : NSNull()
        let renderer = await fileRenderer()
        return json([
            "files": page.map { renderer.file($0, now: now) },
            "nextCursor": ["cursors": ["next": next], "hasNext": hasNext],
        ])
    }

    /// The page a listing asks for: `paging.limit` (1…100, default 50) and where its cursor points.
    static func pagingWindow(limit text: String?, cursor: String?) throws -> (limit: Int, offset: Int) {
        let limit = text.flatMap(Int.init) ?? 50
        guard (1...100).contains(limit) else {
            throw WixError.invalid(field: "paging.limit", "must be between 1 and 100", rule: "RANGE")
        }
        guard let cursor, !cursor.isEmpty else { return (limit, 0) }
        guard let offset = cursorOffset(cursor) else {
            throw WixError.invalid(field: "paging.cursor", "is not a cursor this server issued", rule: "FORMAT")
        }
        return (limit, offset)
    }

    /// A query parameter decoded as `application/x-www-form-urlencoded` does: `+` is a space, then percent-decoding.
    /// (So an opaque cursor sent without percent-encoding loses its `+` signs.)
    static func formValue(_ query: String?, _ name: String) -> String? {
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == name else { continue }
            return String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
        return nil
    }

    /// A list cursor: base64url of `offset:N`, or (opaque) standard base64 of three bytes that encode as `+/+/`
    /// followed by it, padded — a `+`, a `/` and an `=` in every cursor.
    static func cursor(offset: Int, opaque: Bool) -> String {
        let text = Data("offset:\(offset)".utf8)
        guard opaque else { return UploadToken.base64URL(text) }
        var encoded = (Data([0xFB, 0xFF, 0xBF]) + text).base64EncodedString()
        if !encoded.hasSuffix("=") { encoded = (Data([0xFB, 0xFF, 0xBF]) + text + Data([0x20])).base64EncodedString() }
        if !encoded.hasSuffix("=") {
            encoded = (Data([0xFB, 0xFF, 0xBF]) + text + Data([0x20, 0x20])).base64EncodedString()
        }
        return encoded
    }

    /// The offset in a cursor either form issued (`nil` for anything else, such as an opaque cursor whose `+` a
    /// client left unencoded, so that it arrived as a space).
    static func cursorOffset(_ cursor: String) -> Int? {
        let data: Data?
        if cursor.hasPrefix("+/+/") {
            data = Data(base64Encoded: cursor).map { Data($0.dropFirst(3)) }
        } else {
            data = UploadToken.data(base64URL: cursor)
        }
        guard let data else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("offset:") else { return nil }
        return Int(text.dropFirst("offset:".count))
    }

    /// The sort fields Wix's docs list (`updatedDate`, `displayName`, `sizeInBytes`); anything else is refused under
    /// `documentedSortsOnly` with 400, as a client relying on an undocumented field must expect.
    static func requireDocumentedSort(_ field: String) throws {
        guard ["updatedDate", "displayName", "sizeInBytes"].contains(field) else {
            throw WixError.invalid(
                field: "sort.fieldName", "\(field) is not a sortable field (updatedDate, displayName, sizeInBytes)",
                rule: "ENUM")
        }
    }

    /// Whether a listing shows `file` yet: only once `lag` seconds have passed since it was created
    /// (`listingLagSeconds`: Wix does not promise read-your-writes listings).
    static func listed(_ file: StoredFile, now: Date, lag: Double) -> Bool {
        lag <= 0 || now.timeIntervalSince(file.createdDate) >= lag
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

    // MARK: Bulk delete

    /// `POST /site-media/v1/bulk/files/delete {fileIds, permanent}`: to the trash, or for good. Unknown ids and files
    /// already in the trash are no error (as documented).
    func deleteFiles(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        let object = try await jsonObject(request, context)
        var fields = FieldReader(object)
        let ids = fields.strings("fileIds", maxItems: 1000, maxLength: 1000)
        let permanent = fields.bool("permanent") ?? false
        guard fields.violations.isEmpty, let ids, !ids.isEmpty else {
            throw WixError.invalid(
                fields.violations.isEmpty
                    ? [.init(field: "fileIds", description: "is required", violatedRule: "REQUIRED_FIELD")]
                    : fields.violations)
        }
        for id in ids { try await store.delete(Self.fileID(fromReference: id), permanently: permanent, now: Date()) }
        return json([:])
    }
}
