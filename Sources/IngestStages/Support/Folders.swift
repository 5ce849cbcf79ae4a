import Foundation
import Glibc
import MediaIngest

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
