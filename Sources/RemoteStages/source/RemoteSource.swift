import Foundation
import IngestStages
import Logging
import MediaIngest
import Synchronization

/// `source.remote`: the objects under an rclone remote (`dropbox:Clients/2026`, `s3:bucket/inbox`, `sftp-drop:`…),
/// listed through the run's supervised `rclone rcd`, filtered like `source.directory`, and streamed into the work
/// folder only when the ledger says an object needs processing — an unchanged object (same size and modification
/// time) costs no download on the next run.
///
/// A download is checked against the listing: a size (or, where the backend lists one, a hash) that disagrees fails
/// the asset `remote_changed` and nothing is stored; the next run lists it again. `source.archive` moves the object on
/// its remote (`operations/movefile`) or deletes it, only after a confirmed upload.
public struct RemoteSource: FetchingSource, PollableSource, StageDefinition {
    public static let kind = "source.remote"
    public static let sourceFile: String? = #filePath
    public static let codes: [DocumentedCode] = [
        .failure(
            "remote_changed",
            "the object downloaded is not the one listed (another size or hash): it changed meanwhile; the next run lists it again"
        ),
        .failure("remote_error", "rclone answered with an error (the remote is down, throttled, refused a move)"),
        .failure("rclone_unavailable", "rclone is not installed, or `rclone rcd` would not start"),
        .rejection(
            "name_not_utf8",
            "an object whose name is not UTF-8 (a Latin-1 name on a local or SFTP remote): rclone lists it with U+FFFD and cannot read it back; rename it"
        ),
    ]
    public static let phase = StagePhase.source
    public static let summary =
        "Objects under an rclone remote (S3, Google Drive, Dropbox, SFTP, WebDAV…), streamed into the pipeline as needed."

    public enum HashCheck: String, OptionEnum {
        /// Hashes the backend keeps anyway (S3, Drive, Dropbox, B2…); not those it would compute by reading every
        /// object at listing time (local, SFTP, FTP, SMB).
        case auto
        case always
        case never
    }

    static let remote = StageOption<String>(
        "remote",
        doc:
            "What to read: `NAME:path` of your rclone config (`dropbox:Clients/2026`, `s3:bucket/inbox`), a connection string (`:sftp,host=…:path`), or an absolute local path."
    )
    static let config = StageOption<PathOption?>(
        "config",
        doc:
            "The rclone config file (default: rclone's own — RCLONE_CONFIG, else ~/.config/rclone/rclone.conf; RCLONE_CONFIG_NAME_* variables work too)."
    )
    static let include = StageOption<[String]>(
        "include", default: [], doc: "Globs of objects to take (`*.jpg`, `2024/**`); empty takes every object.")
    static let exclude = StageOption<[String]>(
        "exclude", default: [], doc: "Globs of objects or folders to leave out; wins over include.")
    static let skipHidden = StageOption<Bool>(
        "skipHidden", default: true, doc: "Leave out objects and folders whose name starts with a dot.")
    static let minAge = StageOption<DurationValue>(
        "minAge", default: DurationValue(seconds: 0),
        doc: "Leave objects modified more recently than this for a later run (uploads still in progress), e.g. \"5m\".")
    static let maxDepth = StageOption<Int?>(
        "maxDepth", doc: "Descend at most this many folders below the root (0 = only the root's objects).")
    static let checkHash = StageOption<HashCheck>(
        "checkHash", default: .auto,
        doc:
            "Check each download against the hash the listing gives (MD5, else SHA-1): \"auto\" where the backend keeps hashes (S3, Drive, Dropbox, B2…), \"always\" (local, SFTP and FTP then hash every object while listing), \"never\" (size only)."
    )
    static let pollEvery = StageOption<DurationValue>(
        "pollEvery", default: DurationValue(seconds: 60),
        doc: "Under `ingest watch`, list the remote this often (remotes send no events); at least 5 s.")
    public static let options = [
        remote.spec, config.spec, include.spec, exclude.spec, skipHidden.spec, minAge.spec, maxDepth.spec,
        checkHash.spec, pollEvery.spec,
    ]

    /// The remote as written (`dropbox:Clients/2026`), without a trailing slash.
    public let root: String
    let configPath: String?
    let filter: RemoteFilter
    let minimumAge: Double
    let depthLimit: Int?
    let hashCheck: HashCheck
    public let pollInterval: Duration
    /// What this run downloaded (the report's `downloaded`, `downloadedBytes`): an unchanged object costs none.
    let downloads = TransferCount()

    public init(options: OptionValues, context: StageBuildContext) throws {
        let written = try options[Self.remote].trimmingCharacters(in: .whitespaces)
        guard !written.isEmpty else { throw options.error(Self.remote, "expected NAME:path or an absolute path") }
        guard let root = RemoteName.root(written) else {
            throw options.error(
                Self.remote, "\"\(written)\" is neither NAME:path nor an absolute path",
                suggestion: "write the rclone remote with its colon, e.g. \"dropbox:\(written)\"")
        }
        self.root = root
        configPath = try options[Self.config]?.path
        filter = try RemoteFilter(
            include: try options[Self.include], exclude: try options[Self.exclude],
            skipHidden: try options[Self.skipHidden], options: options)
        minimumAge = try options[Self.minAge].seconds
        depthLimit = try options[Self.maxDepth]
        hashCheck = try options[Self.checkHash]
        let poll = try options[Self.pollEvery].seconds
        guard poll >= 5 else { throw options.error(Self.pollEvery, "at least 5 seconds, got \(poll)") }
        pollInterval = .milliseconds(Int64(poll * 1000))
        if let depthLimit, depthLimit < 0 {
            throw options.error(Self.maxDepth, "expected 0 or more, got \(depthLimit)")
        }
    }

    func client(_ context: PipelineContext) throws -> RcloneClient {
        try RcloneDaemon.shared(in: context, configPath: configPath, logger: context.logger).client
    }

    public func prepare(_ context: PipelineContext) async throws {
        // Fail before any asset when rclone is missing: a source that cannot list is a configuration problem.
        _ = try client(context)
        downloads.reset()
    }

    public func items(context: PipelineContext) -> AsyncThrowingStream<SourceEvent, any Error> {
        let source = self
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var listing = try await RemoteListing(source: source, client: source.client(context), now: Date())
                    while let event = try await listing.next(context: context) {
                        continuation.yield(event)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public var reportInfo: [String: JSONValue] {
        let (objects, bytes) = downloads.value
        return [
            "remote": .string(
                RemoteName.prefix(of: root) ?? (root.hasPrefix(":") ? "connection string" : "local path")),
            "downloaded": .int(Int64(objects)), "downloadedBytes": .int(bytes),
        ]
    }
}

/// Objects and bytes downloaded in a run, across workers.
final class TransferCount: Sendable {
    private let state = Mutex<(objects: Int, bytes: Int64)>((0, 0))
    func add(_ bytes: Int64) {
        state.withLock {
            $0.objects += 1
            $0.bytes += bytes
        }
    }
    func reset() { state.withLock { $0 = (0, 0) } }
    var value: (objects: Int, bytes: Int64) { state.withLock { $0 } }
}
