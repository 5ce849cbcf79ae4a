import CLinux
import Glibc
import MediaIngest

/// Copies of files that cost as little as the file system allows: a reflink (`FICLONE`: shared extents, copy on
/// write — btrfs, XFS), else a hard link (the same inode: no data written at all), else a copy that keeps holes
/// (sparse files stay sparse: only the data extents found with `SEEK_DATA`/`SEEK_HOLE` are copied, by the kernel).
enum FileCloning {
    /// How a copy was made.
    enum Method: String {
        case reflink, hardLink = "hard-link", sparseCopy = "sparse-copy", copy
    }

    /// Makes `destination` (which must not exist) a copy of `source`.
    /// - Parameters:
    ///   - allowHardLink: a hard link shares the inode, so later edits of either file show in both; callers that
    ///     need an independent copy pass `false`.
    ///   - maxCopyBytes: the largest file copied byte for byte when neither a reflink nor a hard link is possible;
    ///     above it nothing is written and ``CopyRefused`` is thrown.
    /// - Throws: ``FileError``; ``CopyRefused``; `CancellationError`.
    @discardableResult
    static func duplicate(
        from source: String, to destination: String, allowHardLink: Bool, maxCopyBytes: Int64?
    ) throws -> Method {
        let input = try ReadableFile(path: source)
        let size = try input.status().size
        func create() throws -> Int32 {
            try systemCall("create", path: destination) {
                destination.withPlatformPath { open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
            }
        }
        // A reflink: a new file sharing the source's extents.
        let clone = try create()
        let cloned = clinux_ficlone(clone, input.descriptor) == 0
        close(clone)
        if cloned { return .reflink }
        FileSystem.removeFile(destination)
        // A hard link to what the path names (following a link inside the source folder, not linking the link).
        if allowHardLink,
            source.withPlatformPath({ from in
                destination.withPlatformPath { linkat(AT_FDCWD, from, AT_FDCWD, $0, AT_SYMLINK_FOLLOW) }
            }) == 0
        {
            return .hardLink
        }
        if let maxCopyBytes, size > maxCopyBytes { throw CopyRefused(size: size, limit: maxCopyBytes) }
        let output = try create()
        defer { close(output) }
        do {
            let method = try copyKeepingHoles(input.descriptor, size: size, to: output, path: destination)
            try systemCall("fsync", path: destination) { fsync(output) }
            return method
        } catch {
            FileSystem.removeFile(destination)
            throw error
        }
    }

    /// Copies the data extents of `input` and leaves the holes as holes.
    static func copyKeepingHoles(_ input: Int32, size: Int64, to output: Int32, path: String) throws -> Method {
        var sparse = false
        var offset: off_t = 0
        while offset < off_t(size) {
            try Task.checkCancellation()
            let data = clinux_seek_data(input, offset)
            if data < 0 {
                if errno == ENXIO {
                    sparse = true
                    break
                }  // only a hole is left
                // No SEEK_DATA here: one extent, the whole file.
                try copyRange(input, from: offset, length: off_t(size) - offset, to: output, path: path)
                break
            }
            var hole = clinux_seek_hole(input, data)
            if hole < 0 { hole = off_t(size) }
            if data > offset { sparse = true }
            guard lseek(output, data, SEEK_SET) >= 0 else {
                throw FileError(path: path, operation: "seek", code: errno)
            }
            try copyRange(input, from: data, length: hole - data, to: output, path: path)
            offset = hole
        }
        // Holes at the end: the size says where the file ends.
        try systemCall("truncate", path: path) { ftruncate(output, off_t(size)) }
        return sparse ? .sparseCopy : .copy
    }

    static func copyRange(_ input: Int32, from start: off_t, length: off_t, to output: Int32, path: String) throws {
        var position = start
        var left = length
        while left > 0 {
            try Task.checkCancellation()
            let copied = clinux_copy_file_range(input, &position, output, Int(min(left, 64 << 20)))
            if copied < 0 {
                if errno == EINTR { continue }
                if [EXDEV, EINVAL, ENOSYS, EOPNOTSUPP].contains(errno) {
                    try copyThroughMemory(input, from: position, length: left, to: output, path: path)
                    return
                }
                throw FileError(path: path, operation: "copy into", code: errno)
            }
            if copied == 0 { return }
            left -= off_t(copied)
        }
    }

    static func copyThroughMemory(
        _ input: Int32, from start: off_t, length: off_t, to output: Int32, path: String
    ) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var position = start
        var left = length
        while left > 0 {
            try Task.checkCancellation()
            let count = try systemCall("read", path: path) {
                pread(input, buffer.baseAddress, Int(min(left, off_t(buffer.count))), position)
            }
            if count == 0 { return }
            var written = 0
            while written < count {
                written += try systemCall("write", path: path) {
                    write(output, buffer.baseAddress! + written, count - written)
                }
            }
            position += off_t(count)
            left -= off_t(count)
        }
    }
}

/// A copy that would have exceeded its size cap (nothing was written).
struct CopyRefused: Error, CustomStringConvertible {
    var size: Int64
    var limit: Int64
    var description: String { "\(ByteSize.format(size)) is over the \(ByteSize.format(limit)) copy limit" }
}
