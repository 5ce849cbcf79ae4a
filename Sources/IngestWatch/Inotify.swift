import Glibc
import MediaFormats
import MediaIngest

/// The one owner of a Linux inotify descriptor (and of the pipe that wakes a thread blocked on it).
///
/// Not `Sendable`: one thread owns it — the ``FolderWatcher``'s — and is the only one to add watches and read events.
/// Another thread may only call ``Waker/wake()`` on the ``waker`` it hands out. Failures become ``FileError``s in
/// one place (``check(_:_:path:)``).
final class Inotify {
    /// One event, with the name it carries (empty for events about the watched folder itself).
    struct Event {
        var watch: Int32
        var mask: UInt32
        var name: String

        func has(_ flag: Int32) -> Bool { mask & UInt32(bitPattern: flag) != 0 }
    }

    /// Wakes the owning thread from ``wait()`` (from any thread).
    struct Waker: Sendable {
        fileprivate let descriptor: Int32
        func wake() {
            var byte: UInt8 = 1
            _ = write(descriptor, &byte, 1)
        }
    }

    private let descriptor: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private var buffer = [UInt8](repeating: 0, count: 256 * 1024)

    /// Opens an inotify instance.
    init() throws(FileError) {
        descriptor = try Self.check(inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)), "inotify_init1", path: "inotify")
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else {
            let code = errno
            close(descriptor)
            throw FileError(path: "inotify", operation: "pipe", code: code)
        }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        (wakeRead, wakeWrite) = (ends[0], ends[1])
    }

    deinit {
        close(descriptor)
        close(wakeRead)
        close(wakeWrite)
    }

    var waker: Waker { Waker(descriptor: wakeWrite) }

    /// Watches a folder (the same folder twice gives the same watch).
    func addWatch(_ path: String, mask: UInt32) throws(FileError) -> Int32 {
        try Self.check(path.withPlatformPath { inotify_add_watch(descriptor, $0, mask) }, "watch", path: path)
    }

    /// Stops watching (a folder gone already is fine).
    func removeWatch(_ watch: Int32) { _ = inotify_rm_watch(descriptor, watch) }

    /// Blocks until events arrive or ``Waker/wake()`` is called (then returns what is there, perhaps nothing).
    func wait() throws(FileError) -> [Event] {
        var fds = [
            pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
        ]
        while poll(&fds, 2, -1) < 0 {
            guard errno == EINTR else { throw FileError(path: "inotify", operation: "poll", code: errno) }
        }
        if fds[1].revents != 0 {
            var drain = [UInt8](repeating: 0, count: 64)
            while read(wakeRead, &drain, drain.count) > 0 {}
        }
        return try readEvents()
    }

    private func readEvents() throws(FileError) -> [Event] {
        var events: [Event] = []
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return events }
                throw FileError(path: "inotify", operation: "read", code: errno)
            }
            if count == 0 { return events }
            buffer.withUnsafeBytes { raw in
                var offset = 0
                let header = MemoryLayout<inotify_event>.size
                while offset + header <= count {
                    let watch = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                    let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                    let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    let nameBytes = raw[(offset + header)..<min(count, offset + header + length)]
                    let name = FileName.decode(nameBytes.prefix { $0 != 0 })
                    events.append(Event(watch: watch, mask: mask, name: name))
                    offset += header + length
                }
            }
        }
    }

    /// Maps a C result to a value or a ``FileError`` with `errno`: the one place inotify failures are turned into
    /// Swift errors.
    private static func check(_ result: Int32, _ operation: String, path: String) throws(FileError) -> Int32 {
        guard result >= 0 else { throw FileError(path: path, operation: operation, code: errno) }
        return result
    }
}
