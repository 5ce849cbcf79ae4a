import Foundation
import Glibc
import MediaIngest

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
