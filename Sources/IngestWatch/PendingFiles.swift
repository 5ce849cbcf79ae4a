import Foundation
import MediaIngest
import Synchronization

/// A file of a watched source.
struct FileKey: Hashable, Sendable {
    var source: Int
    var path: String
}

/// The files seen to change and not yet handed to a batch, with when each last changed.
///
/// A file is due once it was closed after writing (or moved in, or found by a walk) and has been quiet for its
/// source's settle time — and its modification time is that old too, so a writer that keeps changing the file
/// without closing it is not cut short. A file never closed is due after `openQuiet` of silence.
struct PendingFiles {
    struct Entry {
        var lastChange: ContinuousClock.Instant
        var closed: Bool
        /// `lastChange` is the due time itself (a retry), not the start of a quiet time.
        var fixedDue = false
    }

    private(set) var entries: [FileKey: Entry] = [:]

    mutating func changed(_ key: FileKey, closed: Bool, at now: ContinuousClock.Instant) {
        // A write after a close reopens the file: it must be closed (or quiet for openQuiet) again.
        entries[key] = Entry(lastChange: now, closed: closed)
    }

    /// A file a walk found: due at once (`at`) unless its modification time says it changed within the settle time.
    /// A file already pending keeps its own, later, time.
    mutating func found(_ key: FileKey, at instant: ContinuousClock.Instant) {
        guard entries[key] == nil else { return }
        entries[key] = Entry(lastChange: instant - .seconds(86_400), closed: true)
    }

    /// A file whose batch could not start: due again at `instant`.
    mutating func retry(_ key: FileKey, at instant: ContinuousClock.Instant) {
        guard entries[key] == nil else { return }
        entries[key] = Entry(lastChange: instant, closed: true, fixedDue: true)
    }

    mutating func removed(source: Int, path: String, folder: Bool) {
        guard folder else {
            entries[FileKey(source: source, path: path)] = nil
            return
        }
        entries = entries.filter { key, _ in
            !(key.source == source && (key.path == path || key.path.hasPrefix(path + "/")))
        }
    }

    /// The files due now, removed from the pending set; files whose modification time is still too recent are
    /// kept, with their quiet time counted from it.
    mutating func takeDue(
        at now: ContinuousClock.Instant, settle: (Int) -> Duration, openQuiet: Duration, root: (Int) -> String?
    ) -> [FileKey] {
        var due: [FileKey] = []
        let wallNow = Date()
        for (key, entry) in entries where now >= entry.lastChange + quiet(entry, settle(key.source), openQuiet) {
            let wait = settle(key.source)
            if let root = root(key.source), let status = try? FileStatus.of(root + "/" + key.path) {
                let age = wallNow.timeIntervalSince(status.modificationDate)
                let needed = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
                if age < needed {
                    entries[key]?.lastChange = now - .milliseconds(Int64((max(0, age) * 1000).rounded()))
                    continue
                }
            }
            due.append(key)
        }
        for key in due { entries[key] = nil }
        return due.sorted { ($0.source, $0.path) < ($1.source, $1.path) }
    }

    /// When the next pending file becomes due, if any.
    func nextDue(settle: (Int) -> Duration, openQuiet: Duration) -> ContinuousClock.Instant? {
        entries.map { key, entry in entry.lastChange + quiet(entry, settle(key.source), openQuiet) }.min()
    }

    private func quiet(_ entry: Entry, _ settle: Duration, _ openQuiet: Duration) -> Duration {
        if entry.fixedDue { return .zero }
        return entry.closed ? settle : max(settle, openQuiet)
    }
}

/// Stops a ``WatchService`` and hands it a reloaded pipeline; safe to call from signal handlers' queues.
public final class WatchControl: Sendable {
    private struct State {
        var inputs: AsyncStream<WatchInput>.Continuation?
        var running: RunControl?
        var stopRequested = false
        var early: [WatchInput] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Finishes the files in flight, then ends the service.
    public func stop(reason: String = "stop requested") {
        let running = state.withLock { state -> RunControl? in
            state.stopRequested = true
            return state.running
        }
        running?.requestStop(reason: reason)
        send(.stop)
    }

    /// Runs the next batches with this pipeline (already built and checked by the caller).
    public func reload(_ pipeline: Pipeline) { send(.reload(pipeline)) }

    /// `true` once ``stop(reason:)`` was called.
    public var isStopRequested: Bool { state.withLock { $0.stopRequested } }

    func attach(_ inputs: AsyncStream<WatchInput>.Continuation) {
        let early = state.withLock { state -> [WatchInput] in
            state.inputs = inputs
            defer { state.early = [] }
            return state.early
        }
        for input in early { inputs.yield(input) }
    }

    func running(_ control: RunControl?) {
        let stop = state.withLock { state -> Bool in
            state.running = control
            return state.stopRequested
        }
        if stop { control?.requestStop(reason: "stop requested") }
    }

    private func send(_ input: WatchInput) {
        let inputs = state.withLock { state -> AsyncStream<WatchInput>.Continuation? in
            if state.inputs == nil { state.early.append(input) }
            return state.inputs
        }
        inputs?.yield(input)
    }
}
