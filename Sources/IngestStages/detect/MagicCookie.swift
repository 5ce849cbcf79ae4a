import CMagic
import Foundation
import MediaIngest

/// A libmagic handle (`magic_t`). One owner frees it; it is used by one thread at a time (never shared between
/// concurrent workers: libmagic keeps per-handle state and crashes when two threads share one).
///
/// Not `Sendable` on purpose: ``MagicWorkers`` keeps one per worker behind a lock.
final class MagicCookie {
    /// MIME type only; no peeking into compressed files (file(1) does not either without `-z`); no ELF details
    /// (the MIME type of an ELF file comes from the magic entries, not from them).
    static let defaultFlags: Int32 = MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_CHECK_ELF

    private let handle: OpaquePointer

    /// Opens a handle and loads the default magic database (`MAGIC` environment variable, else the system's).
    /// - Parameter flags: `MAGIC_MIME_TYPE` and friends.
    /// - Throws: ``MagicError`` when the database cannot be loaded.
    init(flags: Int32 = MagicCookie.defaultFlags) throws {
        guard let handle = magic_open(flags) else {
            throw MagicError(operation: "magic_open", message: String(cString: strerror(errno)))
        }
        self.handle = handle
        // magic_load(NULL) loads the default database; on failure the handle is still ours to close.
        guard magic_load(handle, nil) == 0 else {
            let error = MagicError.last(handle, operation: "magic_load")
            magic_close(handle)
            throw error
        }
    }

    deinit { magic_close(handle) }

    /// Classifies a buffer and returns libmagic's answer, copied at once (the handle owns the C string).
    /// - Throws: ``MagicError``.
    func classify(_ bytes: UnsafeRawBufferPointer) throws -> String {
        guard let result = magic_buffer(handle, bytes.baseAddress, bytes.count) else {
            throw MagicError.last(handle, operation: "magic_buffer")
        }
        return String(cString: result)
    }

    /// Changes the flags (for example to ask for the extension list with `MAGIC_EXTENSION`).
    func setFlags(_ flags: Int32) throws {
        guard magic_setflags(handle, flags) == 0 else { throw MagicError.last(handle, operation: "magic_setflags") }
    }

    /// A `MAGIC_PARAM_*` limit, or `nil` when this libmagic does not know it.
    func parameter(_ parameter: Int32) -> Int? {
        var value = 0
        return magic_getparam(handle, parameter, &value) == 0 ? value : nil
    }
}

/// A libmagic failure, with the library's own message. As a thrown error: failure `magic` (retried).
struct MagicError: Error, CustomStringConvertible, AssetFailureDescribing {
    var operation: String
    var message: String

    /// The one place a libmagic failure becomes a Swift error: reads `magic_error` (copied at once).
    static func last(_ handle: OpaquePointer, operation: String) -> MagicError {
        let text = magic_error(handle).map { String(cString: $0) } ?? "error \(magic_errno(handle))"
        return MagicError(operation: operation, message: text)
    }

    var description: String { "libmagic \(operation): \(message)" }
    var failureCode: AssetFailure.Code { "magic" }
    var failureMessage: String { description }
}
