import Foundation

/// A file that travels with a media file without being media itself: an `.xmp` sidecar (Lightroom, darktable,
/// digiKam), an Apple `.AAE` edit file, a Google Takeout `*.json` / `*.supplemental-metadata.json`, or the video half
/// of a Live Photo a pipeline keeps only the still of.
///
/// Sidecars carry the very metadata `strip.metadata` removes from the media (GPS, capture times, people), so they are
/// never uploaded. A source pairs each with its media (``Asset/sidecars``); the ledger and the manifest record the
/// pair, and `source.archive` moves or deletes the sidecars together with their media, after the confirmed upload.
public struct Sidecar: Sendable, Hashable, Codable {
    /// What kind of file it is.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// An XMP sidecar (`IMG_1.CR2.xmp` or `IMG_1.xmp`).
        case xmp
        /// An Apple Photos adjustment file (`IMG_0001.AAE`, `IMG_O0001.AAE`).
        case aae
        /// A Google Takeout metadata file (`IMG_1.jpg.json`, `IMG_1.jpg.supplemental-metadata.json`).
        case takeout
        /// The video half of a Live Photo, left out of the upload (`livePhotos: "still-only"`).
        case livePhotoVideo = "live-photo-video"
    }

    /// What kind of file it is.
    public var kind: Kind
    /// Its absolute path.
    public var path: String
    /// Its path relative to the source's root (how the archive places it, how the manifest names it).
    public var relativePath: String
    /// Its size when the source listed it.
    public var size: Int64

    /// Creates a sidecar record.
    public init(kind: Kind, path: String, relativePath: String, size: Int64) {
        self.kind = kind
        self.path = path
        self.relativePath = relativePath
        self.size = size
    }
}

/// Media files a source found belong together and go through the pipeline as one unit: an iPhone Live Photo (a still
/// and a video with the same content identifier). Every member is its own asset — stripped, uploaded and recorded on
/// its own — but the runner processes the members together, links them in the manifest, and never reports one done
/// while the other failed: if one fails, the others fail with `pair_incomplete` and the next run retries them
/// together (reusing what was already uploaded).
public struct AssetGroup: Sendable, Hashable, Codable {
    /// What binds the members, named by the source that found them (IngestStages declares `livePhoto`: a still and
    /// its video). The runner reports each member's outcome under `facts.<kind>`.
    public struct Kind: StableCode {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
    }

    /// What binds the members.
    public var kind: Kind
    /// This member's part: `still` or `video` for a Live Photo.
    public var role: String
    /// How the members were found to belong together (`contentIdentifier`).
    public var pairedBy: String

    /// Creates a group membership.
    public init(kind: Kind, role: String, pairedBy: String) {
        self.kind = kind
        self.role = role
        self.pairedBy = pairedBy
    }
}
