import Crypto
import Foundation
import MediaIngest

/// Hex digests of files and buffers (swift-crypto).
public enum Digest {
    /// Hex SHA-256 of a file, streamed in 1 MiB blocks.
    /// - Throws: ``FileError``.
    public static func sha256(ofFileAt path: String) throws -> String {
        var hasher = SHA256()
        try FileSystem.forEachBlock(of: path) { hasher.update(bufferPointer: $0) }
        return hex(hasher.finalize())
    }

    /// Hex SHA-256 and MD5 of a file in one pass.
    /// - Throws: ``FileError``.
    public static func sha256AndMD5(ofFileAt path: String) throws -> (sha256: String, md5: String, size: Int64) {
        var sha = SHA256()
        var md5 = Insecure.MD5()
        var size: Int64 = 0
        try FileSystem.forEachBlock(of: path) { block in
            sha.update(bufferPointer: block)
            md5.update(bufferPointer: block)
            size += Int64(block.count)
        }
        return (hex(sha.finalize()), hex(md5.finalize()), size)
    }

    /// Lower-case hex of a digest.
    public static func hex(_ digest: some Sequence<UInt8>) -> String {
        let table = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
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
        let digest = try Digest.sha256(ofFileAt: path)
        sourceSHA256 = digest
        return digest
    }
}
