import Foundation
import Glibc
import MediaIngest

extension LibraryStage: Diagnosable {
    public func diagnose(_ context: DiagnosisContext) async -> [Diagnosis] {
        let existing = Folders.existingAncestor(libraryPath)
        if let failure = Folders.unwritable(libraryPath, below: existing, check: "library") { return [failure] }
        let free = Folders.freeBytes(existing).map { " (\($0 / 1_000_000) MB free)" } ?? ""
        return [Diagnosis("library", .pass, "\(libraryPath) is writable\(free)")]
    }
}
