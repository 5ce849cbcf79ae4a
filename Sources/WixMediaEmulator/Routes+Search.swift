import Foundation
import Hummingbird

extension EmulatorRoutes {
    /// `POST /site-media/v1/files/search {search, rootFolder, mediaTypes, private, sort, paging}` (§5): files in every
    /// folder under a root (`MEDIA_ROOT`, the default: everything not in the trash; `TRASH_ROOT`), whose display name,
    /// MIME type or a label contains the term (case-insensitively; no term: all of them), sorted by `displayName` or
    /// `updatedDate` (default, descending) and paged by cursor (`paging.limit` ≤ 100, default 50).
    func searchFiles(_ request: Request, _ context: EmulatorRequestContext) async throws -> Response {
        let object = try await jsonObject(request, context)
        var fields = FieldReader(object)
        let term = fields.string("search", maxLength: 200)?.lowercased()
        let root = fields.string("rootFolder", maxLength: 40) ?? "MEDIA_ROOT"
        let mediaTypes = Set(fields.strings("mediaTypes", maxItems: 10, maxLength: 20) ?? [])
        let privateFilter = fields.bool("private")
        let (sortField, order, limitText, cursor) = Self.sortAndPaging(object, &fields)
        guard ["MEDIA_ROOT", "TRASH_ROOT", "VISITOR_UPLOADS_ROOT"].contains(root) else {
            throw WixError.invalid(
                field: "rootFolder", "must be MEDIA_ROOT, TRASH_ROOT or VISITOR_UPLOADS_ROOT", rule: "ENUM")
        }
        if let sortField, !["displayName", "updatedDate"].contains(sortField) {
            fields.violation("sort.fieldName", "must be displayName or updatedDate", rule: "ENUM")
        }
        if await faults.settings.documentedSortsOnly, let sortField {
            try Self.requireDocumentedSort(sortField)
        }
        guard fields.violations.isEmpty else { throw WixError.invalid(fields.violations) }
        let (limit, offset) = try Self.pagingWindow(limit: limitText, cursor: cursor)
        let folders = await store.allFolders()
        let now = Date()
        let lag = await faults.settings.listingLagSeconds
        var files = await store.allFiles().filter { file in
            file.state == "OK" && (root == "TRASH_ROOT") == (file.parentFolderId == "trash-root")
                && Self.listed(file, now: now, lag: lag)
                && (mediaTypes.isEmpty || mediaTypes.contains(file.mediaType))
                && (privateFilter == nil || privateFilter == file.isPrivate)
                && (root != "VISITOR_UPLOADS_ROOT" || file.parentFolderId == "visitor-uploads"
                    || folders.first(where: { $0.id == file.parentFolderId }).map {
                        Self.isUnder($0, "visitor-uploads", in: folders)
                    } == true)
                && (term.map { term in
                    file.displayName.lowercased().contains(term) || file.mimeType.lowercased().contains(term)
                        || file.labels.contains { $0.lowercased().contains(term) }
                } ?? true)
        }
        let descending = (order ?? "DESC").uppercased() != "ASC"
        files.sort { a, b in
            let ordered = Self.precedes(a, b, by: sortField ?? "updatedDate")
            return descending ? !ordered : ordered
        }
        let page = files.dropFirst(offset).prefix(limit)
        let hasNext = offset + page.count < files.count
        let opaque = await faults.settings.opaqueCursors
        let next: Any = hasNext ? Self.cursor(offset: offset + page.count, opaque: opaque) : ""
        let renderer = await fileRenderer()
        return json([
            "files": page.map { renderer.file($0, now: now) },
            "nextCursor": ["cursors": ["next": next], "hasNext": hasNext],
        ])
    }
}
