import Crypto
import Foundation
import Glibc
import NIOCore

/// Writes a request body to a file as it arrives, hashing it (MD5 for Wix's `hash`, SHA-256 for the admin listing)
/// on the way, so memory stays flat whatever the file size. Owned by one request handler at a time.
struct BlobWriter: ~Copyable {
    let path: String
    private let descriptor: Int32
    private(set) var count: Int64 = 0
    private var md5 = Insecure.MD5()
    private var sha256 = SHA256()
    private(set) var head: [UInt8] = []

    /// Opens `path` for writing, truncating it, or appending when `append` is set (tus PATCH; the hashes then cover
    /// only the appended bytes, which the finalize step recomputes).
    init(path: String, append: Bool = false) throws {
        self.path = path
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC)
        let descriptor = open(path, flags, 0o644)
        guard descriptor >= 0 else { throw EmulatorIOError(path: path, operation: "open", code: errno) }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Appends one buffer. Blocking `write(2)` on the handler's task: an emulator trades a thread for simplicity.
    mutating func write(_ buffer: ByteBuffer) throws {
        try buffer.withUnsafeReadableBytes { raw in
            md5.update(bufferPointer: raw)
            sha256.update(bufferPointer: raw)
            if head.count < 4096 { head += raw.prefix(4096 - head.count) }
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw EmulatorIOError(path: path, operation: "write", code: errno)
                }
                offset += written
            }
        }
        count += Int64(buffer.readableBytes)
    }

    /// Flushes to disk and returns the MD5 (32 hex) and SHA-256 (64 hex) of what was written.
    consuming func finish() throws -> (md5: String, sha256: String, count: Int64, head: [UInt8]) {
        guard fsync(descriptor) == 0 else { throw EmulatorIOError(path: path, operation: "fsync", code: errno) }
        return (hex(md5.finalize()), hex(sha256.finalize()), count, head)
    }
}

/// Hashes a whole file by streaming it (tus finalize: the bytes arrived over several PATCH requests).
func hashFile(_ path: String) throws -> (md5: String, sha256: String, count: Int64, head: [UInt8]) {
    guard let handle = FileHandle(forReadingAtPath: path) else { throw EmulatorIOError(path: path, operation: "open", code: ENOENT) }
    defer { try? handle.close() }
    var md5 = Insecure.MD5()
    var sha256 = SHA256()
    var count: Int64 = 0
    var head: [UInt8] = []
    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
        md5.update(data: chunk)
        sha256.update(data: chunk)
        if head.count < 4096 { head += chunk.prefix(4096 - head.count) }
        count += Int64(chunk.count)
    }
    return (hex(md5.finalize()), hex(sha256.finalize()), count, head)
}

func hex(_ digest: some Digest) -> String { digest.map { String(format: "%02x", $0) }.joined() }

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
