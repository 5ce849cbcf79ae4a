import GRDB

/// A ledger write SQLite refused, said in words: a full disk reads "no space left on the ledger's disk", never
/// "cannot read the ledger".
public struct SQLiteLedgerError: Error, CustomStringConvertible {
    /// The ledger file.
    public var path: String
    /// SQLite's result code and message.
    public var underlying: DatabaseError

    /// Whether the disk (or the file size limit) is full.
    public var isDiskFull: Bool { underlying.resultCode == .SQLITE_FULL }

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
