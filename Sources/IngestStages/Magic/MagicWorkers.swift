import CMagic
import Synchronization

/// One libmagic handle per worker, opened on first use and never used by two workers at once.
///
/// The runner gives each concurrent `process` call its own worker index; the handle for that index sits behind its
/// own lock, so even a misbehaving caller cannot use one handle from two threads at the same time (libmagic crashes
/// when a `magic_t` is shared: double free, segfault). The lock is uncontended in normal use.
final class MagicWorkers: Sendable {
    /// One worker's handle.
    final class Slot: Sendable {
        let cookie = Mutex<MagicCookie?>(nil)
    }

    private let slots = Mutex<[Slot]>([])

    /// Makes sure there is a slot for each of `count` workers (handles open lazily).
    func reserve(_ count: Int) {
        slots.withLock { slots in
            while slots.count < count { slots.append(Slot()) }
        }
    }

    /// Classifies `bytes` with worker `index`'s handle, opening and loading it first if needed.
    /// - Throws: ``MagicError`` when the database cannot be loaded or libmagic fails.
    func classify(_ bytes: [UInt8], worker index: Int) throws -> String {
        try slot(index).cookie.withLock { cookie in
            if cookie == nil { cookie = try MagicCookie() }
            guard let handle = cookie else { throw MagicError(operation: "magic_open", message: "no handle") }
            return try bytes.withUnsafeBytes { try handle.classify($0) }
        }
    }

    /// Opens worker `index`'s handle now (to fail early when the magic database is missing).
    /// - Throws: ``MagicError``.
    func load(worker index: Int) throws {
        try slot(index).cookie.withLock { cookie in
            if cookie == nil { cookie = try MagicCookie() }
        }
    }

    private func slot(_ index: Int) -> Slot {
        slots.withLock { slots -> Slot in
            while slots.count <= index { slots.append(Slot()) }
            return slots[index]
        }
    }
}
