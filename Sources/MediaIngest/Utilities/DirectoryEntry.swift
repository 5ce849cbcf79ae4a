import Glibc
import MediaFormats

/// A record `readdir` returned, read in place; valid until the next `readdir` or `closedir` on its stream.
///
/// glibc packs the records in its buffer at their own length (`d_reclen`: the header and the name with its NUL,
/// rounded up to 8), not at `MemoryLayout<dirent>.size`. Copying `entry.pointee`, or its 256-byte `d_name` (which
/// `withUnsafeBytes(of: entry.pointee.d_name)` does), reads past a short record, and past the end of libc's buffer for
/// the last records in it: a crash when that buffer ends where unmapped memory begins (it did, in CI). So the name is
/// read through a pointer up to its NUL, and the type byte on its own.
public struct DirectoryEntry {
    private let record: UnsafeRawPointer

    private static let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
    private static let typeOffset = MemoryLayout<dirent>.offset(of: \dirent.d_type)!

    /// Wraps what `readdir` returned.
    public init(_ record: UnsafePointer<dirent>) { self.record = UnsafeRawPointer(record) }

    private var namePointer: UnsafePointer<CChar> {
        (record + Self.nameOffset).assumingMemoryBound(to: CChar.self)
    }

    /// The entry's name, bytes that are not UTF-8 included (`MediaFormats.FileName`: the same file is found by it again).
    public var name: String { FileName.decode(cString: namePointer) }

    /// The entry's name as the bytes `readdir` gave, NUL-terminated (for `openat`/`unlinkat` beside it).
    public var cName: [CChar] {
        let pointer = namePointer
        return Array(UnsafeBufferPointer(start: pointer, count: strlen(pointer) + 1))
    }

    /// `true` for `.` and `..`.
    public var isDotOrDotDot: Bool {
        let bytes = record + Self.nameOffset
        let first = bytes.load(as: UInt8.self)
        guard first == UInt8(ascii: ".") else { return false }
        let second = bytes.load(fromByteOffset: 1, as: UInt8.self)
        return second == 0 || (second == UInt8(ascii: ".") && bytes.load(fromByteOffset: 2, as: UInt8.self) == 0)
    }

    /// `true` when the name starts with `prefix` and goes on past it, compared in place (no string is made: a
    /// shared `/tmp` may hold thousands of entries).
    public func nameExtends(_ prefix: [UInt8]) -> Bool {
        prefix.withUnsafeBytes { wanted in
            guard let wantedBase = wanted.baseAddress else { return namePointer.pointee != 0 }
            // strncmp stops at the name's NUL: a shorter name differs before it is read past.
            return strncmp(namePointer, wantedBase.assumingMemoryBound(to: CChar.self), prefix.count) == 0
                && namePointer[prefix.count] != 0
        }
    }

    /// The file type the file system reported (`DT_DIR`, `DT_REG`, …; `DT_UNKNOWN` when it does not say).
    public var type: Int32 { Int32(record.load(fromByteOffset: Self.typeOffset, as: UInt8.self)) }
}
