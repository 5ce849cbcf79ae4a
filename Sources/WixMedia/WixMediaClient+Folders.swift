import Foundation
import Logging
import MediaIngest
import NIOHTTP1

/// A Media Manager folder (§9), as listing and Create Folder answer it.
public struct FolderInfo: Sendable, Hashable {
    public var id: String
    public var displayName: String
    public var parentFolderId: String
    public var createdDate: Date?

    init(json: JSONValue) throws(WixClientError) {
        guard let id = json["id"]?.stringValue else { throw .malformedResponse("a folder without an id") }
        self.id = id
        displayName = json["displayName"]?.stringValue ?? ""
        parentFolderId = json["parentFolderId"]?.stringValue ?? "media-root"
        createdDate = json["createdDate"]?.stringValue.flatMap(FileDescriptor.date)
    }

    /// The order that makes one folder of several with a name *the* folder, for every client alike: the earliest
    /// created, then the smallest id.
    static func precedes(_ a: FolderInfo, _ b: FolderInfo) -> Bool {
        switch (a.createdDate, b.createdDate) {
        case (let x?, let y?) where x != y: return x < y
        case (.some, nil): return true
        case (nil, .some): return false
        default: return a.id < b.id
        }
    }
}

/// The folders one run found or created, so each is looked up once: each parent's children listed once (every page),
/// each missing folder created once however many workers ask for it at the same moment.
actor FolderDirectory {
    /// Parent id → (name → the folders of that name).
    private var children: [String: [String: [FolderInfo]]] = [:]
    private var listing: [String: Task<[String: [FolderInfo]], any Error>] = [:]
    private var creating: [String: Task<String, any Error>] = [:]

    /// The children of `parent` by name (listed once; `refresh` lists again).
    func children(
        of parent: String, refresh: Bool = false, list: @escaping @Sendable () async throws -> [FolderInfo]
    ) async throws -> [String: [FolderInfo]] {
        if !refresh, let known = children[parent] { return known }
        if let running = listing[parent] { return try await running.value }
        let task = Task { Dictionary(grouping: try await list(), by: \.displayName) }
        listing[parent] = task
        defer { listing[parent] = nil }
        let found = try await task.value
        children[parent] = found
        return found
    }

    /// The id of the folder `name` in `parent`, made by `make` once for all callers asking at the same time.
    func creating(
        _ name: String, in parent: String, make: @escaping @Sendable () async throws -> String
    ) async throws -> String {
        let key = parent + "\u{0}" + name
        if let running = creating[key] { return try await running.value }
        let task = Task { try await make() }
        creating[key] = task
        defer { creating[key] = nil }
        return try await task.value
    }
}

extension WixMediaClient {
    /// `GET /site-media/v1/folders?parentFolderId=…`: every folder in `parent`, page by page.
    public func listFolders(in parent: String) async throws -> [FolderInfo] {
        var found: [FolderInfo] = []
        var cursor: String?
        repeat {
            var path = "/site-media/v1/folders?parentFolderId=\(Self.queryValue(parent))&paging.limit=100"
            if let cursor { path += "&paging.cursor=\(Self.queryValue(cursor))" }
            let reply = try await api(.GET, path, body: nil)
            found += try (reply["folders"]?.arrayValue ?? []).map { try FolderInfo(json: $0) }
            cursor = Self.nextCursor(reply)
        } while cursor != nil && found.count < 1_000_000
        return found
    }

    /// `POST /site-media/v1/folders`: a new folder `name` in `parent`.
    public func createFolder(named name: String, in parent: String) async throws -> FolderInfo {
        let reply = try await api(
            .POST, "/site-media/v1/folders", body: ["displayName": .string(name), "parentFolderId": .string(parent)])
        guard let folder = reply["folder"] else { throw WixClientError.malformedResponse("no folder in the answer") }
        return try FolderInfo(json: folder)
    }

    /// `POST /site-media/v1/bulk/folders/delete`: folders (and what they hold) to the trash, or for good.
    public func deleteFolders(ids: [String], permanent: Bool) async throws {
        guard !ids.isEmpty else { return }
        _ = try await api(
            .POST, "/site-media/v1/bulk/folders/delete",
            body: ["folderIds": .array(ids.map { .string($0) }), "permanent": .bool(permanent)])
    }

    /// The folder id of the path `components` below `parent`, each folder looked up once per run; missing folders are
    /// created when `create` is set, else the answer is `nil`.
    ///
    /// Safe when several runs (on several hosts) create the same folders at once: Wix may let two folders share a name,
    /// so whenever there are several, every client takes the same one — the earliest created (``FolderInfo/precedes``)
    /// — and a client that finds the folder it just created is not that one moves it to the trash. Where Wix refuses a second folder of a name (409), the existing one is looked up instead.
    /// With `refreshOnMiss`, a folder missing from the run's listing of its parent is looked for once more in a fresh
    /// listing before the answer is `nil`: Wix creates the folders a `filePath` names during an upload, so a listing
    /// taken earlier in the run goes stale.
    public func folder(
        _ components: [String], under parent: String, create: Bool, refreshOnMiss: Bool = false
    ) async throws -> String? {
        var current = parent
        for name in components where !name.isEmpty {
            let children = try await folders.children(of: current) { [self, current] in
                try await listFolders(in: current)
            }
            if let existing = children[name]?.min(by: FolderInfo.precedes) {
                current = existing.id
                continue
            }
            var known = children
            if refreshOnMiss {
                known = try await folders.children(of: current, refresh: true) { [self, current] in
                    try await listFolders(in: current)
                }
                if let existing = known[name]?.min(by: FolderInfo.precedes) {
                    current = existing.id
                    continue
                }
            }
            guard create else {
                // Where Wix compares folder names without case, `filePath` "/photos" lands in "Photos": look there.
                guard
                    let other = known.filter({ $0.key.lowercased() == name.lowercased() }).flatMap(\.value).min(
                        by: FolderInfo.precedes)
                else { return nil }
                current = other.id
                continue
            }
            current = try await folders.creating(name, in: current) { [self, current] in
                try await createCanonical(name, in: current)
            }
        }
        return current
    }

    /// Creates `name` in `parent` and returns the folder every client will agree on (see ``folder(_:under:create:)``).
    func createCanonical(_ name: String, in parent: String) async throws -> String {
        let created: FolderInfo?
        do {
            created = try await createFolder(named: name, in: parent)
        } catch let error as WixClientError where error.code == .http && error.status == 409 {
            created = nil  // another client made it first, and Wix keeps names unique
        }
        let fresh = try await folders.children(of: parent, refresh: true) { [self] in try await listFolders(in: parent)
        }
        var candidates = fresh[name] ?? []
        if created == nil, candidates.isEmpty {
            // Refused as existing, yet no folder of exactly this name: Wix compares names without case.
            candidates = fresh.filter { $0.key.lowercased() == name.lowercased() }.flatMap(\.value)
        }
        if let created, !candidates.contains(where: { $0.id == created.id }) { candidates.append(created) }
        guard let canonical = candidates.min(by: FolderInfo.precedes) else {
            throw WixClientError.malformedResponse("folder \(name) was neither created nor found in \(parent)")
        }
        if let created, created.id != canonical.id {
            logger.info(
                "another run created the same folder at the same time; using the earlier one",
                metadata: ["folder": "\(name)", "kept": "\(canonical.id)", "trashed": "\(created.id)"])
            // To the trash, not for good: deleting a folder deletes its files, and a third run may already have put
            // one in it.
            try? await deleteFolders(ids: [created.id], permanent: false)
        }
        return canonical.id
    }

    /// The id of the folder a `filePath` names below `parent` (`/videos/2024/december`), or `nil` when it does not
    /// exist (yet).
    public func folderID(path: String, under parent: String, refreshOnMiss: Bool = false) async throws -> String? {
        try await folder(
            path.split(separator: "/").map(String.init), under: parent, create: false, refreshOnMiss: refreshOnMiss)
    }
}
