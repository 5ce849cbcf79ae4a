import Foundation
import MediaFormats

/// One media file on its way through a pipeline. The single value type every stage receives and returns.
///
/// A source creates it; stages refine it: `detect.mime` sets ``mime``, `strip.metadata` points
/// ``contentPath`` at a stripped work copy and records what it removed in ``facts``, an upload stage sets
/// ``target``. The source file itself is never modified: ``origin`` keeps pointing at it.
public struct Asset: Sendable, Identifiable {
    /// The asset's number within the run (1, 2, 3… in the order the source produced them).
    public let id: Int
    /// Where the asset came from.
    public var origin: Origin
    /// The file name to use at the target (initially the source's file name).
    public var fileName: String
    /// The bytes the next stage should read: the source file at first, a work file after a transforming stage.
    /// `nil` for URL sources that have not been fetched.
    public var contentPath: String?
    /// Size of ``contentPath`` in bytes (or of the remote resource, when known).
    public var size: Int64?
    /// Size of the source as the source found it (``size`` changes when a stage writes a work file).
    public var sourceSize: Int64?
    /// The source's modification time.
    public var modificationDate: Date?
    /// What `detect.mime` found.
    public var mime: MediaType?
    /// Pixel dimensions, when a stage read them from the header.
    public var dimensions: PixelSize?
    /// Hex SHA-256 of the source bytes, once a stage computed it.
    public var sourceSHA256: String?
    /// Size and SHA-256 of the bytes at a path, when a stage computed them while it wrote that file (strip does), so
    /// an upload need not read the file once more before sending it. Valid only while ``contentPath`` is
    /// ``ContentDigest/path`` and the file still has that size; consumers check both.
    public var contentDigest: ContentDigest?
    /// Where the asset landed, once an upload stage stored it.
    public var target: TargetRecord?
    /// Where a routing stage (such as `route.by-type`) asked the upload stage to put the asset. When set, it
    /// replaces the upload stage's own folder options for this asset.
    public var placement: Placement?
    /// Facts stages add for later stages, the manifest and the report, keyed by stage-chosen names
    /// (for example `strip` → what was removed).
    public var facts: [String: JSONValue]
    /// Set by the ledger when an earlier run left this asset unfinished (crash recovery).
    public var recovery: Recovery?
    /// Typed values stages hand each other, checkpoint in the ledger and show in reports, each under the key that
    /// declares it (``AssetValueKey``): `asset.values[WixPendingUpload.self]`.
    public var values = AssetValues()
    /// `true` once a post stage moved or deleted the source after a confirmed upload (no later run can see it).
    public var sourceArchived = false
    /// Files that travel with this one and are never uploaded (``Sidecar``): XMP, AAE, Takeout JSON, a Live Photo's
    /// left-out video. The source pairs them; `source.archive` moves them with the asset.
    public var sidecars: [Sidecar] = []
    /// The unit this asset belongs to (a Live Photo's still or video), when it has partners.
    public var group: AssetGroup?
    /// Set by an upload stage that found these bytes already at the target (`state.dedupe: "target"`): the existing
    /// file's id (Wix) or path (library). The asset then costs no upload, leaves the pipeline `skipped`, and the
    /// ledger records it done with that target.
    public var duplicateOf: String?
    /// The asset's key in the ledger. For the pipeline's first source: the path relative to the source's root (the
    /// URL for a remote resource), so moving the inbox keeps the rows. For a later source: its name, `//` and the
    /// relative path — a relative path never holds `//` — so two sources' `a.jpg` never share a row. The runner sets
    /// it; renaming or reordering sources changes the keys of all but the first.
    public internal(set) var ledgerKey: String
    /// Which of the pipeline's sources listed it (its index in the pipeline file's order); the runner sets it.
    public internal(set) var sourceIndex = 0

    /// Creates an asset.
    public init(
        id: Int, origin: Origin, fileName: String, contentPath: String?, size: Int64? = nil,
        modificationDate: Date? = nil, facts: [String: JSONValue] = [:], sidecars: [Sidecar] = [],
        group: AssetGroup? = nil
    ) {
        self.id = id
        self.origin = origin
        self.fileName = fileName
        self.contentPath = contentPath
        self.size = size
        self.sourceSize = size
        self.modificationDate = modificationDate
        self.facts = facts
        self.sidecars = sidecars
        self.group = group
        self.ledgerKey = origin.displayPath
    }

    /// A short name for logs and messages: the relative path for files, the URL for URL sources.
    public var displayPath: String { origin.displayPath }

    /// The source file's extension, lower-cased, without the dot (`"jpg"`), or `""`.
    public var sourceExtension: String {
        let name = origin.fileName
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return name[name.index(after: dot)...].lowercased()
    }
}

extension Asset {
    /// Where an asset came from.
    public enum Origin: Sendable, Hashable, Codable {
        /// A local file: absolute path, the root it was found under, and its path relative to that root.
        case file(path: String, root: String, relativePath: String)
        /// A remote resource to import by URL.
        case url(String)
        /// An object in remote storage that a ``FetchingSource`` reads (an rclone remote): where it is
        /// (`dropbox:Clients/2026/a.jpg`), the root it was listed under (`dropbox:Clients/2026`) and its path below
        /// that root. Its bytes are fetched into the work folder before the first stage.
        case remote(location: String, root: String, relativePath: String)

        /// The absolute source path, for local files.
        public var path: String? {
            if case .file(let path, _, _) = self { return path }
            return nil
        }

        /// The URL, for remote resources.
        public var url: String? {
            if case .url(let url) = self { return url }
            return nil
        }

        /// The location of a remote object (`remote:path/file`).
        public var remoteLocation: String? {
            if case .remote(let location, _, _) = self { return location }
            return nil
        }

        /// The relative path for files and remote objects (as found under the root), the URL for URL resources.
        public var displayPath: String {
            switch self {
            case .file(_, _, let relative), .remote(_, _, let relative): return relative
            case .url(let url): return url
            }
        }

        /// The last path component.
        public var fileName: String {
            switch self {
            case .file(let path, _, _):
                // The last non-empty component, like split(separator: "/").last, without splitting the whole path.
                var end = path.utf8.endIndex
                while end > path.utf8.startIndex, path.utf8[path.utf8.index(before: end)] == UInt8(ascii: "/") {
                    end = path.utf8.index(before: end)
                }
                let trimmed = path.utf8[..<end]
                guard !trimmed.isEmpty else { return path }
                let start =
                    trimmed.lastIndex(of: UInt8(ascii: "/")).map { trimmed.index(after: $0) } ?? trimmed.startIndex
                return String(Substring(path.utf8[start..<end]))
            case .remote(_, _, let relative):
                return relative.split(separator: "/").last.map(String.init) ?? relative
            case .url(let text):
                let withoutQuery = text.split(separator: "?", maxSplits: 1).first.map(String.init) ?? text
                let last = withoutQuery.split(separator: "/").last.map(String.init) ?? "download"
                return last.removingPercentEncoding ?? last
            }
        }
    }

    /// What an earlier, unfinished attempt knew about this asset (see the ledger).
    public struct Recovery: Sendable, Hashable {
        /// The attempt number of this run (1 for the first).
        public var attempt: Int
        /// `true` when the previous attempt was in flight when the process died.
        public var wasInFlight: Bool
        /// The target id recorded by the previous attempt, if it got that far.
        public var previousTargetID: String?
        /// The checkpointed values the previous attempt left (an upload it began without learning its outcome…).
        public var values: AssetValues

        /// Creates a recovery record.
        public init(
            attempt: Int, wasInFlight: Bool, previousTargetID: String? = nil, values: AssetValues = AssetValues()
        ) {
            self.attempt = attempt
            self.wasInFlight = wasInFlight
            self.previousTargetID = previousTargetID
            self.values = values
        }
    }
}

/// The size and SHA-256 of one file, as computed by the stage that wrote it.
public struct ContentDigest: Sendable, Hashable, Codable {
    /// The file the digest describes.
    public var path: String
    /// Its size in bytes.
    public var size: Int64
    /// Hex SHA-256 of its bytes.
    public var sha256: String

    /// Creates a digest record.
    public init(path: String, size: Int64, sha256: String) {
        self.path = path
        self.size = size
        self.sha256 = sha256
    }
}

/// A folder at the target chosen per asset, for upload stages to honour.
///
/// `upload.wix` uses ``folderID`` as `parentFolderId` and ``path`` as `filePath` (with the same placeholders as its
/// `filePath` option); `upload.library` records ``folderID`` as the descriptor's `parentFolderId`.
public struct Placement: Sendable, Hashable, Codable {
    /// A folder id at the target (Wix: `parentFolderId`).
    public var folderID: String?
    /// A folder path below the folder, created as needed (Wix: `filePath`), possibly with placeholders.
    public var path: String?

    /// Creates a placement; at least one of the two should be set.
    public init(folderID: String? = nil, path: String? = nil) {
        self.folderID = folderID
        self.path = path
    }
}

/// A MIME type as detected from content, with the facts validation and upload stages need.
public struct MediaType: Sendable, Hashable, Codable {
    /// The MIME type, e.g. `image/jpeg`.
    public var mime: String
    /// The broad family: image, video, audio, document, vector, archive, model3d, other.
    public var family: MediaFamily
    /// Extensions that fit the content, preferred first (`["jpg", "jpeg", "jpe", "jfif"]`).
    public var extensions: [String]
    /// `false` when the file's extension does not fit its content (a shell script named photo.jpg).
    public var extensionMatches: Bool

    /// Creates a media type.
    public init(mime: String, family: MediaFamily, extensions: [String], extensionMatches: Bool) {
        self.mime = mime
        self.family = family
        self.extensions = extensions
        self.extensionMatches = extensionMatches
    }
}

/// Broad kinds of media, named after Wix's `mediaType` values.
public enum MediaFamily: String, Sendable, Hashable, Codable, CaseIterable {
    case image, vector, video, audio, document, archive, model3d, other
}

/// Width and height in pixels — one type with the header readers' (`MediaFormats.ImageSize`), so a size read
/// from a file needs no conversion.
public typealias PixelSize = ImageSize

/// Where an upload stage stored an asset.
public struct TargetRecord: Sendable, Hashable, Codable {
    /// The target's name for the stage kind that stored it (`library`, `wix`).
    public var target: String
    /// The id the target gave the file.
    public var id: String
    /// Where the file can be fetched.
    public var url: String?
    /// The target's processing status (`READY`, `PENDING`, `FAILED`).
    public var status: String
    /// `true` once the target confirmed the file is stored and usable; only then may a source be archived.
    public var confirmed: Bool
    /// The target's full descriptor, for the manifest.
    public var descriptor: JSONValue?
    /// What was sent: size, hex MD5 and SHA-256 (when the upload stage streamed the bytes itself), and how.
    public var sentBytes: Int64?
    public var sentMD5: String?
    public var sentSHA256: String?
    /// `put`, `tus`, `import`, `found` (the file of an earlier attempt)…
    public var method: String?
    /// The content hash the target reports, whatever its algorithm (Wix: `hash`, undocumented).
    public var reportedHash: String?

    /// Creates a record.
    public init(
        target: String, id: String, url: String?, status: String, confirmed: Bool, descriptor: JSONValue? = nil,
        sentBytes: Int64? = nil,
        sentMD5: String? = nil, sentSHA256: String? = nil, method: String? = nil, reportedHash: String? = nil
    ) {
        self.target = target
        self.id = id
        self.url = url
        self.status = status
        self.confirmed = confirmed
        self.descriptor = descriptor
        self.sentBytes = sentBytes
        self.sentMD5 = sentMD5
        self.sentSHA256 = sentSHA256
        self.method = method
        self.reportedHash = reportedHash
    }
}
