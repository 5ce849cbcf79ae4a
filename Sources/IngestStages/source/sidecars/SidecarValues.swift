import Foundation
import MediaIngest

/// What a sidecar says about its media that a user may choose to keep (`sidecarKeep`), and nothing else: the rest of
/// the file — Takeout's URLs and view counts, an AAE's adjustment data — is never read into the asset.
public struct SidecarValues: Sendable, Hashable {
    /// When the photo was taken (Takeout `photoTakenTime`, XMP `exif:DateTimeOriginal`/`photoshop:DateCreated`/
    /// `xmp:CreateDate`), as ISO 8601.
    public var captureTime: String?
    /// Takeout `title` (the name the file had in Google Photos), XMP `dc:title`.
    public var title: String?
    /// Takeout `description`, XMP `dc:description`.
    public var description: String?
    /// XMP `dc:subject`.
    public var keywords: [String] = []
    /// XMP `xmp:Rating`.
    public var rating: Double?
    /// Takeout `geoData` (else `geoDataExif`), XMP `exif:GPSLatitude`/`exif:GPSLongitude`/`exif:GPSAltitude`.
    public var location: Location?
    /// Takeout `people[].name`.
    public var people: [String] = []
    /// AAE `adjustmentTimestamp`: when the photo was edited.
    public var editedAt: String?
    /// AAE `adjustmentEditorBundleID`.
    public var editor: String?

    /// A place on Earth.
    public struct Location: Sendable, Hashable {
        public var latitude: Double
        public var longitude: Double
        public var altitude: Double?
    }

    /// Fills what `self` lacks from `other` (the first sidecar to say something wins).
    mutating func merge(_ other: SidecarValues) {
        captureTime = captureTime ?? other.captureTime
        title = title ?? other.title
        description = description ?? other.description
        if keywords.isEmpty { keywords = other.keywords }
        rating = rating ?? other.rating
        location = location ?? other.location
        if people.isEmpty { people = other.people }
        editedAt = editedAt ?? other.editedAt
        editor = editor ?? other.editor
    }

    /// The kept values as facts (`facts.sidecars`): only what `keep` names; location and people only when asked for.
    func facts(keeping keep: Set<SidecarKeep>, from names: [String]) -> JSONValue {
        var facts: [String: JSONValue] = ["from": .array(names.map { .string($0) })]
        if keep.contains(.time) {
            if let captureTime { facts["captureTime"] = .string(captureTime) }
            if let editedAt { facts["editedAt"] = .string(editedAt) }
        }
        if keep.contains(.title), let title { facts["title"] = .string(title) }
        if keep.contains(.description), let description { facts["description"] = .string(description) }
        if keep.contains(.keywords), !keywords.isEmpty { facts["keywords"] = .array(keywords.map { .string($0) }) }
        if keep.contains(.rating), let rating { facts["rating"] = .double(rating) }
        if keep.contains(.people), !people.isEmpty { facts["people"] = .array(people.map { .string($0) }) }
        if keep.contains(.location), let location {
            var place: [String: JSONValue] = [
                "latitude": .double(location.latitude), "longitude": .double(location.longitude),
            ]
            if let altitude = location.altitude { place["altitude"] = .double(altitude) }
            facts["location"] = .object(place)
        }
        if let editor { facts["editor"] = .string(editor) }
        return .object(facts)
    }
}

/// What `sidecarKeep` may name. As with `strip.metadata`'s `keep`, location (and the names of people) is never kept
/// unless asked for.
public enum SidecarKeep: String, OptionEnum, CaseIterable {
    case time, title, description, keywords, rating, location, people

    /// What `attach` keeps when `sidecarKeep` is not given.
    public static let defaults: Set<SidecarKeep> = [.time, .title, .description]
}

/// What a source does with sidecars (`sidecars`).
public enum SidecarMode: String, OptionEnum {
    /// Recognise, pair, record and archive them with their media; never read them, never upload them (the default).
    case skip
    /// The same, and read them: the values `sidecarKeep` names become `facts.sidecars` for later stages.
    case attach
}

/// What a source does with the video of a Live Photo (`livePhotos`).
public enum LivePhotoMode: String, OptionEnum {
    /// Both halves are stripped and uploaded, processed together and linked in the manifest (the default).
    case pair
    /// Only the still is uploaded; the video travels with it like a sidecar (archived with it, never uploaded).
    case stillOnly = "still-only"
    /// No pairing: the still and the video are two unrelated files.
    case off
}
