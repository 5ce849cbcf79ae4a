import Foundation
import Glibc
import MediaIngest

extension ArchiveStage: Diagnosable {
    public func diagnose(_ context: DiagnosisContext) async -> [Diagnosis] {
        guard archiveMode == .move, let archivePath else {
            return [Diagnosis("archive", .pass, "sources are deleted after their confirmed upload (mode delete)")]
        }
        // A remote destination (`remote:path`) is the remote source's business: its own check lists the remote.
        if let written = archiveWritten, RemoteName.names(written) {
            return [Diagnosis("archive", .pass, "remote objects are moved to \(written) after their confirmed upload")]
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
