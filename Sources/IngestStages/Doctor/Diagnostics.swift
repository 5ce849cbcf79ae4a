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

/// A path's file system, and whether a process could create entries there.
enum Folders {
    /// The nearest existing folder at or above `path`.
    static func existingAncestor(_ path: String) -> String {
        var current = (path as NSString).standardizingPath
        while !current.isEmpty, current != "/" {
            if (try? FileStatus.of(current))?.kind == .directory { return current }
            current = (current as NSString).deletingLastPathComponent
        }
        return "/"
    }

    static func device(_ path: String) -> UInt64? { (try? FileStatus.of(path))?.device }

    static func isWritable(_ path: String) -> Bool { access(path, W_OK | X_OK) == 0 }

    /// A failed `check` when `path` (or `existing`, its nearest existing ancestor) cannot be written by this user.
    static func unwritable(_ path: String, below existing: String, check: String) -> Diagnosis? {
        guard !isWritable(existing) else { return nil }
        return Diagnosis(
            check, .fail, "\(path) cannot be created or written (\(existing) is not writable)",
            fix: "create \(path) and give the user running ingest write permission")
    }

    /// Free bytes for this user where `path` is.
    static func freeBytes(_ path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }
}

extension DirectorySource: Diagnosable, FolderReading {
    public var readRoot: String { root }

    public func diagnose(_ context: DiagnosisContext) async -> [Diagnosis] {
        let status: FileStatus
        do {
            status = try FileStatus.of(root)
        } catch {
            return [
                Diagnosis(
                    "inbox", .fail, "\(root): \(FileSystem.describe(error))",
                    fix: "create it (mkdir -p \(root)) or point source.directory's path at the folder to ingest")
            ]
        }
        guard status.kind == .directory else {
            return [Diagnosis("inbox", .fail, "\(root) is not a folder", fix: "point path at a folder")]
        }
        guard let directory = opendir(root) else {
            return [
                Diagnosis(
                    "inbox", .fail, "\(root) cannot be read: \(String(cString: strerror(errno)))",
                    fix: "give the user running ingest read and search permission on it")
            ]
        }
        var entries = 0
        while entries < 100_000, let record = readdir(directory) {
            if !DirectoryEntry(record).isDotOrDotDot { entries += 1 }
        }
        closedir(directory)
        var checks = [
            Diagnosis(
                "inbox", .pass,
                "\(root) is readable (\(entries == 100_000 ? "over 100,000" : "\(entries)") entries at its top)")
        ]
        if companions.mode == .attach {
            checks.append(
                Diagnosis("sidecars", .pass, "sidecars are read (attach), at most \(companions.maxBytes) bytes each"))
        }
        return checks
    }
}

extension ListSource: Diagnosable {
    public func diagnose(_ context: DiagnosisContext) async -> [Diagnosis] {
        guard let listPath else { return [Diagnosis("list", .pass, "paths are read from standard input")] }
        guard access(listPath, R_OK) == 0 else {
            return [
                Diagnosis(
                    "list", .fail, "\(listPath): \(String(cString: strerror(errno)))",
                    fix: "create the list (one path or URL per line) or fix source.list's file")
            ]
        }
        return [Diagnosis("list", .pass, "\(listPath) is readable")]
    }
}

extension ArchiveStage: Diagnosable {
    public func diagnose(_ context: DiagnosisContext) async -> [Diagnosis] {
        guard archiveMode == .move, let archivePath else {
            return [Diagnosis("archive", .pass, "sources are deleted after their confirmed upload (mode delete)")]
        }
        let existing = Folders.existingAncestor(archivePath)
        if let failure = Folders.unwritable(archivePath, below: existing, check: "archive") { return [failure] }
        guard let archiveDevice = Folders.device(existing) else { return [] }
        var checks: [Diagnosis] = []
        for root in context.sourceRoots {
            guard let device = Folders.device(root) else { continue }
            if device == archiveDevice {
                checks.append(
                    Diagnosis(
                        "archive", .pass,
                        "\(archivePath) is on the same file system as \(root): archiving renames, instantly"))
            } else {
                checks.append(
                    Diagnosis(
                        "archive", .warn,
                        "\(archivePath) is on another file system than \(root): each file is copied, then deleted",
                        fix: "put the archive on the inbox's file system to archive by rename"))
            }
        }
        return checks.isEmpty ? [Diagnosis("archive", .pass, "\(archivePath) is writable")] : checks
    }
}

extension LibraryStage: Diagnosable {
    public func diagnose(_ context: DiagnosisContext) async -> [Diagnosis] {
        let existing = Folders.existingAncestor(libraryPath)
        if let failure = Folders.unwritable(libraryPath, below: existing, check: "library") { return [failure] }
        let free = Folders.freeBytes(existing).map { " (\($0 / 1_000_000) MB free)" } ?? ""
        return [Diagnosis("library", .pass, "\(libraryPath) is writable\(free)")]
    }
}

extension ExecStage: Diagnosable {
    public func diagnose(_ context: DiagnosisContext) async -> [Diagnosis] {
        [Diagnosis("exec", .pass, "runs \(displayCommand) (found when the pipeline was built)")]
    }
}
