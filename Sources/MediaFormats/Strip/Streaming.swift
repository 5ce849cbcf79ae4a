import CLinux
import Glibc

/// A sequential source of bytes: a file descriptor, or an array (tests and fuzzing).
public protocol ByteReader {
    /// Reads up to `buffer.count` bytes; returns 0 at the end.
    /// - Throws: ``FormatError/io(_:)``.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A sequential destination of bytes that can patch what it already wrote (a RIFF length, for instance).
public protocol ByteWriter {
    /// Appends bytes.
    /// - Throws: ``FormatError/io(_:)``.
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Overwrites bytes already written at `offset`.
    mutating func patch(at offset: Int64, _ bytes: [UInt8]) throws
    /// Bytes written so far.
    var count: Int64 { get }
    /// Appends the bytes of `range` of `source` (a default reads them through memory in 1 MiB chunks).
    /// - Parameter checkpoint: called between chunks; what it throws stops the copy (cancellation).
    mutating func copy(_ range: Range<Int64>, from source: some ByteSource, checkpoint: () throws -> Void) throws
}

extension ByteWriter {
    /// Appends an array of bytes.
    public mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }
}

/// Reads an array.
public struct MemoryReader: ByteReader {
    private let bytes: [UInt8]
    private var position = 0

    /// Reads `bytes` from the start.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - position)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + position, byteCount: count)
        }
        position += count
        return count
    }
}

/// Collects written bytes in an array.
public struct MemoryWriter: ByteWriter {
    /// Everything written.
    public private(set) var bytes: [UInt8] = []

    /// An empty writer.
    public init() {}

    public var count: Int64 { Int64(bytes.count) }
    public mutating func write(_ buffer: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: buffer) }
    public mutating func patch(at offset: Int64, _ replacement: [UInt8]) throws {
        let start = Int(offset)
        guard start >= 0, start + replacement.count <= bytes.count else {
            throw FormatError.io("patch outside the written data")
        }
        bytes.replaceSubrange(start..<(start + replacement.count), with: replacement)
    }
}

/// Reads a file descriptor it does not own.
public struct DescriptorReader: ByteReader {
    let descriptor: Int32
    let path: String

    /// Reads from `descriptor` (which stays open; its owner closes it).
    public init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw FormatError.io("cannot read \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// Writes a file descriptor it does not own, through a buffer: the strippers hand over many short spans (a JPEG's
/// entropy-coded data is copied between its `0xFF` bytes), and one `write(2)` per span cost a third of a strip in
/// system calls. Call ``flush()`` when done: bytes still in the buffer are not in the file before it.
public struct DescriptorWriter: ByteWriter {
    let descriptor: Int32
    let path: String
    /// Bytes accepted so far (written or buffered).
    public private(set) var count: Int64 = 0
    private var buffer: [UInt8] = []
    private let capacity: Int
    /// Bytes already in the file.
    private var flushed: Int64 = 0
    private let observer: ((UnsafeRawBufferPointer) -> Void)?
    /// `true` once a patch changed bytes already in the file (and already shown to the observer): whatever the
    /// observer computed from the stream (a hash) no longer describes the file.
    public private(set) var patchedWrittenBytes = false

    /// Writes to `descriptor` (which stays open; its owner closes it), buffering up to `capacity` bytes.
    /// - Parameter observer: sees every byte once, in file order, as it goes to the file (to hash the output).
    public init(
        descriptor: Int32, path: String, capacity: Int = 256 * 1024, observer: ((UnsafeRawBufferPointer) -> Void)? = nil
    ) {
        self.descriptor = descriptor
        self.path = path
        self.capacity = max(capacity, 1)
        self.observer = observer
        buffer.reserveCapacity(self.capacity)
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        if buffer.count + bytes.count > capacity { try flush() }
        if bytes.count >= capacity {
            try writeAll(bytes)
            observer?(bytes)
            flushed += Int64(bytes.count)
        } else {
            buffer.append(contentsOf: bytes)
        }
        count += Int64(bytes.count)
    }

    /// Writes the buffered bytes to the file.
    /// - Throws: ``FormatError/io(_:)``.
    public mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { bytes in
            try writeAll(bytes)
            observer?(bytes)
        }
        flushed += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }

    public mutating func patch(at offset: Int64, _ bytes: [UInt8]) throws {
        // Bytes still in the buffer are patched there; a patch reaching into the file is written after a flush.
        if offset >= flushed, offset + Int64(bytes.count) <= flushed + Int64(buffer.count) {
            let start = Int(offset - flushed)
            buffer.replaceSubrange(start..<(start + bytes.count), with: bytes)
            return
        }
        try flush()
        patchedWrittenBytes = true
        let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
        guard written == bytes.count else {
            throw FormatError.io("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Copies a range of a file: by the kernel (`copy_file_range`, a reflink on file systems that share extents)
    /// when the source is a ``FileBytes`` and no observer needs the bytes, else through memory.
    public mutating func copy(_ range: Range<Int64>, from source: some ByteSource, checkpoint: () throws -> Void) throws
    {
        guard observer == nil, let file = source as? FileBytes else {
            try copyThroughMemory(range, from: source, checkpoint: checkpoint)
            return
        }
        try flush()
        var sourceOffset = off_t(range.lowerBound)
        var left = range.upperBound - range.lowerBound
        while left > 0 {
            try checkpoint()
            // Chunks of 64 MiB so cancellation is seen between them.
            let copied = clinux_copy_file_range(file.descriptor, &sourceOffset, descriptor, Int(min(left, 64 << 20)))
            if copied < 0 {
                if errno == EINTR { continue }
                if [EXDEV, EINVAL, ENOSYS, EOPNOTSUPP, EBADF].contains(errno) {
                    // Not supported between these two files: finish through memory.
                    try copyThroughMemory(Int64(sourceOffset)..<range.upperBound, from: source, checkpoint: checkpoint)
                    return
                }
                throw FormatError.io("cannot copy into \(path): \(String(cString: strerror(errno)))")
            }
            guard copied > 0 else {
                throw FormatError.truncated(
                    "\(file.path) is shorter than when it was read (ends before byte \(range.upperBound))")
            }
            left -= Int64(copied)
            count += Int64(copied)
            flushed += Int64(copied)
        }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = Glibc.write(descriptor, base, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                throw FormatError.io("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            base += written
            remaining -= written
        }
    }
}

/// A buffered view of a ``ByteReader`` for parsers: exact reads of small structures, skips, and copies of large
/// spans straight to a writer. Every byte taken from the reader passes through `observer` once (to hash the input
/// while it streams).
public struct BufferedInput<Reader: ByteReader> {
    private var reader: Reader
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var exhausted = false
    /// Bytes consumed so far (the offset of the next byte).
    public private(set) var offset: Int64 = 0
    private let observer: (UnsafeRawBufferPointer) -> Void

    /// Wraps `reader` with a buffer of `capacity` bytes.
    public init(
        _ reader: Reader, capacity: Int = 256 * 1024, observer: @escaping (UnsafeRawBufferPointer) -> Void = { _ in }
    ) {
        self.reader = reader
        self.buffer = [UInt8](repeating: 0, count: max(capacity, 16))
        self.observer = observer
    }

    /// Bytes available without reading.
    public var available: Int { end - start }

    /// Ensures at least `count` bytes are buffered (fewer at the end of input). Returns what is available.
    @discardableResult
    public mutating func fill(_ count: Int) throws -> Int {
        if available >= count || exhausted { return available }
        if start > 0 {
            // Move the unread bytes to the front.
            let unread = available
            buffer.withUnsafeMutableBytes { raw in
                raw.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: unread)
            }
            start = 0
            end = unread
        }
        while end < count && !exhausted {
            // Grow only as data actually arrives: a chunk header may claim far more than the input holds.
            if end == buffer.count {
                buffer.append(contentsOf: repeatElement(0, count: min(max(buffer.count, 65_536), count - buffer.count)))
            }
            let from = end
            var source = reader
            let observe = observer
            let got = try buffer.withUnsafeMutableBytes { raw -> Int in
                let slice = UnsafeMutableRawBufferPointer(rebasing: raw[from...])
                let read = try source.read(into: slice)
                if read > 0 { observe(UnsafeRawBufferPointer(rebasing: slice[..<read])) }
                return read
            }
            reader = source
            if got == 0 { exhausted = true } else { end += got }
        }
        return available
    }

    /// The next byte without consuming it, or `nil` at the end.
    public mutating func peek() throws -> UInt8? {
        try fill(1) >= 1 ? buffer[start] : nil
    }

    /// The byte `distance` ahead without consuming anything, or `nil` past the end.
    public mutating func peek(at distance: Int) throws -> UInt8? {
        try fill(distance + 1) > distance ? buffer[start + distance] : nil
    }

    /// Consumes and returns exactly `count` bytes.
    /// - Throws: ``FormatError/truncated(_:)`` naming `what` when the input ends first.
    public mutating func read(_ count: Int, _ what: @autoclosure () -> String) throws -> [UInt8] {
        guard try fill(count) >= count else { throw FormatError.truncated("file ends inside \(what())") }
        let result = Array(buffer[start..<(start + count)])
        start += count
        offset += Int64(count)
        return result
    }

    /// Consumes up to `count` bytes and returns them (fewer at the end).
    public mutating func readUpTo(_ count: Int) throws -> [UInt8] {
        let got = try fill(count)
        let take = min(got, count)
        let result = Array(buffer[start..<(start + take)])
        start += take
        offset += Int64(take)
        return result
    }

    /// Consumes one byte.
    public mutating func readByte(_ what: @autoclosure () -> String) throws -> UInt8 {
        try read(1, what())[0]
    }

    /// Consumes `count` bytes without keeping them; returns how many were there (fewer at the end).
    @discardableResult
    public mutating func skip(_ count: Int64) throws -> Int64 {
        var remaining = count
        while remaining > 0 {
            if available == 0 {
                start = 0
                end = 0
                try fill(min(Int(clamping: remaining), buffer.count))
                if available == 0 { break }
            }
            let take = Int(min(Int64(available), remaining))
            start += take
            offset += Int64(take)
            remaining -= Int64(take)
        }
        return count - remaining
    }

    /// Copies `count` bytes to `writer` without keeping them; returns how many were copied (fewer at the end).
    @discardableResult
    public mutating func copy(_ count: Int64, to writer: inout some ByteWriter) throws -> Int64 {
        var remaining = count
        while remaining > 0 {
            if available == 0 {
                start = 0
                end = 0
                try fill(min(Int(clamping: remaining), buffer.count))
                if available == 0 { break }
            }
            let take = Int(min(Int64(available), remaining))
            try buffer.withUnsafeBytes { raw in
                try writer.write(UnsafeRawBufferPointer(rebasing: raw[start..<(start + take)]))
            }
            start += take
            offset += Int64(take)
            remaining -= Int64(take)
        }
        return count - remaining
    }

    /// Consumes everything left (so it is observed) and returns how many bytes that was.
    public mutating func drain() throws -> Int64 {
        var total: Int64 = 0
        while true {
            let skipped = try skip(Int64(buffer.count))
            total += skipped
            if skipped == 0 { return total }
        }
    }

    /// Scans forward for the next `0xFF` byte, copying the bytes before it to `writer`. Returns `false` at the end
    /// of input (everything copied).
    public mutating func copyUntilFF(to writer: inout some ByteWriter) throws -> Bool {
        while true {
            if available == 0 {
                start = 0
                end = 0
                try fill(buffer.count)
                if available == 0 { return false }
            }
            let found = buffer.withUnsafeBytes { raw -> Int? in
                let base = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
                guard let hit = memchr(base + start, 0xFF, available) else { return nil }
                return UnsafeRawPointer(hit) - UnsafeRawPointer(base)
            }
            let stop = found ?? end
            if stop > start {
                try buffer.withUnsafeBytes { raw in
                    try writer.write(UnsafeRawBufferPointer(rebasing: raw[start..<stop]))
                }
                offset += Int64(stop - start)
                start = stop
            }
            if found != nil { return true }
        }
    }
}

/// CRC-32 as PNG uses it (ISO 3309, polynomial 0xEDB88320).
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index -> UInt32 in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    /// The CRC of `bytes`, continuing from `crc` (start with 0).
    public static func checksum(_ bytes: some Sequence<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        var value = ~crc
        for byte in bytes { value = table[Int((value ^ UInt32(byte)) & 0xFF)] ^ (value >> 8) }
        return ~value
    }
}
