import Foundation
import MediaIngest

// The table below is data, not code: a JSON document kept in a Swift string so that the `ingest` binary needs no
// resource bundle beside it (a copied binary keeps working). Add a row to teach detect.mime and validate a type.

/// MIME types MediaIngest knows: their family (Wix `mediaType`), the extensions that fit the content, and the other
/// names libmagic uses for the same type.
public struct MediaTypeTable: Sendable {
    /// One known type.
    public struct Entry: Sendable, Hashable, Codable {
        public var mime: String
        public var family: MediaFamily
        public var extensions: [String]
        public var aliases: [String]?
    }

    /// Every entry.
    public let entries: [Entry]
    /// Groups of types whose extensions are interchangeable (a CSV named .txt is not a disguise).
    public let compatibleGroups: [[String]]
    private let byMIME: [String: Entry]
    private let byExtension: [String: Entry]

    /// Builds a table; when two entries name the same extension, the first one wins.
    public init(entries: [Entry], compatibleGroups: [[String]] = []) {
        self.entries = entries
        self.compatibleGroups = compatibleGroups
        var byMIME: [String: Entry] = [:]
        var byExtension: [String: Entry] = [:]
        for entry in entries {
            byMIME[entry.mime.lowercased()] = entry
            for alias in entry.aliases ?? [] { byMIME[alias.lowercased()] = entry }
            for ext in entry.extensions where byExtension[ext] == nil { byExtension[ext] = entry }
        }
        self.byMIME = byMIME
        self.byExtension = byExtension
    }

    /// The built-in table.
    public static let standard: MediaTypeTable = {
        struct Document: Decodable {
            var types: [Entry]
            var compatible: [[String]]
        }
        // The literal is checked by a test; a decoding failure here would be a bug in this file, caught there.
        let document =
            (try? JSONDecoder().decode(Document.self, from: Data(standardJSON.utf8)))
            ?? Document(types: [], compatible: [])
        return MediaTypeTable(entries: document.types, compatibleGroups: document.compatible)
    }()

    /// The entry for a MIME type or one of its aliases (parameters such as `; charset=` are ignored).
    public func entry(forMIME mime: String) -> Entry? {
        // libmagic's answers are bare and lower-case: one lookup, no splitting.
        if let entry = byMIME[mime] { return entry }
        let bare =
            mime.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            ?? ""
        return byMIME[bare]
    }

    /// The entry whose extensions include `ext` (lower-cased, without the dot).
    public func entry(forExtension ext: String) -> Entry? { byExtension[ext.lowercased()] }

    /// The family of a MIME type: from the table, else from its top-level type.
    public func family(forMIME mime: String) -> MediaFamily {
        if let entry = entry(forMIME: mime) { return entry.family }
        switch mime.split(separator: "/").first.map({ $0.lowercased() }) {
        case "image": return .image
        case "video": return .video
        case "audio": return .audio
        case "model": return .model3d
        default: return .other
        }
    }

    /// `true` unless `fileExtension` belongs to a different, incompatible type than `mime`: an `.jpg` that holds a
    /// shell script does not fit; an extension we know nothing about (or none) makes no claim, so it fits.
    public func `extension`(_ fileExtension: String, fits mime: String) -> Bool {
        let ext = fileExtension.lowercased()
        guard !ext.isEmpty else { return true }
        let canonical = entry(forMIME: mime)?.mime ?? mime.lowercased()
        if entry(forMIME: canonical)?.extensions.contains(ext) == true { return true }
        if let group = compatibleGroups.first(where: { $0.contains(canonical) }),
            group.contains(where: { entry(forMIME: $0)?.extensions.contains(ext) == true })
        {
            return true
        }
        return entry(forExtension: ext) == nil
    }

    static let standardJSON = #"""
        {
          "comment": "MIME types MediaIngest knows: family (Wix mediaType), extensions that fit the content (preferred first), and other names libmagic uses for the same type. Data, not code: add a row to teach detect.mime and validate a new type.",
          "types": [
            {"mime": "image/jpeg", "family": "image", "extensions": ["jpg", "jpeg", "jpe", "jfif", "mpo"], "aliases": ["image/pjpeg"]},
            {"mime": "image/png", "family": "image", "extensions": ["png", "apng"], "aliases": ["image/apng"]},
            {"mime": "image/gif", "family": "image", "extensions": ["gif"]},
            {"mime": "image/webp", "family": "image", "extensions": ["webp"]},
            {"mime": "image/heic", "family": "image", "extensions": ["heic", "heif", "hif"], "aliases": ["image/heif", "image/heic-sequence", "image/heif-sequence"]},
            {"mime": "image/avif", "family": "image", "extensions": ["avif"]},
            {"mime": "image/tiff", "family": "image", "extensions": ["tif", "tiff"]},
            {"mime": "image/bmp", "family": "image", "extensions": ["bmp", "dib"], "aliases": ["image/x-ms-bmp", "image/x-bmp"]},
            {"mime": "image/jp2", "family": "image", "extensions": ["jp2", "jpg2", "j2k", "j2c", "jpc", "jpf", "jpx", "jpm"], "aliases": ["image/jpx", "image/jpm", "image/x-jp2-codestream"]},
            {"mime": "image/x-icon", "family": "image", "extensions": ["ico", "cur"], "aliases": ["image/vnd.microsoft.icon"]},
            {"mime": "image/svg+xml", "family": "vector", "extensions": ["svg", "svgz"]},
            {"mime": "image/x-canon-cr2", "family": "image", "extensions": ["cr2"]},
            {"mime": "image/x-canon-cr3", "family": "image", "extensions": ["cr3"]},
            {"mime": "image/x-nikon-nef", "family": "image", "extensions": ["nef"]},
            {"mime": "image/x-sony-arw", "family": "image", "extensions": ["arw", "sr2", "srf"]},
            {"mime": "image/x-adobe-dng", "family": "image", "extensions": ["dng"]},
            {"mime": "image/x-fuji-raf", "family": "image", "extensions": ["raf"]},
            {"mime": "image/x-olympus-orf", "family": "image", "extensions": ["orf"]},
            {"mime": "image/x-panasonic-rw2", "family": "image", "extensions": ["rw2", "raw"]},
            {"mime": "image/vnd.adobe.photoshop", "family": "document", "extensions": ["psd"], "aliases": ["image/x-photoshop", "application/x-photoshop"]},
            {"mime": "image/x-xcf", "family": "document", "extensions": ["xcf"]},

            {"mime": "video/mp4", "family": "video", "extensions": ["mp4", "m4v", "f4v"]},
            {"mime": "video/quicktime", "family": "video", "extensions": ["mov", "qt"]},
            {"mime": "video/webm", "family": "video", "extensions": ["webm"]},
            {"mime": "video/x-matroska", "family": "video", "extensions": ["mkv", "mk3d"]},
            {"mime": "video/x-msvideo", "family": "video", "extensions": ["avi", "divx", "xvid"], "aliases": ["video/avi"]},
            {"mime": "video/mpeg", "family": "video", "extensions": ["mpeg", "mpg", "mpe", "m1v", "vob"], "aliases": ["video/MP2P", "video/mp2p"]},
            {"mime": "video/mp2t", "family": "video", "extensions": ["m2ts", "mts", "ts"], "aliases": ["video/MP2T"]},
            {"mime": "video/3gpp", "family": "video", "extensions": ["3gp", "3gpp"]},
            {"mime": "video/3gpp2", "family": "video", "extensions": ["3g2"]},
            {"mime": "video/ogg", "family": "video", "extensions": ["ogv"]},
            {"mime": "video/x-ms-wmv", "family": "video", "extensions": ["wmv"], "aliases": ["video/x-ms-asf"]},
            {"mime": "video/x-flv", "family": "video", "extensions": ["flv"]},
            {"mime": "application/mxf", "family": "video", "extensions": ["mxf"]},

            {"mime": "audio/mpeg", "family": "audio", "extensions": ["mp3", "mpga", "mp2"]},
            {"mime": "audio/x-wav", "family": "audio", "extensions": ["wav"], "aliases": ["audio/wav", "audio/vnd.wave", "audio/x-wave"]},
            {"mime": "audio/flac", "family": "audio", "extensions": ["flac"], "aliases": ["audio/x-flac"]},
            {"mime": "audio/mp4", "family": "audio", "extensions": ["m4a", "aac", "m4b"], "aliases": ["audio/x-m4a", "audio/aac", "audio/x-hx-aac-adts"]},
            {"mime": "audio/x-ms-wma", "family": "audio", "extensions": ["wma"]},
            {"mime": "audio/x-aiff", "family": "audio", "extensions": ["aif", "aiff", "aifc"], "aliases": ["audio/aiff"]},
            {"mime": "audio/ogg", "family": "audio", "extensions": ["ogg", "oga", "opus"]},

            {"mime": "application/pdf", "family": "document", "extensions": ["pdf"]},
            {"mime": "application/msword", "family": "document", "extensions": ["doc", "dot"]},
            {"mime": "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "family": "document", "extensions": ["docx", "docb"]},
            {"mime": "application/vnd.openxmlformats-officedocument.wordprocessingml.template", "family": "document", "extensions": ["dotx"]},
            {"mime": "application/vnd.ms-excel", "family": "document", "extensions": ["xls", "xlt"]},
            {"mime": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "family": "document", "extensions": ["xlsx"]},
            {"mime": "application/vnd.openxmlformats-officedocument.spreadsheetml.template", "family": "document", "extensions": ["xltx"]},
            {"mime": "application/vnd.ms-powerpoint", "family": "document", "extensions": ["ppt", "pot", "pps"]},
            {"mime": "application/vnd.openxmlformats-officedocument.presentationml.presentation", "family": "document", "extensions": ["pptx"]},
            {"mime": "application/vnd.openxmlformats-officedocument.presentationml.template", "family": "document", "extensions": ["potx"]},
            {"mime": "application/vnd.openxmlformats-officedocument.presentationml.slideshow", "family": "document", "extensions": ["ppsx"]},
            {"mime": "application/vnd.oasis.opendocument.text", "family": "document", "extensions": ["odt"]},
            {"mime": "application/vnd.oasis.opendocument.text-template", "family": "document", "extensions": ["ott"]},
            {"mime": "application/vnd.oasis.opendocument.spreadsheet", "family": "document", "extensions": ["ods"]},
            {"mime": "application/vnd.oasis.opendocument.spreadsheet-template", "family": "document", "extensions": ["ots"]},
            {"mime": "application/vnd.oasis.opendocument.presentation", "family": "document", "extensions": ["odp"]},
            {"mime": "application/vnd.oasis.opendocument.presentation-template", "family": "document", "extensions": ["otp"]},
            {"mime": "application/vnd.oasis.opendocument.graphics", "family": "document", "extensions": ["odg"]},
            {"mime": "application/rtf", "family": "document", "extensions": ["rtf"], "aliases": ["text/rtf"]},
            {"mime": "text/plain", "family": "document", "extensions": ["txt", "text", "log", "md", "markdown", "ini", "cfg", "conf"]},
            {"mime": "text/csv", "family": "document", "extensions": ["csv"]},
            {"mime": "text/tab-separated-values", "family": "document", "extensions": ["tsv", "tab"]},
            {"mime": "application/json", "family": "document", "extensions": ["json", "ipynb", "geojson"]},
            {"mime": "text/calendar", "family": "document", "extensions": ["ics", "ical", "icalendar", "ifb"]},
            {"mime": "text/vcard", "family": "document", "extensions": ["vcf", "vcard"], "aliases": ["text/x-vcard"]},
            {"mime": "application/epub+zip", "family": "document", "extensions": ["epub"]},
            {"mime": "application/x-mobipocket-ebook", "family": "document", "extensions": ["mobi"]},
            {"mime": "application/postscript", "family": "document", "extensions": ["eps", "ai", "ps"]},
            {"mime": "application/vnd.ms-xpsdocument", "family": "document", "extensions": ["xps", "oxps"], "aliases": ["application/oxps"]},
            {"mime": "application/vnd.google-earth.kml+xml", "family": "document", "extensions": ["kml"]},
            {"mime": "application/vnd.google-earth.kmz", "family": "document", "extensions": ["kmz"]},
            {"mime": "application/gpx+xml", "family": "document", "extensions": ["gpx"]},
            {"mime": "image/vnd.dwg", "family": "document", "extensions": ["dwg"], "aliases": ["image/x-dwg", "application/acad"]},

            {"mime": "application/zip", "family": "archive", "extensions": ["zip", "jar"], "aliases": ["application/x-zip-compressed"]},
            {"mime": "application/x-rar", "family": "archive", "extensions": ["rar"], "aliases": ["application/vnd.rar", "application/x-rar-compressed"]},
            {"mime": "application/x-tar", "family": "archive", "extensions": ["tar"], "aliases": ["application/x-gtar"]},
            {"mime": "application/gzip", "family": "archive", "extensions": ["gz", "gzip", "tgz"], "aliases": ["application/x-gzip"]},
            {"mime": "application/x-7z-compressed", "family": "archive", "extensions": ["7z"]},
            {"mime": "application/x-bzip2", "family": "archive", "extensions": ["bz2"]},
            {"mime": "application/x-xz", "family": "archive", "extensions": ["xz"]},

            {"mime": "model/gltf-binary", "family": "model3d", "extensions": ["glb"]},
            {"mime": "model/gltf+json", "family": "model3d", "extensions": ["gltf"]},

            {"mime": "text/html", "family": "other", "extensions": ["html", "htm", "xhtml"]},
            {"mime": "text/xml", "family": "other", "extensions": ["xml"], "aliases": ["application/xml"]},
            {"mime": "text/x-shellscript", "family": "other", "extensions": ["sh", "bash"], "aliases": ["application/x-sh"]},
            {"mime": "text/x-php", "family": "other", "extensions": ["php"]},
            {"mime": "text/x-python", "family": "other", "extensions": ["py"], "aliases": ["text/x-script.python"]},
            {"mime": "application/javascript", "family": "other", "extensions": ["js", "mjs"], "aliases": ["text/javascript"]},
            {"mime": "application/x-executable", "family": "other", "extensions": [], "aliases": ["application/x-pie-executable", "application/x-sharedlib", "application/x-elf"]},
            {"mime": "application/vnd.microsoft.portable-executable", "family": "other", "extensions": ["exe", "dll"], "aliases": ["application/x-dosexec", "application/x-msdownload"]},
            {"mime": "application/x-mach-binary", "family": "other", "extensions": []},
            {"mime": "application/octet-stream", "family": "other", "extensions": []},
            {"mime": "inode/x-empty", "family": "other", "extensions": []}
          ],
          "compatible": [
            ["text/plain", "text/csv", "text/tab-separated-values", "application/json"],
            ["video/mp4", "video/quicktime", "video/3gpp", "video/3gpp2", "audio/mp4"],
            ["application/zip", "application/java-archive"]
          ]
        }
        """#
}

extension Asset {
    /// The type to declare to a target: what `detect.mime` found, else what the source's extension suggests, else
    /// `application/octet-stream` — the one fallback every upload stage uses.
    public var declaredMIME: String {
        mime?.mime ?? MediaTypeTable.standard.entry(forExtension: sourceExtension)?.mime ?? "application/octet-stream"
    }
}
