import CExif
import CMagic
import Foundation
import Glibc
import MediaIngest

/// The checks of this machine `ingest doctor` makes whatever the pipeline: the C libraries load and answer.
public enum MachineDiagnostics {
    public static func checks() -> [Diagnosis] {
        var checks: [Diagnosis] = []
        do {
            let cookie = try MagicCookie()
            let answer = try Array("%PDF-1.4\n".utf8).withUnsafeBytes { try cookie.classify($0) }
            checks.append(
                Diagnosis(
                    "libmagic", .pass,
                    "libmagic \(LibraryVersions.libmagic) loaded its database (\(LibraryVersions.magicDatabase)); a PDF header reads as \(answer)"
                ))
        } catch {
            checks.append(
                Diagnosis(
                    "libmagic", .fail, "libmagic cannot load its database: \(error)",
                    fix: "install libmagic1 and libmagic-mgc (Debian/Ubuntu), or set MAGIC to a readable magic.mgc"))
        }
        if let data = exif_data_new() {
            exif_data_unref(data)
            checks.append(Diagnosis("libexif", .pass, "\(LibraryVersions.libexif) is loaded"))
        } else {
            checks.append(Diagnosis("libexif", .fail, "libexif could not allocate", fix: "install libexif12"))
        }
        checks.append(
            Diagnosis(
                "ffmpeg", .pass,
                "not needed: MP4/MOV/HEIC metadata is stripped by ingest itself, without ffmpeg, exiftool or any other program"
            ))
        return checks
    }
}
