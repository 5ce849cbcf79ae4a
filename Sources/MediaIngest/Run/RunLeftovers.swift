import Foundation
import Glibc

/// What killed runs left behind: a run removes its work and scratch folders (`ingest-NAME-RUNID`) as it ends, but a
/// `kill -9` or a power cut skips that. The next runs of the pipeline remove such folders once they are six hours old
/// (a live run's folder changes as its assets come and go).
enum RunLeftovers {
    static let age: TimeInterval = 6 * 3600

    /// Removes the real folders in `parent` named like a run of `pipeline` and unchanged for ``age``. Links and
    /// anything else another user may have put in a shared folder are left alone, never followed.
    static func remove(pipeline: String, in parent: String, now: Date = Date()) {
        let prefix = "ingest-\(pipeline)-"
        let stale = now.addingTimeInterval(-age)
        for name in names(in: parent, withPrefix: prefix) where isRunID(name.utf8.dropFirst(prefix.utf8.count)) {
            let path = parent + "/" + name
            if let status = try? FileStatus.of(path, followLinks: false), status.kind == .directory,
                status.modificationDate < stale
            {
                FileSystem.removeTree(path)
            }
        }
    }

    /// The names in `folder` that start with `prefix`. Lean (readdir, a byte compare): `/tmp` may hold many thousands
    /// of entries, and every run lists it.
    static func names(in folder: String, withPrefix prefix: String) -> [String] {
        guard let directory = opendir(folder) else { return [] }
        defer { closedir(directory) }
        let needle = Array(prefix.utf8)
        var names: [String] = []
        while let record = readdir(directory) {
            let entry = DirectoryEntry(record)
            if entry.nameExtends(needle) { names.append(entry.name) }
        }
        return names
    }

    /// `true` for what `PipelineRunner.makeRunID(at:)` makes: `20261125T023149Z-44ef` (exactly; "photos-raw-…" is
    /// not a run of "photos").
    static func isRunID(_ text: Substring.UTF8View) -> Bool {
        let bytes = Array(text)
        guard bytes.count == 21 else { return false }
        func digit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
        func hex(_ byte: UInt8) -> Bool { digit(byte) || (byte >= 0x61 && byte <= 0x66) }
        return bytes[0..<8].allSatisfy(digit) && bytes[8] == UInt8(ascii: "T") && bytes[9..<15].allSatisfy(digit)
            && bytes[15] == UInt8(ascii: "Z") && bytes[16] == UInt8(ascii: "-") && bytes[17...].allSatisfy(hex)
    }
}
