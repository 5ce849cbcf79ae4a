import Foundation
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
/// - or this run uploaded these bytes there a moment ago.
///
/// A FAILED or deleted file is never a duplicate.
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

        /// The first usable file among `ids` (a size match, not FAILED), the earliest id first.
        func usable(_ ids: [String]?, size: Int64) -> FileDescriptor? {
            (ids ?? []).sorted().lazy.compactMap { byID[$0] }.first { !$0.isFailed && $0.sizeInBytes == size }
        }
    }

    /// The listings, by scope (a folder id, or `site`), and this run's uploads, by scope (kept apart: an upload made
    /// before its scope was listed must not stand in for the listing).
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

    /// The file at Wix that already holds these bytes, and how that is known; `nil` when there is none.
    func duplicate(
        scope: String, folder: String, md5: String, sha256: String, size: Int64, ledgerIDs: [String]
    ) async throws -> (FileDescriptor, Evidence)? {
        if let ours = await store.uploaded(scope), let file = ours.usable(ours.bySHA256[sha256], size: size) {
            return (file, .run)
        }
        let listing = try await store.listing(scope) { [client] in
            try await Self.list(scope: scope, folder: folder, client: client)
        }
        if let file = listing.usable(listing.byHash[md5], size: size) { return (file, .md5) }
        if let file = listing.usable(ledgerIDs, size: size) { return (file, .ledger) }
        return nil
    }

    /// Notes an upload of this run, so a later asset with the same bytes finds it.
    func add(_ descriptor: FileDescriptor, sha256: String, scope: String) async {
        await store.add(descriptor, sha256: sha256, to: scope)
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
