import Foundation
import GRDB
import Glibc

/// A ledger write SQLite refused, said in words: a full disk reads "no space left on the ledger's disk", never
/// "cannot read the ledger".
public struct SQLiteLedgerError: Error, CustomStringConvertible {
    /// The ledger file.
    public var path: String
    /// SQLite's result code and message.
    public var underlying: DatabaseError

    /// Whether the disk is full: SQLite said so, or an I/O error (creating the WAL index, growing a file) met a
    /// file system with no room left.
    public var isDiskFull: Bool {
        underlying.resultCode == .SQLITE_FULL
            || (underlying.resultCode == .SQLITE_IOERR && Self.isFull(folderOf: path))
    }

    /// Whether the file system holding `path`'s folder has (almost) no room left for this user.
    static func isFull(folderOf path: String) -> Bool {
        var info = statvfs()
        let folder = (path as NSString).deletingLastPathComponent
        guard statvfs(folder.isEmpty ? "." : folder, &info) == 0 else { return false }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize) < 64 << 10
    }

    public var description: String {
        if isDiskFull {
            return
                "cannot write the ledger \(path): no space left on its disk (SQLite: \(underlying.message ?? "full"))"
        }
        return "cannot write the ledger \(path): \(underlying)"
    }
}

extension SQLiteLedger {
    /// `database.write`, with SQLite's errors said as ``SQLiteLedgerError``.
    func writing<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.write(updates)
        } catch let error as DatabaseError {
            throw SQLiteLedgerError(path: database.path, underlying: error)
        }
    }
}
