import Crypto
import Foundation

/// Hex digests of files and buffers (swift-crypto): the one home for hashing, for stages, the ledger, the Wix client
/// and the emulator alike.
public enum FileHashing {
    /// Hex SHA-256 of a file, streamed in 1 MiB blocks.
    /// - Throws: ``FileError``.
    public static func sha256(ofFileAt path: String) throws -> String {
        var hasher = SHA256()
        try FileSystem.forEachBlock(of: path) { hasher.update(bufferPointer: $0) }
        return hex(hasher.finalize())
    }

    /// Hex SHA-256 and MD5 of a file, in one pass (what `state.dedupe: "target"` compares before an upload).
    /// - Throws: ``FileError``; `CancellationError` when the task is cancelled between blocks.
    public static func sha256AndMD5(ofFileAt path: String) throws -> (sha256: String, md5: String) {
        var digest = RunningDigest()
        var cancelled = false
        try FileSystem.forEachBlock(of: path) { block in
            if Task.isCancelled { cancelled = true }
            digest.update(block)
        }
        if cancelled { throw CancellationError() }
        return (digest.sha256Hex, digest.md5Hex ?? "")
    }

    /// Hex SHA-256 of bytes in memory.
    public static func sha256(_ bytes: some DataProtocol) -> String { hex(SHA256.hash(data: bytes)) }

    /// Lower-case hex of a digest (or any bytes).
    public static func hex(_ digest: some Sequence<UInt8>) -> String {
        let table = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digest.underestimatedCount * 2)
        for byte in digest {
            bytes.append(table[Int(byte >> 4)])
            bytes.append(table[Int(byte & 0x0f)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Asset {
    /// The source's SHA-256, computing it (and storing it on the asset) if no stage has yet.
    /// - Throws: ``FileError`` when the source cannot be read.
    public mutating func ensureSourceSHA256() throws -> String? {
        if let sourceSHA256 { return sourceSHA256 }
        // An asset without content (rejected by its source: a link leaving the root, a device) is never read.
        guard let path = origin.path, contentPath != nil else { return nil }
        let digest = try FileHashing.sha256(ofFileAt: path)
        sourceSHA256 = digest
        return digest
    }
}
