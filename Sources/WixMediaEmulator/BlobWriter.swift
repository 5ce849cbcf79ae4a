import Crypto
import Foundation
import Glibc
import MediaIngest
import NIOCore

/// The running digests of the bytes written to a blob so far (``RunningDigest``) and its first 4 KiB. A tus upload
/// keeps one between PATCH requests, so finalize does not re-read a file that was already hashed as it arrived.
struct BlobDigest: Sendable {
    var digest = RunningDigest()
    var head: [UInt8] = []

    var count: Int64 { digest.count }

    mutating func update(_ raw: UnsafeRawBufferPointer) {
        digest.update(raw)
        if head.count < 4096 { head += raw.prefix(4096 - head.count) }
    }

    /// MD5 (32 hex), SHA-256 (64 hex), the byte count and the first 4 KiB.
    func finalized() -> (md5: String, sha256: String, count: Int64, head: [UInt8]) {
        (digest.md5Hex ?? "", digest.sha256Hex, count, head)
    }
}

/// Writes a request body to a file as it arrives, hashing it (MD5 for Wix's `hash`, SHA-256 for the admin listing)
/// on the way, so memory stays flat whatever the file size. Owned by one request handler at a time.
struct BlobWriter: ~Copyable {
    let path: String
    private let descriptor: Int32
    /// The digest of the whole file when the writer started from one that matches it, else of the bytes it wrote.
    private(set) var digest: BlobDigest
    /// Whether ``digest`` covers the whole file (false when appending without the digest of what was there).
    let coversFile: Bool
    private var written: Int64 = 0

    /// Opens `path` for writing, truncating it.
    init(path: String) throws {
        try self.init(path: path, flags: O_TRUNC, digest: BlobDigest(), coversFile: true)
    }

    /// Opens `path` for appending (tus PATCH), continuing `earlier` when it is the digest of the file's current
    /// `size` bytes; otherwise ``coversFile`` is false and the finalize step must re-hash the file.
    init(appendingTo path: String, size: Int64, continuing earlier: BlobDigest?) throws {
        if let earlier, earlier.count == size {
            try self.init(path: path, flags: O_APPEND, digest: earlier, coversFile: true)
        } else {
            try self.init(path: path, flags: O_APPEND, digest: BlobDigest(), coversFile: size == 0)
        }
    }

    private init(path: String, flags: Int32, digest: BlobDigest, coversFile: Bool) throws {
        self.path = path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0o644)
        guard descriptor >= 0 else { throw EmulatorIOError(path: path, operation: "open", code: errno) }
        self.descriptor = descriptor
        self.digest = digest
        self.coversFile = coversFile
    }

    deinit { close(descriptor) }

    /// Bytes written by this writer.
    var count: Int64 { written }

    /// Appends one buffer. Blocking `write(2)` on the handler's task: an emulator trades a thread for simplicity.
    mutating func write(_ buffer: ByteBuffer) throws {
        try buffer.withUnsafeReadableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw EmulatorIOError(path: path, operation: "write", code: errno)
                }
                offset += written
            }
            digest.update(raw)
        }
        written += Int64(buffer.readableBytes)
    }

    /// Flushes to disk and returns the digest of what was written (of the whole file when ``coversFile``).
    consuming func finish() throws -> (md5: String, sha256: String, count: Int64, head: [UInt8]) {
        try sync()
        return digest.finalized()
    }

    /// Flushes to disk and returns the running digest, for the next PATCH to continue (nil when it does not cover
    /// the file).
    consuming func finishPartial() throws -> BlobDigest? {
        try sync()
        return coversFile ? digest : nil
    }

    private func sync() throws {
        guard fsync(descriptor) == 0 else { throw EmulatorIOError(path: path, operation: "fsync", code: errno) }
    }
}

/// Hashes a whole file by streaming it (tus finalize when the emulator restarted between PATCHes).
func hashFile(_ path: String) throws -> (md5: String, sha256: String, count: Int64, head: [UInt8]) {
    guard let handle = FileHandle(forReadingAtPath: path) else {
        throw EmulatorIOError(path: path, operation: "open", code: ENOENT)
    }
    defer { try? handle.close() }
    var digest = BlobDigest()
    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
        chunk.withUnsafeBytes { digest.update($0) }
    }
    return digest.finalized()
}

func hex(_ digest: some Digest) -> String { FileHashing.hex(digest) }

/// A failed file operation in the emulator's data folder.
struct EmulatorIOError: Error, CustomStringConvertible {
    var path: String
    var operation: String
    var code: Int32
    var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// The size of a file, or 0 when it does not exist.
func fileSize(_ path: String) -> Int64 {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
}
