import CMagic
import Foundation

/// Versions of the C libraries, for `ingest version` and run reports.
public enum LibraryVersions {
    /// libmagic's version, e.g. `5.44`.
    public static var libmagic: String {
        let version = magic_version()
        return "\(version / 100).\(version % 100)"
    }

    /// The magic database path libmagic loads by default.
    public static var magicDatabase: String {
        magic_getpath(nil, 0).map { String(cString: $0) } ?? "unknown"
    }

    /// The libexif shared object in use (libexif exposes no version function; its file name carries the ABI version).
    public static var libexif: String {
        ExifLibrary.sharedObjectName ?? "libexif"
    }

    /// Every version, for `ingest version`.
    public static var all: [(String, String)] {
        [("libmagic", libmagic), ("magic database", magicDatabase), ("libexif", libexif)]
    }
}
