import Foundation
import HTTPTypes
import Hummingbird

extension EmulatorRoutes {
    /// `/site-media/v1/folders` (§9): Create Folder, Get Folder, List Folders, Search Folders.
    func folderRoutes() -> RouteCollection<EmulatorRequestContext> {
        let folders = RouteCollection(context: EmulatorRequestContext.self)
        folders.post { request, context in try await createFolder(request, context) }
        folders.post("search") { request, context in try await searchFolders(request, context) }
        folders.get("{folderId}") { _, context in
            let id = try context.parameters.require("folderId")
            guard let folder = await store.folder(id), folder.state == "OK" else {
                throw WixError.notFound("Entity not found")
            }
            return json(["folder": renderer.folder(folder)])
        }
        folders.get { request, _ in try await listFolders(request) }
        return folders
    }

    /// `POST /site-media/v1/folders {displayName, parentFolderId}` → `{folder}`: the parent (default `media-root`) must
    /// exist; the name is at most 256 characters (the Folder object's limit). Two folders may share a name in one
    /// parent unless `uniqueFolderNames` (then 409 `ALREADY_EXISTS`).
    func createFolder(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        var fields = FieldReader(try await jsonObject(request, context))
        let name = fields.string("displayName", required: true, maxLength: 256)
        let parent = fields.string("parentFolderId", maxLength: 100).flatMap { $0.isEmpty ? nil : $0 } ?? "media-root"
        if let name, name.contains(where: { $0.isNewline || $0 == "\0" }) {
            fields.violation("displayName", "must not contain line breaks or NUL", rule: "FORMAT")
        }
        guard fields.violations.isEmpty, let name else { throw WixError.invalid(fields.violations) }
        guard await store.folderExists(parent) else {
            throw WixError(status: .notFound, message: "Folder \(parent) not found", code: "FOLDER_NOT_FOUND")
        }
        let settings = await faults.settings
        guard
            let folder = try await store.createFolder(
                displayName: name, parent: parent, now: Date(), unique: settings.uniqueFolderNames,
                caseInsensitive: settings.caseInsensitiveFolderNames)
        else {
            throw WixError(
                status: .conflict, message: "A folder named \(name) already exists in \(parent)",
                code: "ALREADY_EXISTS")
        }
        return json(["folder": renderer.folder(folder)])
    }

    /// `GET /site-media/v1/folders?parentFolderId=&sort.fieldName=&sort.order=&paging.limit=&paging.cursor=`: the
    /// folders of one parent (default `media-root`), sorted (`displayName`, `createdDate`, `updatedDate`; default
    /// `updatedDate` descending) and paged by the same opaque cursors as List Files (`paging.limit` ≤ 100, default 50).
    func listFolders(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let parent = query.get("parentFolderId").flatMap { $0.isEmpty ? nil : $0 } ?? "media-root"
        let folders = await store.allFolders().filter { $0.parentFolderId == parent && $0.state == "OK" }
        return try await page(
            folders, key: "folders", limitText: query.get("paging.limit"),
            cursor: Self.formValue(request.uri.query, "paging.cursor"),
            sortField: query.get("sort.fieldName"), order: query.get("sort.order"))
    }

    /// `POST /site-media/v1/folders/search {search, rootFolder, sort, paging}`: folders anywhere under a root
    /// (`MEDIA_ROOT`, the default, or `TRASH_ROOT`) whose name contains the term (case-insensitively).
    func searchFolders(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        let object = try await jsonObject(request, context)
        var fields = FieldReader(object)
        let term = fields.string("search", maxLength: 200)?.lowercased()
        let root = fields.string("rootFolder", maxLength: 40) ?? "MEDIA_ROOT"
        let (sortField, order, limit, cursor) = Self.sortAndPaging(object, &fields)
        guard ["MEDIA_ROOT", "TRASH_ROOT", "VISITOR_UPLOADS_ROOT"].contains(root) else {
            throw WixError.invalid(
                field: "rootFolder", "must be MEDIA_ROOT, TRASH_ROOT or VISITOR_UPLOADS_ROOT", rule: "ENUM")
        }
        guard fields.violations.isEmpty else { throw WixError.invalid(fields.violations) }
        let all = await store.allFolders()
        let folders = all.filter { folder in
            (term.map { folder.displayName.lowercased().contains($0) } ?? true)
                && (root == "TRASH_ROOT" ? folder.state == "DELETED" : folder.state == "OK")
                && (root != "VISITOR_UPLOADS_ROOT" || Self.isUnder(folder, "visitor-uploads", in: all))
        }
        return try await page(
            folders, key: "folders", limitText: limit, cursor: cursor, sortField: sortField, order: order)
    }

    /// `POST /site-media/v1/bulk/folders/delete {folderIds, permanent}` (also `DELETE /site-media/v1/bulk/folders`, the
    /// 2023 spelling): to the trash with their files and subfolders, or for good. Unknown ids are no error.
    func deleteFolders(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        var fields = FieldReader(try await jsonObject(request, context))
        let ids = fields.strings("folderIds", maxItems: 1000, maxLength: 100)
        let permanent = fields.bool("permanent") ?? false
        guard fields.violations.isEmpty, let ids, !ids.isEmpty else {
            throw WixError.invalid(
                fields.violations.isEmpty
                    ? [.init(field: "folderIds", description: "is required", violatedRule: "REQUIRED_FIELD")]
                    : fields.violations)
        }
        for id in ids { try await store.deleteFolder(id, permanently: permanent, now: Date()) }
        return json([:])
    }

    // MARK: Paging

    /// Sort and paging of a search body: `sort {fieldName, order}`, `paging {limit, cursor}`.
    static func sortAndPaging(
        _ object: [String: Any], _ fields: inout FieldReader
    ) -> (field: String?, order: String?, limit: String?, cursor: String?) {
        let sort = object["sort"] as? [String: Any]
        let paging = object["paging"] as? [String: Any]
        if object["sort"] != nil && sort == nil { fields.violation("sort", "must be an object", rule: "FORMAT") }
        if object["paging"] != nil && paging == nil { fields.violation("paging", "must be an object", rule: "FORMAT") }
        let limit = (paging?["limit"] as? NSNumber).map { "\($0.intValue)" }
        return (sort?["fieldName"] as? String, sort?["order"] as? String, limit, paging?["cursor"] as? String)
    }

    /// One page of folders, sorted, with `nextCursor {cursors {next}, hasNext}`.
    func page(
        _ folders: [StoredFolder], key: String, limitText: String?, cursor: String?, sortField: String?,
        order: String?
    ) async throws -> Response {
        let (limit, offset) = try Self.pagingWindow(limit: limitText, cursor: cursor)
        let field = sortField ?? "updatedDate"
        let descending = (order ?? "DESC").uppercased() != "ASC"
        let sorted = folders.sorted { a, b in
            let ordered: Bool
            switch field {
            case "displayName": ordered = a.displayName == b.displayName ? a.id < b.id : a.displayName < b.displayName
            case "createdDate": ordered = a.createdDate == b.createdDate ? a.id < b.id : a.createdDate < b.createdDate
            default: ordered = a.updatedDate == b.updatedDate ? a.id < b.id : a.updatedDate < b.updatedDate
            }
            return descending ? !ordered : ordered
        }
        let page = sorted.dropFirst(offset).prefix(limit)
        let hasNext = offset + page.count < sorted.count
        let opaque = await faults.settings.opaqueCursors
        let next: Any = hasNext ? Self.cursor(offset: offset + page.count, opaque: opaque) : ""
        return json([key: page.map(renderer.folder), "nextCursor": ["cursors": ["next": next], "hasNext": hasNext]])
    }

    /// Whether `folder` lies under the folder `ancestor`.
    static func isUnder(_ folder: StoredFolder, _ ancestor: String, in all: [StoredFolder]) -> Bool {
        let byID = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var current = folder.parentFolderId
        for _ in 0..<1000 {
            if current == ancestor { return true }
            guard let parent = byID[current] else { return false }
            current = parent.parentFolderId
        }
        return false
    }
}
