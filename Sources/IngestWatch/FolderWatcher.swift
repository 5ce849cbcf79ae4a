import Foundation
import Glibc
import Logging
import MediaIngest
import Synchronization

/// What a ``FolderWatcher`` tells the ``WatchService``. Paths are relative to the watched folder.
enum WatchInput: Sendable {
    /// A file was written to (`closed: false`) or closed after writing / moved in (`closed: true`).
    case changed(source: Int, path: String, closed: Bool, at: ContinuousClock.Instant)
    /// A file or folder (and everything under it) was deleted or moved away.
    case removed(source: Int, path: String, folder: Bool)
    /// A file found by a walk (at start, after an overflow, at a rescan): it may have been there for a while.
    case found(source: Int, path: String, at: ContinuousClock.Instant)
    /// The kernel's event queue overflowed: events were lost, a walk follows.
    case overflowed(source: Int)
    /// The watcher cannot go on (the folder went away, inotify failed).
    case failed(source: Int, message: String)
    /// From the service itself: a timer fired, a stop or a reload was asked for.
    case tick
    case stop
    case reload(Pipeline)
}

/// Follows one folder tree with inotify, on a thread of its own, and reports what changes.
///
/// Recursive: a watch per folder the source could take files from (hidden and excluded folders are not watched);
/// a folder that appears (made or moved in) is watched and walked, so files written into it before its watch was
/// in place are found too. Links to folders are not followed (a rescan lists what they hold).
///
/// `@unchecked Sendable`: every stored property but `waker`, `rescanRequested` and `stopped` is touched only by the
/// watcher's own thread (started by ``start()``); those three are a write to a pipe and atomics.
final class FolderWatcher: @unchecked Sendable {
    static let folderMask = UInt32(
        bitPattern: IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF
            | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW)

    let index: Int
    let source: any WatchableSource
    private let inputs: AsyncStream<WatchInput>.Continuation
    private let logger: Logger
    private let inotify: Inotify
    private let waker: Inotify.Waker
    private let rescanRequested = Atomic(false)
    private let stopped = Atomic(false)
    /// Test hook: act as if the kernel's queue overflowed after this many events (`--test-overflow-after`).
    private let overflowAfter: Int?
    private var eventsSeen = 0
    private var folders: [Int32: String] = [:]

    init(
        index: Int, source: any WatchableSource, inputs: AsyncStream<WatchInput>.Continuation, logger: Logger,
        overflowAfter: Int? = nil
    ) throws(FileError) {
        self.index = index
        self.source = source
        self.inputs = inputs
        self.logger = logger
        self.overflowAfter = overflowAfter
        inotify = try Inotify()
        waker = inotify.waker
    }

    /// Starts the thread: a walk of the whole tree (every file is reported `found`), then events until ``stop()``.
    func start() {
        let thread = Thread { [self] in self.main() }
        thread.name = "ingest-watch-\(index)"
        thread.start()
    }

    /// Asks for a walk of the whole tree (the periodic rescan).
    func rescan() {
        rescanRequested.store(true, ordering: .releasing)
        waker.wake()
    }

    /// Ends the thread (it closes the inotify descriptor on its way out).
    func stop() {
        stopped.store(true, ordering: .releasing)
        waker.wake()
    }

    private func main() {
        walk("")
        while !stopped.load(ordering: .acquiring) {
            let events: [Inotify.Event]
            do {
                events = try inotify.wait()
            } catch {
                inputs.yield(.failed(source: index, message: "\(error)"))
                return
            }
            if stopped.load(ordering: .acquiring) { return }
            if rescanRequested.exchange(false, ordering: .acquiring) { walk("") }
            for event in events {
                if let overflowAfter {
                    eventsSeen += 1
                    if eventsSeen == overflowAfter {
                        overflow()
                        break
                    }
                }
                if event.has(IN_Q_OVERFLOW) {
                    overflow()
                    break
                }
                handle(event)
            }
        }
    }

    private func overflow() {
        logger.warning(
            "the inotify event queue overflowed: rescanning the folder",
            metadata: ["folder": "\(source.watchedRoot)"])
        inputs.yield(.overflowed(source: index))
        walk("")
    }

    private func handle(_ event: Inotify.Event) {
        if event.has(IN_IGNORED) {
            folders[event.watch] = nil
            return
        }
        guard let folder = folders[event.watch] else { return }
        if event.name.isEmpty {
            // The folder itself was deleted or moved: the root going away ends the watch.
            if folder.isEmpty && (event.has(IN_DELETE_SELF) || event.has(IN_MOVE_SELF)) {
                inputs.yield(.failed(source: index, message: "\(source.watchedRoot) was removed or moved away"))
            }
            return
        }
        let path = folder.isEmpty ? event.name : folder + "/" + event.name
        if event.has(IN_ISDIR) {
            if event.has(IN_CREATE) || event.has(IN_MOVED_TO) {
                walk(path)
            } else if event.has(IN_MOVED_FROM) || event.has(IN_DELETE) {
                for (watch, watched) in folders where watched == path || watched.hasPrefix(path + "/") {
                    inotify.removeWatch(watch)
                    folders[watch] = nil
                }
                inputs.yield(.removed(source: index, path: path, folder: true))
            }
            return
        }
        guard source.mayTake(relativePath: path, isDirectory: false) else { return }
        if event.has(IN_MOVED_FROM) || event.has(IN_DELETE) {
            inputs.yield(.removed(source: index, path: path, folder: false))
        } else if event.has(IN_CLOSE_WRITE) || event.has(IN_MOVED_TO) {
            inputs.yield(.changed(source: index, path: path, closed: true, at: .now))
        } else if event.has(IN_CREATE) || event.has(IN_MODIFY) {
            inputs.yield(.changed(source: index, path: path, closed: false, at: .now))
        }
    }

    /// Watches a folder and everything under it the source could take files from, reporting every file found.
    private func walk(_ relative: String) {
        guard relative.isEmpty || source.mayTake(relativePath: relative, isDirectory: true) else { return }
        var stack = [relative]
        while let folder = stack.popLast() {
            if stopped.load(ordering: .relaxed) { return }
            let path = folder.isEmpty ? source.watchedRoot : source.watchedRoot + "/" + folder
            do {
                folders[try inotify.addWatch(path, mask: Self.folderMask)] = folder
            } catch {
                if folder.isEmpty {
                    inputs.yield(.failed(source: index, message: error.description))
                    return
                }
                logger.warning("cannot watch folder", metadata: ["folder": "\(path)", "reason": "\(error.reason)"])
                continue
            }
            guard let names = try? FileSystem.names(in: path) else { continue }
            for name in names {
                let child = folder.isEmpty ? name : folder + "/" + name
                guard let status = try? FileStatus.of(path + "/" + name, followLinks: false) else { continue }
                if status.kind == .directory {
                    if source.mayTake(relativePath: child, isDirectory: true) { stack.append(child) }
                } else if source.mayTake(relativePath: child, isDirectory: false) {
                    inputs.yield(.found(source: index, path: child, at: .now))
                }
            }
        }
    }
}
