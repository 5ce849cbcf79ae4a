import Foundation
import IngestStages
import Logging
import MediaIngest
import WixMedia

/// What a Wix site already holds, for `state.dedupe: "target"`: a listing of each folder files go to (or of the whole
/// site, with `dedupeScope: "site"`) made once per run, when the first asset needs it, and what this run uploads added
/// as it goes. A listing costs one request per 100 files it holds; an asset costs none.
///
/// A file at Wix is the asset's duplicate only on evidence that cannot be wrong:
/// - its `hash` equals the MD5 of the bytes about to be sent (and the sizes agree) — Wix's samples are MD5s, but the
///   docs do not say so; an opaque hash simply never matches, it never makes a false duplicate;
/// - or the ledger recorded an upload of exactly these bytes (their SHA-256) as that file id, and the sizes agree —
///   how a second machine sharing a PostgreSQL ledger, or a re-run after a lost ledger row, sees what is there when
///   the hash tells nothing;
/// - or this run uploaded these bytes there a moment ago (known by the destination the upload named, so a folder Wix
///   created during that upload and absent from an earlier listing does not hide it).
///
/// A FAILED file, one in the trash or in a hidden folder (visitor uploads), or one of the other privacy is never a
/// duplicate.
final class WixTargetIndex: RunResource {
    /// How a duplicate was recognised (for the manifest).
    enum Evidence: String, Sendable {
        case md5, ledger, run
    }

    private let client: WixMediaClient
    private let logger: Logger
    private let store = Store()

    init(client: WixMediaClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    func close() async {}

    /// One scope's files, found by id, by hash and by the SHA-256 of what this run uploaded.
    struct Listing: Sendable {
        var byID: [String: FileDescriptor] = [:]
        var byHash: [String: [String]] = [:]
        var bySHA256: [String: [String]] = [:]

        init(_ files: [FileDescriptor]) {
            for file in files { insert(file, sha256: nil) }
        }

        mutating func insert(_ file: FileDescriptor, sha256: String?) {
            byID[file.id] = file
            if !file.hash.isEmpty { byHash[file.hash.lowercased(), default: []].append(file.id) }
            if let sha256 { bySHA256[sha256, default: []].append(file.id) }
        }

        /// The first usable file among `ids` (a size match, the same privacy, not FAILED, not in the trash or a hidden
        /// folder), the earliest id first. Privacy cannot be changed after upload: a public copy is no duplicate of a
        /// private file, nor the reverse.
        func usable(_ ids: [String]?, size: Int64, isPrivate: Bool) -> FileDescriptor? {
            (ids ?? []).sorted().lazy.compactMap { byID[$0] }.first {
                !$0.isFailed && !$0.isTrashed && !$0.isInHiddenFolder && $0.sizeInBytes == size
                    && $0.isPrivate == isPrivate
            }
        }
    }

    /// The listings, by scope (a folder id, or `site`), and this run's uploads, by destination (kept apart: an upload
    /// made before its scope was listed must not stand in for the listing).
    actor Store {
        var scopes: [String: Listing] = [:]
        var uploads: [String: Listing] = [:]
        var loading: [String: Task<Listing, any Error>] = [:]
        var requests = 0

        func listing(
            _ scope: String, load: @escaping @Sendable () async throws -> ([FileDescriptor], Int)
        ) async throws -> Listing {
            if let known = scopes[scope] { return known }
            if let running = loading[scope] { return try await running.value }
            let task = Task { [weak self] in
                let (files, pages) = try await load()
                await self?.count(pages)
                return Listing(files)
            }
            loading[scope] = task
            defer { loading[scope] = nil }
            let found = try await task.value
            scopes[scope] = found
            return found
        }

        func count(_ pages: Int) { requests += pages }

        func add(_ descriptor: FileDescriptor, sha256: String, to scope: String) {
            uploads[scope, default: Listing([])].insert(descriptor, sha256: sha256)
        }

        func uploaded(_ scope: String) -> Listing? { uploads[scope] }
    }

    /// The scope of a folder: the folder itself, or the whole site.
    static func scope(folder: String, site: Bool) -> String { site ? "site" : "folder:" + folder }

    /// The file this run uploaded with these bytes to `destination` (the folder options as the upload named them —
    /// not a folder id, which a folder that Wix creates during the upload does not have yet).
    func uploadedThisRun(destination: String, sha256: String, size: Int64, isPrivate: Bool) async -> FileDescriptor? {
        guard let ours = await store.uploaded(destination) else { return nil }
        return ours.usable(ours.bySHA256[sha256], size: size, isPrivate: isPrivate)
    }

    /// The file at Wix, listed in `scope`, that already holds these bytes, and how that is known; `nil` when there is
    /// none.
    func duplicate(
        scope: String, folder: String, md5: String, size: Int64, isPrivate: Bool, ledgerIDs: [String]
    ) async throws -> (FileDescriptor, Evidence)? {
        let listing = try await store.listing(scope) { [client] in
            try await Self.list(scope: scope, folder: folder, client: client)
        }
        if let file = listing.usable(listing.byHash[md5], size: size, isPrivate: isPrivate) { return (file, .md5) }
        if let file = listing.usable(ledgerIDs, size: size, isPrivate: isPrivate) { return (file, .ledger) }
        return nil
    }

    /// Notes an upload of this run, so a later asset with the same bytes for the same destination finds it.
    func add(_ descriptor: FileDescriptor, sha256: String, destination: String) async {
        await store.add(descriptor, sha256: sha256, to: destination)
    }

    /// Where an upload goes, as its options name it: the key of this run's uploads.
    static func destination(_ options: UploadOptions, site: Bool) -> String {
        site ? "site" : (options.parentFolderId ?? "media-root") + "|" + (options.filePath ?? "")
    }

    /// Requests the listings took so far.
    var listingRequests: Int { get async { await store.requests } }

    /// Every file of a scope: the folder's listing, or a search of the whole site (`MEDIA_ROOT`).
    static func list(scope: String, folder: String, client: WixMediaClient) async throws -> ([FileDescriptor], Int) {
        var files: [FileDescriptor] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page =
                scope == "site"
                ? try await client.searchFiles(limit: 100, cursor: cursor)
                : try await client.listFiles(parentFolderId: folder, limit: 100, cursor: cursor)
            pages += 1
            files += page.files
            cursor = page.next
        } while cursor != nil && pages < 100_000
        return (files, pages)
    }
}
