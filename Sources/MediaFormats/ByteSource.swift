import Glibc

/// Random-access bytes: a file read with `pread`, or an array in memory (tests, fuzzing).
///
/// Parsers read through this protocol so that a header parse touches only the blocks it needs: a 4 GiB video
/// costs one or two 64 KiB reads, not 4 GiB.
public protocol ByteSource {
    /// Total length in bytes.
    var count: Int64 { get }
    /// Up to `length` bytes starting at `offset` (fewer at the end; none past the end).
    /// - Throws: ``FormatError/io(_:)`` when the underlying read fails.
    func bytes(at offset: Int64, count length: Int) throws -> [UInt8]
}

extension ByteSource {
    /// Exactly `length` bytes at `offset`.
    /// - Throws: ``FormatError/truncated(_:)`` when the source ends first.
    func exactly(_ length: Int, at offset: Int64, _ what: @autoclosure () -> String) throws -> [UInt8] {
        guard offset >= 0, length >= 0, offset + Int64(length) <= count else {
            throw FormatError.truncated("file ends inside \(what())")
        }
        let data = try bytes(at: offset, count: length)
        guard data.count == length else { throw FormatError.truncated("file ends inside \(what())") }
        return data
    }

    /// The byte at `offset`, or `nil` past the end.
    func byte(at offset: Int64) throws -> UInt8? {
        guard offset >= 0, offset < count else { return nil }
        return try bytes(at: offset, count: 1).first
    }
}

/// Bytes held in memory.
public struct MemoryBytes: ByteSource {
    /// The bytes.
    public let storage: [UInt8]

    /// Wraps `storage`.
    public init(_ storage: [UInt8]) { self.storage = storage }

    public var count: Int64 { Int64(storage.count) }

    public func bytes(at offset: Int64, count length: Int) throws -> [UInt8] {
        guard offset >= 0, offset < count, length > 0 else { return [] }
        let start = Int(offset)
        let end = min(storage.count, start + length)
        return Array(storage[start..<end])
    }
}

/// A file read with `pread` through a small block cache. Not thread-safe: one parse, one instance.
public final class FileBytes: ByteSource {
    /// The file's path.
    public let path: String
    /// The file's size when it was opened.
    public let count: Int64
    let descriptor: Int32
    private let blockSize = 65_536
    private var cachedOffset: Int64 = -1
    private var cache: [UInt8] = []

    /// Opens a regular file (a device, FIFO or socket is refused without reading a byte: opened non-blocking and
    /// checked with `fstat`).
    /// - Throws: ``FormatError/io(_:)`` naming the file and the reason.
    public init(path: String) throws {
        self.path = path
        let fd = FileName.withPlatformPath(path) { open($0, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
        guard fd >= 0 else { throw FormatError.io("cannot open \(path): \(String(cString: strerror(errno)))") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw FormatError.io("cannot stat \(path): \(reason)")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw FormatError.io("cannot read \(path): not a regular file")
        }
        descriptor = fd
        count = Int64(info.st_size)
    }

    deinit { close(descriptor) }

    public func bytes(at offset: Int64, count length: Int) throws -> [UInt8] {
        guard offset >= 0, offset < count, length > 0 else { return [] }
        let length = Int(min(Int64(length), count - offset))
        // Served from the cached block when it covers the request.
        if cachedOffset >= 0, offset >= cachedOffset, offset + Int64(length) <= cachedOffset + Int64(cache.count) {
            let start = Int(offset - cachedOffset)
            return Array(cache[start..<(start + length)])
        }
        if length <= blockSize {
            let blockStart = offset
            cache = try read(at: blockStart, count: Int(min(Int64(blockSize), count - blockStart)))
            cachedOffset = blockStart
            let available = min(length, cache.count)
            return Array(cache[0..<available])
        }
        return try read(at: offset, count: length)
    }

    private func read(at offset: Int64, count length: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: length)
        var filled = 0
        while filled < length {
            let got = buffer.withUnsafeMutableBytes { raw in
                pread(descriptor, raw.baseAddress! + filled, length - filled, off_t(offset) + off_t(filled))
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw FormatError.io("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            filled += got
        }
        if filled < length { buffer.removeSubrange(filled...) }
        return buffer
    }
}

/// Why a file could not be parsed.
public enum FormatError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file ends before its structure says it should.
    case truncated(String)
    /// The structure is invalid.
    case malformed(String)
    /// A structure points back to itself (a TIFF IFD chain that loops).
    case loop(String)
    /// The file could not be read.
    case io(String)

    public var description: String {
        switch self {
        case .truncated(let text), .malformed(let text), .loop(let text), .io(let text): return text
        }
    }
}

// MARK: - Integer reading

@inline(__always) func be16(_ bytes: [UInt8], _ index: Int) -> Int { Int(bytes[index]) << 8 | Int(bytes[index + 1]) }
@inline(__always) func le16(_ bytes: [UInt8], _ index: Int) -> Int { Int(bytes[index]) | Int(bytes[index + 1]) << 8 }
@inline(__always) func be32(_ bytes: [UInt8], _ index: Int) -> UInt32 {
    UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16 | UInt32(bytes[index + 2]) << 8
        | UInt32(bytes[index + 3])
}
@inline(__always) func le32(_ bytes: [UInt8], _ index: Int) -> UInt32 {
    UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3])
        << 24
}
@inline(__always) func le24(_ bytes: [UInt8], _ index: Int) -> Int {
    Int(bytes[index]) | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2]) << 16
}
