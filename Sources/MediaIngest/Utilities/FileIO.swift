import Foundation
// MediaIngest targets Linux (Debian/Ubuntu); the POSIX calls below are Glibc's.
import Glibc

/// A failed system call on a file, naming the file, the operation and the reason (`strerror`).
public struct FileError: Error, Sendable, Hashable, CustomStringConvertible, AssetFailureDescribing {
    /// The file.
    public var path: String
    /// What was attempted (`open`, `read`, `rename`…).
    public var operation: String
    /// The `errno` value.
    public var code: Int32
    /// A reason more precise than `strerror(code)` ("not a regular file: a FIFO").
    public var detail: String?

    /// Creates an error.
    public init(path: String, operation: String, code: Int32, detail: String? = nil) {
        self.path = path
        self.operation = operation
        self.code = code
        self.detail = detail
    }

    /// The reason as the C library words it, or the detail.
    public var reason: String { detail ?? String(cString: strerror(code)) }

    /// `true` when the path is not a regular file (a device, FIFO, socket or folder): a verdict, not trouble that may pass.
    public var isNotRegularFile: Bool { code == EFTYPE_NOT_REGULAR }

    public var description: String { "cannot \(operation) \(path): \(reason)" }
    public var failureCode: AssetFailure.Code { .io }
    public var failureMessage: String { description }

    /// `true` for "no such file or directory".
    public var isNotFound: Bool { code == ENOENT }
}

/// The error code ``FileError`` uses for "not a regular file" (Linux's `EINVAL`, with a detail saying what it is).
let EFTYPE_NOT_REGULAR = EINVAL

/// What a non-regular file is, for messages.
func fileKindName(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFCHR: return "a character device"
    case S_IFBLK: return "a block device"
    case S_IFIFO: return "a FIFO (named pipe)"
    case S_IFSOCK: return "a socket"
    case S_IFDIR: return "a folder"
    default: return "not a regular file"
    }
}

/// The one place POSIX results become Swift errors: runs `body`, retrying on `EINTR`, and throws ``FileError``
/// when it returns -1.
@discardableResult
public func systemCall<T: FixedWidthInteger>(_ operation: String, path: String, _ body: () -> T) throws -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = errno
        if code == EINTR { continue }
        throw FileError(path: path, operation: operation, code: code)
    }
}

/// A file opened for reading; the descriptor is closed when the value is released.
public final class ReadableFile {
    /// The path.
    public let path: String
    /// The file descriptor.
    public let descriptor: Int32

    /// Opens `path` for reading (never following a final symbolic link when `noFollow` is set). Only regular files
    /// are opened: a device (`/dev/zero` never ends), a FIFO (blocks until a writer comes), a socket or a folder is
    /// refused before a byte is read — the descriptor is opened non-blocking, checked with `fstat` and closed.
    /// - Throws: ``FileError`` (``FileError/isNotRegularFile`` for those).
    public init(path: String, noFollow: Bool = false) throws {
        self.path = path
        // O_NONBLOCK: opening a FIFO does not wait for a writer; for regular files it changes nothing.
        var flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK
        if noFollow { flags |= O_NOFOLLOW }
        let descriptor = try systemCall("open", path: path) { path.withPlatformPath { open($0, flags) } }
        var info = stat()
        if fstat(descriptor, &info) != 0 || info.st_mode & S_IFMT != S_IFREG {
            let kind = fileKindName(info.st_mode)
            close(descriptor)
            throw FileError(
                path: path, operation: "read", code: EFTYPE_NOT_REGULAR, detail: "not a regular file (\(kind))")
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Reads up to `count` bytes into `buffer` at the current position; returns 0 at the end of the file.
    /// - Throws: ``FileError``.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        return try systemCall("read", path: path) { Glibc.read(descriptor, base, buffer.count) }
    }

    /// Fills `buffer` from `offset` (without moving the position), stopping early only at the end of the file.
    /// - Returns: how many bytes were read.
    /// - Throws: ``FileError``.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var filled = 0
        while filled < buffer.count {
            let got = try systemCall("read", path: path) {
                pread(descriptor, base + filled, buffer.count - filled, off_t(offset) + off_t(filled))
            }
            if got == 0 { break }
            filled += got
        }
        return filled
    }

    /// Reads up to `count` bytes at `offset` without moving the position.
    /// - Throws: ``FileError``.
    public func read(count: Int, at offset: Int64) throws -> [UInt8] {
        guard count > 0 else { return [] }
        // Uninitialised storage: the bytes past what was read are never exposed (initializedCount = filled).
        return try [UInt8](unsafeUninitializedCapacity: count) { buffer, initializedCount in
            initializedCount = try read(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
        }
    }

    /// Reads the first `count` bytes (fewer for a shorter file).
    public func readHead(_ count: Int) throws -> [UInt8] { try read(count: count, at: 0) }

    /// The file's size and modification time.
    public func status() throws -> FileStatus {
        var info = stat()
        try systemCall("stat", path: path) { fstat(descriptor, &info) }
        return FileStatus(info)
    }
}

/// A new file written from the start; closed (not removed) when released. Call ``commit(durable:)`` to flush and close,
/// checking for errors.
public final class WritableFile {
    /// The path.
    public let path: String
    private var descriptor: Int32

    /// The open file descriptor (for streaming writers); -1 after ``commit(durable:)``.
    public var fileDescriptor: Int32 { descriptor }

    /// Creates (or truncates) `path` with permissions `0644`. With `exclusive`, fails if it exists.
    /// - Throws: ``FileError``.
    public init(path: String, exclusive: Bool = false, mode: mode_t = 0o644) throws {
        self.path = path
        var flags = O_WRONLY | O_CREAT | O_CLOEXEC
        flags |= exclusive ? O_EXCL : O_TRUNC
        descriptor = try systemCall("create", path: path) { path.withPlatformPath { open($0, flags, mode) } }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Writes all of `bytes`.
    /// - Throws: ``FileError`` (a full disk, for instance).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = try systemCall("write", path: path) { Glibc.write(descriptor, base, remaining) }
            base += written
            remaining -= written
        }
    }

    /// Writes all of `bytes`.
    public func write(_ bytes: some ContiguousBytes) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Flushes to disk (`fsync`) when `durable`, then closes.
    /// - Throws: ``FileError`` if flushing or closing fails (data may not be on disk).
    public func commit(durable: Bool = true) throws {
        guard descriptor >= 0 else { return }
        if durable { try systemCall("fsync", path: path) { fsync(descriptor) } }
        let result = close(descriptor)
        descriptor = -1
        if result == -1 { throw FileError(path: path, operation: "close", code: errno) }
    }
}

/// The parts of `stat` stages use.
public struct FileStatus: Sendable, Hashable {
    /// Size in bytes.
    public var size: Int64
    /// Modification time.
    public var modificationDate: Date
    /// Modification time in nanoseconds since 1970 (exact, for ledger identity).
    public var modificationNanoseconds: Int64
    /// Device and inode (identity across renames, loop detection).
    public var device: UInt64
    public var inode: UInt64
    /// The file type bits.
    public var kind: Kind
    /// What the entry is, in words, for ``Kind/other`` above all ("a FIFO (named pipe)", "a character device").
    public var kindDescription: String

    /// Kinds of directory entries.
    public enum Kind: Sendable, Hashable {
        case regular, directory, symbolicLink, other
    }

    init(_ info: stat) {
        size = Int64(info.st_size)
        let nanoseconds = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        modificationNanoseconds = nanoseconds
        modificationDate = Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        kindDescription = info.st_mode & S_IFMT == S_IFREG ? "a regular file" : fileKindName(info.st_mode)
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        default: kind = .other
        }
    }

    /// `stat` (following links) or `lstat` (not following) on a path.
    /// - Throws: ``FileError``.
    public static func of(_ path: String, followLinks: Bool = true) throws -> FileStatus {
        var info = stat()
        if followLinks {
            try systemCall("stat", path: path) { path.withPlatformPath { stat($0, &info) } }
        } else {
            try systemCall("lstat", path: path) { path.withPlatformPath { lstat($0, &info) } }
        }
        return FileStatus(info)
    }
}

extension NSError {
    /// The POSIX error code inside a Foundation error, if there is one.
    var posixCode: Int32? {
        if domain == NSPOSIXErrorDomain { return Int32(code) }
        if let underlying = userInfo[NSUnderlyingErrorKey] as? NSError { return underlying.posixCode }
        return nil
    }
}
