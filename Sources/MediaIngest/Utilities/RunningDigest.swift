import Crypto

/// The SHA-256 and (when asked) MD5 of bytes seen in order, with their count: the one running digest of every copy,
/// upload and stored blob — `FileHashing`, `upload.library`, the Wix client's request bodies, the emulator's blobs.
///
/// `@unchecked Sendable`: swift-crypto's hash states are value types (their storage is copied on write, so a copy
/// never shares mutable state with the original) that it does not mark `Sendable`; a digest is mutated only by the one
/// task (or the one lock) that owns that copy.
public struct RunningDigest: @unchecked Sendable {
    private var sha256 = SHA256()
    private var md5: Insecure.MD5?
    /// Bytes seen so far.
    public private(set) var count: Int64 = 0

    /// A digest of no bytes yet; `md5: false` skips the MD5 (it costs as much as the SHA-256).
    public init(md5: Bool = true) { self.md5 = md5 ? Insecure.MD5() : nil }

    /// Adds the next bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        sha256.update(bufferPointer: bytes)
        md5?.update(bufferPointer: bytes)
        count += Int64(bytes.count)
    }

    /// Lower-case hex SHA-256 of the bytes seen so far.
    public var sha256Hex: String { FileHashing.hex(sha256.finalize()) }
    /// Lower-case hex MD5 of the bytes seen so far, when it is kept.
    public var md5Hex: String? { md5.map { FileHashing.hex($0.finalize()) } }
}
