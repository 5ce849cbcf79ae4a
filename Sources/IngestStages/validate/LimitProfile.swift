import Foundation
import MediaIngest

// The Wix table below is data, not code: a JSON document kept in a Swift string (no resource bundle needed next to
// the binary). A pipeline can load its own table with `validate`'s `profileFile` option, in the same format.

/// Per-type limits a target imposes: which types it accepts (by extension group) and how large each may be.
public struct LimitProfile: Sendable, Hashable, Codable {
    /// One group of types, such as Wix's "images" or "video".
    public struct Group: Sendable, Hashable, Codable {
        public var name: String
        public var extensions: [String]
        public var maxBytes: ByteSize
    }

    /// The profile's name (`wix`).
    public var name: String
    /// Where the numbers come from.
    public var source: String?
    /// A pixel limit applied to images when the pipeline sets none (a decompression-bomb guard).
    public var maxPixels: Int?
    /// The groups, most specific first (GIF before other images).
    public var groups: [Group]

    /// The group for a detected type: the file's own extension when it fits the type, else the type's extensions in
    /// order of preference.
    public func group(forExtensions extensions: [String], fileExtension: String) -> Group? {
        let candidates = (extensions.contains(fileExtension) ? [fileExtension] : []) + extensions
        for candidate in candidates {
            if let group = groups.first(where: { $0.extensions.contains(candidate) }) { return group }
        }
        return nil
    }

    /// Every extension the profile accepts.
    public var acceptedExtensions: Set<String> { Set(groups.flatMap(\.extensions)) }

    /// Reads a profile from JSON.
    /// - Throws: `DecodingError`.
    public static func decode(_ data: Data) throws -> LimitProfile {
        try JSONDecoder().decode(LimitProfile.self, from: data)
    }

    /// The Wix Media Manager's per-type limits.
    public static let wix: LimitProfile = {
        // Checked by a test; a decoding failure would be a bug in the literal below.
        (try? decode(Data(wixJSON.utf8))) ?? LimitProfile(name: "wix", source: nil, maxPixels: nil, groups: [])
    }()

    static let wixJSON = #"""
        {
          "name": "wix",
          "source": "docs/wix-media-api.md section 8: a third-party transcription of Wix's 'supported media file types and file sizes' article, checked 2026-10-01. Sizes are decimal (1 MB = 1,000,000 bytes). Older notes give 25 MB for images; set maxBytes to be stricter. Wix documents no pixel limit: maxPixels is MediaIngest's decompression-bomb guard.",
          "maxPixels": 250000000,
          "groups": [
            {"name": "gif", "extensions": ["gif"], "maxBytes": "15MB"},
            {"name": "image", "extensions": ["jpg", "jpeg", "jpe", "jfif", "png", "bmp", "heic", "heif", "tif", "tiff", "webp", "avif", "jp2", "jpg2", "j2k", "j2c", "jpc", "jpf", "jpx", "jpm"], "maxBytes": "50MB"},
            {"name": "raw", "extensions": ["arw", "sr2", "srf", "srw", "nef", "cr2", "cr3", "crw", "rwl", "rw2", "raw", "raf", "pef", "orf", "mrw", "dng", "kdc", "k25", "dcr", "x3f", "erf", "3fr"], "maxBytes": "50MB"},
            {"name": "vector", "extensions": ["svg"], "maxBytes": "250KB"},
            {"name": "icon", "extensions": ["ico"], "maxBytes": "25MB"},
            {"name": "video", "extensions": ["avi", "mpeg", "mpg", "mpe", "m1v", "vob", "mp4", "m4v", "mkv", "webm", "mov", "ogv", "3gp", "divx", "xvid", "mxf", "wmv", "flv", "m2ts"], "maxBytes": "4GB"},
            {"name": "audio", "extensions": ["mp3", "wav", "flac", "m4a", "wma", "aac", "aif", "aiff"], "maxBytes": "50MB"},
            {"name": "document", "extensions": ["pdf", "doc", "docx", "docb", "dot", "dotx", "xls", "xlsx", "xlt", "xltx", "ppt", "pptx", "pot", "potx", "pps", "ppsx", "odt", "ott", "ods", "ots", "odp", "otp", "odg", "pages", "numbers", "key", "txt", "rtf", "csv", "json", "xps", "oxps", "pub", "psd", "ai", "eps", "indd", "fla", "xcf", "cdr", "dwg", "gpx", "kml", "kmz", "epub", "mobi", "vcf", "ics", "ical", "icalendar", "ifb", "ipynb"], "maxBytes": "1000MB"},
            {"name": "archive", "extensions": ["zip", "rar", "tar", "gz", "gzip", "fgz", "jar", "7z", "webarchive"], "maxBytes": "4000MB"},
            {"name": "3d", "extensions": ["gltf", "glb"], "maxBytes": "25MB"}
          ]
        }
        """#
}
