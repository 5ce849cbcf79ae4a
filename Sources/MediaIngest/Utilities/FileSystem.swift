import Foundation
import Glibc

/// Small file-system helpers with errors that name the file.
public enum FileSystem {
    /// Creates `path` and its parents.
    /// - Throws: ``FileError``.
    public static func createDirectory(_ path: String) throws {
        // mkdir(2) one component at a time, through the name's bytes (a name that is not UTF-8 stays itself).
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            guard prefix.withPlatformPath({ mkdir($0, 0o755) }) != 0 else { continue }
            let code = errno
            guard code == EEXIST, (try? FileStatus.of(prefix))?.kind == .directory else {
                throw FileError(path: path, operation: "create folder", code: code == EEXIST ? ENOTDIR : code)
            }
        }
    }

    /// Creates the folder `path` afresh, readable by this user only (mode 0700), and its parents if needed. A folder
    /// or link already there is refused (`EEXIST`): in a shared folder such as `/tmp`, it could be someone else's.
    /// - Throws: ``FileError``.
    public static func createPrivateDirectory(_ path: String) throws {
        try createDirectory((path as NSString).deletingLastPathComponent)
        _ = try systemCall("create folder", path: path) { path.withPlatformPath { mkdir($0, 0o700) } }
    }

    /// Removes a folder and everything in it, without following symbolic links; a missing folder is not an error.
    /// Lean on purpose (readdir, unlinkat, rmdir): the runner calls it for every asset that had a work folder.
    public static func removeTree(_ path: String) {
        // O_NOFOLLOW: a link planted where the folder should be (a shared /tmp) is removed, never walked into.
        let descriptor = path.withPlatformPath { open($0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard descriptor >= 0 else {
            _ = path.withPlatformPath { unlink($0) }
            return
        }
        removeContents(ofDirectory: descriptor)
        _ = path.withPlatformPath { rmdir($0) }
    }

    /// Empties the open folder `descriptor` (and closes it), reaching each subfolder from its parent's descriptor
    /// (`openat`, no path is resolved twice), so nothing swapped in for a subfolder is followed.
    private static func removeContents(ofDirectory descriptor: Int32) {
        guard let directory = fdopendir(descriptor) else {
            close(descriptor)
            return
        }
        defer { closedir(directory) }
        var subfolders: [[CChar]] = []
        while let record = readdir(directory) {
            let entry = DirectoryEntry(record)
            if entry.isDotOrDotDot { continue }
            let name = entry.cName
            if entry.type == DT_DIR {
                subfolders.append(name)
            } else if unlinkat(descriptor, name, 0) != 0 && errno == EISDIR {
                subfolders.append(name)
            }
        }
        for name in subfolders {
            let child = openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if child >= 0 { removeContents(ofDirectory: child) }
            _ = unlinkat(descriptor, name, child >= 0 ? AT_REMOVEDIR : 0)
        }
    }

    /// The names in a folder (not `.` and `..`), every one of them: a name that is not UTF-8 is kept (`MediaFormats.FileName`),
    /// where `FileManager.contentsOfDirectory` drops or mangles it.
    /// - Throws: ``FileError`` when the folder cannot be opened or read.
    public static func names(in path: String) throws -> [String] {
        let descriptor = try systemCall("list", path: path) {
            path.withPlatformPath { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        }
        guard let directory = fdopendir(descriptor) else {
            let code = errno
            close(descriptor)
            throw FileError(path: path, operation: "list", code: code)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while true {
            errno = 0
            guard let record = readdir(directory) else {
                if errno != 0 { throw FileError(path: path, operation: "list", code: errno) }
                return names
            }
            let entry = DirectoryEntry(record)
            if !entry.isDotOrDotDot { names.append(entry.name) }
        }
    }

    /// Whether anything (a link included, even a broken one) is at `path`; a name that is not UTF-8 included.
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return path.withPlatformPath { lstat($0, &info) } == 0
    }

    /// Renames atomically (same file system).
    /// - Throws: ``FileError``.
    public static func rename(_ from: String, to: String) throws {
        try systemCall("rename", path: from) {
            from.withPlatformPath { old in to.withPlatformPath { Glibc.rename(old, $0) } }
        }
    }

    /// Gives `from` the name `to` unless `to` exists (a hard link, then the old name removed: atomic, never
    /// overwriting, on one file system). Returns `false` when `to` exists.
    /// - Throws: ``FileError`` for any other failure.
    public static func renameNoReplace(_ from: String, to: String) throws -> Bool {
        let linked = from.withPlatformPath { old in to.withPlatformPath { Glibc.link(old, $0) } }
        if linked != 0 {
            if errno == EEXIST { return false }
            throw FileError(path: to, operation: "link", code: errno)
        }
        removeFile(from)
        return true
    }

    /// One line for a Foundation or POSIX file error: `No such file or directory`.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? FileError { return error.reason }
        let nsError = error as NSError
        if let code = nsError.posixCode { return String(cString: strerror(code)) }
        if nsError.domain == NSCocoaErrorDomain {
            switch nsError.code {
            case NSFileReadNoSuchFileError, NSFileNoSuchFileError: return String(cString: strerror(ENOENT))
            case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return String(cString: strerror(EACCES))
            default: break
            }
        }
        return nsError.localizedDescription
    }

    /// Removes a file; a missing file is not an error.
    public static func removeFile(_ path: String) {
        _ = path.withPlatformPath { unlink($0) }
    }

    /// Removes a file, reporting failure (a missing file included).
    /// - Throws: ``FileError``.
    public static func removeItem(_ path: String) throws {
        try systemCall("delete", path: path) { path.withPlatformPath { unlink($0) } }
        syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// Moves a file: `rename(2)` on one file system; across file systems a durable copy, then the source is
    /// deleted (only after the copy is flushed and renamed into place, so a crash never loses the file).
    /// - Throws: ``FileError``.
    public static func move(_ from: String, to destination: String) throws {
        if from.withPlatformPath({ old in destination.withPlatformPath { Glibc.rename(old, $0) } }) == 0 {
            syncDirectory((destination as NSString).deletingLastPathComponent)
            return
        }
        guard errno == EXDEV else { throw FileError(path: from, operation: "move", code: errno) }
        let temporary = destination + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try copy(from: from, to: temporary, exclusive: true)
            try rename(temporary, to: destination)
            syncDirectory((destination as NSString).deletingLastPathComponent)
        } catch {
            removeFile(temporary)
            throw error
        }
        try removeItem(from)
    }

    /// Flushes a folder's entries to disk (after a `rename` into it), ignoring errors.
    public static func syncDirectory(_ path: String) {
        let descriptor = path.withPlatformPath { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    /// Writes `data` to `path` atomically: a temporary file beside it, flushed, then renamed over it.
    /// - Throws: ``FileError``.
    public static func writeAtomically(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            let file = try WritableFile(path: temporary, exclusive: true)
            try file.write(data)
            try file.commit()
            try rename(temporary, to: path)
            syncDirectory((path as NSString).deletingLastPathComponent)
        } catch {
            removeFile(temporary)
            throw error
        }
    }

    /// Copies a file by streaming it in 1 MiB blocks, calling `observe` with each block (to hash while copying).
    /// The destination is written durably. Returns the number of bytes copied.
    /// - Throws: ``FileError`` naming the file that failed; `CancellationError`.
    @discardableResult
    public static func copy(
        from source: String, to destination: String, exclusive: Bool = false,
        observe: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) throws -> Int64 {
        let input = try ReadableFile(path: source)
        let output = try WritableFile(path: destination, exclusive: exclusive)
        var total: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            try Task.checkCancellation()
            let count = try input.read(into: buffer)
            if count == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<count])
            observe(chunk)
            try output.write(chunk)
            total += Int64(count)
        }
        try output.commit()
        return total
    }

    /// ``copy(from:to:exclusive:observe:)`` held to a rate: each block waits for `limiter` before it is written.
    public static func copy(
        from source: String, to destination: String, exclusive: Bool = false, limiter: ByteRateLimiter,
        observe: (UnsafeRawBufferPointer) -> Void = { _ in }
    ) async throws -> Int64 {
        let input = try ReadableFile(path: source)
        let output = try WritableFile(path: destination, exclusive: exclusive)
        var total: Int64 = 0
        let blockSize = 256 << 10
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            try Task.checkCancellation()
            let count = try input.read(into: buffer)
            if count == 0 { break }
            try await limiter.take(count)
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<count])
            observe(chunk)
            try output.write(chunk)
            total += Int64(count)
        }
        try output.commit()
        return total
    }

    /// Streams a file in 1 MiB blocks through `body`, stopping with `CancellationError` when the task is cancelled.
    /// - Throws: ``FileError``, `CancellationError` or what `body` throws.
    public static func forEachBlock(
        of path: String, blockSize: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let input = try ReadableFile(path: path)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            try Task.checkCancellation()
            let count = try input.read(into: buffer)
            if count == 0 { break }
            try body(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }
}
