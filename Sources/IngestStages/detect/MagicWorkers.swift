import CMagic
import Foundation
import MediaIngest
import Synchronization

/// One libmagic handle per worker, opened on first use and never used by two workers at once.
///
/// The runner gives each concurrent `process` call its own worker index; the handle for that index sits behind its
/// own lock, so even a misbehaving caller cannot use one handle from two threads at the same time (libmagic crashes
/// when a `magic_t` is shared: double free, segfault). The lock is uncontended in normal use.
final class MagicWorkers: Sendable {
    /// One worker's handle and its reusable read buffer.
    final class Slot: Sendable {
        let worker = Mutex<MagicWorker?>(nil)
    }

    private let slots = Mutex<[Slot]>([])

    /// Makes sure there is a slot for each of `count` workers (handles open lazily).
    func reserve(_ count: Int) {
        slots.withLock { slots in
            while slots.count < count { slots.append(Slot()) }
        }
    }

    /// Runs `body` with worker `index`'s handle, opening and loading it first if needed. `body` runs inside the
    /// slot's lock and must not keep the worker.
    /// - Throws: ``MagicError`` when the database cannot be loaded, or what `body` throws.
    func with<T>(worker index: Int, _ body: (MagicWorker) throws -> T) throws -> T {
        try slot(index).worker.withLock { worker in
            let current: MagicWorker
            if let worker {
                current = worker
            } else {
                current = try MagicWorker()
                worker = current
            }
            return try body(current)
        }
    }

    /// Opens worker `index`'s handle now (to fail early when the magic database is missing).
    /// - Throws: ``MagicError``.
    func load(worker index: Int) throws {
        try with(worker: index) { _ in }
    }

    private func slot(_ index: Int) -> Slot {
        slots.withLock { slots -> Slot in
            while slots.count <= index { slots.append(Slot()) }
            return slots[index]
        }
    }
}

/// A libmagic handle and a read buffer reused for every file the worker classifies (no 64 KiB allocation per
/// file).
///
/// `@unchecked Sendable` only so that ``MagicWorkers/with(worker:_:)`` can hand it to a closure from inside its
/// slot's lock: an instance is created inside that lock, stored only in the slot, and used only by closures that
/// run while the lock is held and do not keep it (the buffer pointer it returns is valid only until the next call,
/// inside the same lock hold). So no two threads ever touch one at the same time.
final class MagicWorker: @unchecked Sendable {
    private let cookie: MagicCookie
    private var storage: UnsafeMutableRawBufferPointer
    /// How much of a buffer libmagic's text-encoding pass looks at (`MAGIC_PARAM_ENCODING_MAX`); `nil` when this
    /// libmagic cannot say, which turns the binary shortcut off.
    private let encodingLimit: Int?
    private var skipsEncoding = false

    init() throws {
        cookie = try MagicCookie()
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 0, alignment: 16)
        encodingLimit = cookie.parameter(MAGIC_PARAM_ENCODING_MAX)
    }

    /// libmagic's MIME type for `bytes` (the start of a file).
    ///
    /// Identical to a plain `magic_buffer` call, a few microseconds sooner for binary files: libmagic's first
    /// pass (`file_encoding`) tries to read the buffer as ASCII, UTF-8, UTF-7, UTF-16/32, Latin-1, extended ASCII and
    /// EBCDIC text, and only a "text" verdict changes what follows (text-only magic entries, CSV, the text fallback).
    /// A NUL byte within the part it reads fails every one of those readers except UTF-16/32, which need a
    /// byte-order mark at the start. For such buffers the verdict is known to be "binary", so the pass is skipped
    /// (`MAGIC_NO_CHECK_ENCODING`, which leaves `looks_text` at its "binary" default). `DetectTests` checks the two
    /// paths agree on every corpus file and on random buffers.
    /// - Throws: ``MagicError``.
    func classify(_ bytes: UnsafeRawBufferPointer) throws -> String {
        let skip = encodingLimit.map { Self.isCertainlyBinary(bytes, encodingLimit: $0) } ?? false
        if skip != skipsEncoding {
            try cookie.setFlags(skip ? MagicCookie.defaultFlags | MAGIC_NO_CHECK_ENCODING : MagicCookie.defaultFlags)
            skipsEncoding = skip
        }
        return try cookie.classify(bytes)
    }

    /// libmagic without the shortcut, for tests comparing the two.
    func classifyWithoutShortcut(_ bytes: UnsafeRawBufferPointer) throws -> String {
        if skipsEncoding {
            try cookie.setFlags(MagicCookie.defaultFlags)
            skipsEncoding = false
        }
        return try cookie.classify(bytes)
    }

    /// `true` when libmagic's text-encoding pass cannot find text in `bytes`: a NUL byte within the first
    /// `encodingLimit` bytes, and no UTF-16 (`FF FE`, `FE FF`) or UTF-32 (`FF FE 00 00`, `00 00 FE FF`) byte-order mark.
    static func isCertainlyBinary(_ bytes: UnsafeRawBufferPointer, encodingLimit: Int) -> Bool {
        guard bytes.count >= 2, let base = bytes.baseAddress else { return false }
        let b0 = bytes[0], b1 = bytes[1]
        if (b0 == 0xFF && b1 == 0xFE) || (b0 == 0xFE && b1 == 0xFF) { return false }
        if bytes.count >= 4 && b0 == 0 && b1 == 0 && bytes[2] == 0xFE && bytes[3] == 0xFF { return false }
        return memchr(base, 0, min(bytes.count, encodingLimit)) != nil
    }

    deinit { storage.deallocate() }

    /// Reads up to `count` bytes from the start of `file` into the buffer (grown as needed) and returns them; the
    /// bytes are valid until the next call.
    /// - Throws: ``FileError``.
    func readHead(of file: ReadableFile, count: Int) throws -> UnsafeRawBufferPointer {
        if storage.count < count {
            storage.deallocate()
            storage = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
        }
        let filled = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: storage[..<count]), at: 0)
        return UnsafeRawBufferPointer(rebasing: storage[..<filled])
    }
}
