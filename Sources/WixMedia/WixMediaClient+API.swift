import Foundation
import Logging
import MediaIngest
import NIOHTTP1
import Synchronization

/// What a client remembers during a run: the file ids it uploaded or recovered (a lookup never hands the same file to
/// two assets) and what its answered uploads showed `hash` to be. Folder ids are the ``FolderDirectory``'s.
final class ClientMemory: Sendable {
    private struct State {
        var claimed: Set<String> = []
        var hashReading = HashReading.unknown
    }

    private let state = Mutex(State())

    /// Marks `id` as this run's; `false` when it was already claimed.
    func claim(_ id: String) -> Bool { state.withLock { $0.claimed.insert(id).inserted } }
    func isClaimed(_ id: String) -> Bool { state.withLock { $0.claimed.contains(id) } }

    var hashReading: HashReading { state.withLock { $0.hashReading } }

    func learnHash(reported: String, sentMD5: String?) {
        state.withLock { $0.hashReading = $0.hashReading.learning(reported: reported, sentMD5: sentMD5) }
    }
}

extension WixMediaClient {
    // MARK: Upload URLs and import

    /// `POST /site-media/v1/files/generate-upload-url` → the signed upload URL.
    public func generateUploadURL(_ options: UploadOptions) async throws -> String {
        let reply = try await api(
            .POST, "/site-media/v1/files/generate-upload-url", body: options.generateBody(resumable: false))
        guard let url = reply["uploadUrl"]?.stringValue else {
            throw WixClientError.malformedResponse("generate-upload-url returned no uploadUrl")
        }
        return url
    }

    /// `POST /site-media/v1/files/generate-resumable-upload-url` → the tus endpoint and the single-use token.
    /// `externalInfo` is not sent: no version of Wix's docs lists it for this call.
    public func generateResumableUploadURL(_ options: UploadOptions) async throws -> (uploadURL: String, token: String)
    {
        let reply = try await api(
            .POST, "/site-media/v1/files/generate-resumable-upload-url", body: options.generateBody(resumable: true))
        guard let url = reply["uploadUrl"]?.stringValue, let token = reply["uploadToken"]?.stringValue else {
            throw WixClientError.malformedResponse("generate-resumable-upload-url returned no uploadUrl/uploadToken")
        }
        return (url, token)
    }

    /// `POST /site-media/v1/files/import`: Wix fetches `url` itself. With `retrying: false` the POST is sent once
    /// (throttling aside): Import File is not idempotent, see ``importOnce(url:options:since:)``.
    public func importFile(url: String, options: UploadOptions, retrying: Bool = true) async throws -> FileDescriptor {
        let body = try Self.importBody(ImportRequest(url: url, options: options))
        let reply = try await api(.POST, "/site-media/v1/files/import", body: body, retrying: retrying)
        return try Self.descriptor(in: reply)
    }

    // MARK: Descriptors

    /// `GET /site-media/v1/files/get-file-by-id?fileId=…`.
    public func file(id: String) async throws -> FileDescriptor {
        try Self.descriptor(
            in: try await api(.GET, "/site-media/v1/files/get-file-by-id?fileId=\(Self.queryValue(id))", body: nil))
    }

    /// `POST /site-media/v1/files/get-files` for up to 100 ids. Files Wix does not know are left out — whether Wix
    /// omits them or refuses the whole batch (undocumented): a 4xx for the batch is answered by asking for halves,
    /// down to single lookups, where a 404 means that one file is gone.
    public func files(ids: [String]) async throws -> [FileDescriptor] {
        let (found, refused) = try await filesEach(ids: ids)
        if let (_, error) = refused.first { throw error }
        return found
    }

    /// `get-files` for up to 100 ids, each answered on its own: the files Wix has, and the ids it refused (a 4xx
    /// other than 404 for that id alone). A batch refused with a 4xx is asked for in halves, down to single lookups,
    /// so one bad id never sinks the others; refused credentials (401, 403 from the API) and errors that may pass
    /// are thrown for the whole batch.
    public func filesEach(ids: [String]) async throws -> (files: [FileDescriptor], refused: [String: WixClientError]) {
        guard !ids.isEmpty else { return ([], [:]) }
        do {
            let reply = try await api(
                .POST, "/site-media/v1/files/get-files", body: ["fileIds": .array(ids.map { .string($0) })])
            return (try (reply["files"]?.arrayValue ?? []).map { try FileDescriptor(json: $0) }, [:])
        } catch let error as WixClientError {
            guard error.code == .http, let status = error.status, (400..<500).contains(status),
                !error.isAuthenticationFailure, !error.isRetryable
            else { throw error }
            if ids.count == 1 {
                do {
                    return ([try await file(id: ids[0])], [:])
                } catch let single as WixClientError
                    where single.code == .http && !single.isAuthenticationFailure && !single.isRetryable
                {
                    return single.status == 404 ? ([], [:]) : ([], [ids[0]: single])
                }
            }
            let half = ids.count / 2
            let first = try await filesEach(ids: Array(ids[..<half]))
            let second = try await filesEach(ids: Array(ids[half...]))
            return (first.files + second.files, first.refused.merging(second.refused) { a, _ in a })
        }
    }

    /// `GET /site-media/v1/files` for one folder, one page, sorted by `sort` (newest first).
    public func listFiles(
        parentFolderId: String = "media-root", limit: Int = 100, cursor: String? = nil,
        sortField: String = "updatedDate"
    ) async throws -> (files: [FileDescriptor], next: String?) {
        var path =
            "/site-media/v1/files?parentFolderId=\(Self.queryValue(parentFolderId))&paging.limit=\(limit)&sort.fieldName=\(sortField)&sort.order=DESC"
        if let cursor { path += "&paging.cursor=\(Self.queryValue(cursor))" }
        let reply = try await api(.GET, path, body: nil)
        let files = try (reply["files"]?.arrayValue ?? []).map { try FileDescriptor(json: $0) }
        return (files, Self.nextCursor(reply))
    }

    /// `POST /site-media/v1/files/search`: one page of the files in every folder under `MEDIA_ROOT` (no term: all of
    /// them), newest first.
    public func searchFiles(
        term: String? = nil, limit: Int = 100, cursor: String? = nil
    ) async throws -> (files: [FileDescriptor], next: String?) {
        var body: [String: JSONValue] = [
            "rootFolder": "MEDIA_ROOT", "sort": ["fieldName": "updatedDate", "order": "DESC"],
            "paging": .object(
                ["limit": .int(Int64(limit))].merging(cursor.map { ["cursor": .string($0)] } ?? [:]) {
                    $1
                }),
        ]
        if let term { body["search"] = .string(term) }
        let reply = try await api(.POST, "/site-media/v1/files/search", body: .object(body))
        let files = try (reply["files"]?.arrayValue ?? []).map { try FileDescriptor(json: $0) }
        return (files, Self.nextCursor(reply))
    }

    /// A listing's next cursor: `nil` at the end — a missing or null cursor, an empty one (Wix's samples end with
    /// `"next": ""`), or `hasNext: false`.
    static func nextCursor(_ reply: JSONValue) -> String? {
        if reply["nextCursor"]?["hasNext"]?.boolValue == false { return nil }
        guard let next = reply["nextCursor"]?["cursors"]?["next"]?.stringValue, !next.isEmpty else { return nil }
        return next
    }

    /// `POST /site-media/v1/bulk/files/delete`: removes files (to the trash, or for good with `permanent`).
    public func deleteFiles(ids: [String], permanent: Bool) async throws {
        guard !ids.isEmpty else { return }
        _ = try await api(
            .POST, "/site-media/v1/bulk/files/delete",
            body: ["fileIds": .array(ids.map { .string($0) }), "permanent": .bool(permanent)])
    }

    static func descriptor(in reply: JSONValue) throws -> FileDescriptor {
        guard let file = reply["file"] else { throw WixClientError.malformedResponse("no file in the answer") }
        return try FileDescriptor(json: file)
    }
}
