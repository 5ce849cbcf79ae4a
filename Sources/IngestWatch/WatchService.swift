import Foundation
import Logging
import MediaIngest
import Synchronization

/// `ingest watch`: runs a pipeline over files as they arrive, as a long-running service.
///
/// Each `source.directory` (any ``WatchableSource``) is followed with inotify by a ``FolderWatcher``. A file becomes
/// due when it has stopped changing for the source's `minAge` (at least ``Options/settleFloor``) after it was closed
/// or moved in; a file still open for writing waits for ``Options/openQuiet`` of silence instead. Due files are
/// batched into runs of a ``RunSession`` whose sources list only those files — the same lock, ledger, stages,
/// observers and report as `ingest run`. A walk at start, after a queue overflow and every ``Options/rescanEvery``
/// finds what events missed; the ledger makes those walks cheap (unchanged files are skipped on a read).
///
/// At rest nothing runs: one timer for the next due file or rescan, no polling.
public struct WatchService: Sendable {
    /// How the service watches.
    public struct Options: Sendable {
        /// A full walk this often (default 10 minutes).
        public var rescanEvery: Duration
        /// The shortest quiet time after a close, whatever the source's `minAge` (default 0.5 s).
        public var settleFloor: Duration
        /// How long a file still open for writing must stay unchanged before it is taken (default 10 s).
        public var openQuiet: Duration
        /// Test hook: behave as if the kernel's event queue overflowed after this many events.
        public var overflowAfter: Int?

        public init(
            rescanEvery: Duration = .seconds(600), settleFloor: Duration = .milliseconds(500),
            openQuiet: Duration = .seconds(10), overflowAfter: Int? = nil
        ) {
            self.rescanEvery = rescanEvery
            self.settleFloor = settleFloor
            self.openQuiet = openQuiet
            self.overflowAfter = overflowAfter
        }
    }

    /// One batch's run.
    public struct Batch: Sendable {
        /// How many files it listed.
        public var files: Int
        /// The run's result, or why it could not start (the lock is held, the ledger unusable).
        public var result: Result<RunSession.Result, RunStateError>
    }

    /// Why the service could not start.
    public struct StartError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public let options: Options
    public let session: RunSession.Options
    public let state: (any RunStateProvider)?

    public init(options: Options = Options(), session: RunSession.Options, state: (any RunStateProvider)?) {
        self.options = options
        self.session = session
        self.state = state
    }

    /// Checks that every source of the pipeline can be watched.
    public static func check(_ pipeline: Pipeline) throws(StartError) {
        for source in pipeline.sources
        where !(source.value is any WatchableSource) && !(source.value is any PollableSource) {
            // A queue has no folder to follow; its own `idle` option already makes a run a long-lived consumer.
            let hint =
                source.kind == "source.queue"
                ? "; to keep taking what `ingest enqueue` adds, `ingest run` it with the source's \"idle\" option"
                : ""
            throw StartError(
                description:
                    "source \"\(source.name)\" (\(source.kind)) cannot be watched: only folder and remote sources can\(hint)"
            )
        }
    }

    /// Watches until ``WatchControl/stop()``; returns when the batch in flight has finished.
    /// - Parameter onBatch: called after every batch (print a summary, serve metrics).
    public func run(
        _ initial: Pipeline, control: WatchControl, onBatch: @Sendable (Batch) -> Void
    ) async throws(StartError) {
        try Self.check(initial)
        let (inputs, continuation) = AsyncStream<WatchInput>.makeStream()
        control.attach(continuation)
        var pipeline = initial
        var watchers = try startWatchers(pipeline, continuation)
        defer { for watcher in watchers { watcher.stop() } }
        var pending = PendingFiles()
        let clock = ContinuousClock()
        var nextRescan = clock.now + options.rescanEvery
        // Remote sources have no events: they are listed at start and every pollInterval.
        var nextPoll: ContinuousClock.Instant? = Self.pollInterval(pipeline).map { _ in clock.now }
        // One timer: the next due file or the next rescan. It is moved only earlier by events, so a burst of
        // events costs a comparison each; the pending set is scanned when the timer fires.
        var timer: Task<Void, Never>?
        var wake: ContinuousClock.Instant?
        func schedule(_ instant: ContinuousClock.Instant) {
            if let wake, wake <= instant { return }
            wake = instant
            timer?.cancel()
            timer = Task {
                try? await Task.sleep(until: instant, clock: clock)
                if !Task.isCancelled { continuation.yield(.tick) }
            }
        }
        let logger = session.logger
        logger.info("watching", metadata: ["folders": "\(watchers.map(\.source.watchedRoot))"])
        schedule(min(nextPoll ?? nextRescan, nextRescan))

        inputs: for await input in inputs {
            switch input {
            case .changed(let source, _, _, _) where source >= pipeline.sources.count,
                .found(let source, _, _) where source >= pipeline.sources.count:
                // Sent by a watcher of a pipeline replaced since (SIGHUP) that had more sources.
                continue inputs
            case .changed(let source, let path, let closed, let at):
                let quiet =
                    closed ? settle(pipeline, source: source) : max(settle(pipeline, source: source), options.openQuiet)
                pending.changed(FileKey(source: source, path: path), closed: closed, at: at)
                schedule(at + quiet)
            case .found(let source, let path, let at):
                pending.found(FileKey(source: source, path: path), at: at)
                schedule(at)
            case .removed(let source, let path, let folder):
                pending.removed(source: source, path: path, folder: folder)
            case .overflowed:
                break
            case .failed(let source, let message):
                logger.error("watcher stopped", metadata: ["source": "\(source)", "reason": "\(message)"])
            case .stop:
                break inputs
            case .reload(let next):
                do throws(StartError) {
                    try Self.check(next)
                    // New watchers with the new sources' rules (folders, globs, minAge); their walk finds every file
                    // again, and the ledger skips what is done.
                    let started = try startWatchers(next, continuation)
                    for watcher in watchers { watcher.stop() }
                    watchers = started
                    pending = PendingFiles()
                    pipeline = next
                    nextPoll = Self.pollInterval(next).map { _ in clock.now }
                    logger.notice("pipeline reloaded", metadata: ["pipeline": "\(next.name)"])
                } catch {
                    logger.error("reload refused, the running pipeline stays: \(error.description)")
                }
            case .tick:
                let now = clock.now
                if let wake, now < wake { continue inputs }  // a timer replaced after it had fired
                wake = nil
                if now >= nextRescan {
                    for watcher in watchers { watcher.rescan() }
                    nextRescan = now + options.rescanEvery
                }
                let due = pending.takeDue(
                    at: now, settle: { settle(pipeline, source: $0) }, openQuiet: options.openQuiet,
                    root: { (pipeline.sources[$0].value as? any WatchableSource)?.watchedRoot })
                if !due.isEmpty {
                    let batch = await runBatch(pipeline, due: due, polling: false, control: control)
                    onBatch(batch)
                    if case .failure = batch.result {
                        // The lock was held (a cron run) or the ledger failed: try these again in a while.
                        for key in due { pending.retry(key, at: clock.now + .seconds(5)) }
                    }
                    if control.isStopRequested { break inputs }
                }
                if let poll = nextPoll, now >= poll, let interval = Self.pollInterval(pipeline) {
                    let batch = await runBatch(pipeline, due: [], polling: true, control: control)
                    onBatch(batch)
                    nextPoll = clock.now + interval
                    if control.isStopRequested { break inputs }
                }
                let nextFile = pending.nextDue(settle: { settle(pipeline, source: $0) }, openQuiet: options.openQuiet)
                schedule(min(nextFile ?? nextRescan, nextRescan, nextPoll ?? nextRescan))
            }
        }
        timer?.cancel()
        logger.info("watch stopped")
    }

    private func settle(_ pipeline: Pipeline, source: Int) -> Duration {
        let seconds = (pipeline.sources[source].value as? any WatchableSource)?.settleSeconds ?? 0
        return max(options.settleFloor, .milliseconds(Int64((seconds * 1000).rounded())))
    }

    private func startWatchers(
        _ pipeline: Pipeline, _ continuation: AsyncStream<WatchInput>.Continuation
    ) throws(StartError) -> [FolderWatcher] {
        var watchers: [FolderWatcher] = []
        for (index, component) in pipeline.sources.enumerated() {
            guard let source = component.value as? any WatchableSource else { continue }
            do {
                let watcher = try FolderWatcher(
                    index: index, source: source, inputs: continuation, logger: session.logger,
                    overflowAfter: options.overflowAfter)
                watchers.append(watcher)
            } catch {
                for watcher in watchers { watcher.stop() }
                throw StartError(description: "cannot watch \(source.watchedRoot): \(error.reason)")
            }
        }
        for watcher in watchers { watcher.start() }
        return watchers
    }

    /// The shortest poll interval of the pipeline's remote sources, `nil` when it has none.
    static func pollInterval(_ pipeline: Pipeline) -> Duration? {
        pipeline.sources.compactMap { ($0.value as? any PollableSource)?.pollInterval }.min()
    }

    /// Runs the pipeline once: over the due files, each folder source restricted to its own — or, `polling`, over the
    /// whole of every remote source (the folders list nothing then). Sources keep their places, so ledger keys do not
    /// move.
    private func runBatch(_ pipeline: Pipeline, due: [FileKey], polling: Bool, control: WatchControl) async -> Batch {
        let bySource = Dictionary(grouping: due, by: \.source)
        let sources = pipeline.sources.enumerated().map { index, component in
            let restricted: any AssetSource
            if let watchable = component.value as? any WatchableSource {
                restricted = watchable.restricted(to: polling ? [] : bySource[index]?.map(\.path) ?? [])
            } else if !polling {
                restricted = NothingListed(kind: component.kind)
            } else {
                return component
            }
            return Pipeline.Component<any AssetSource>(
                restricted, kind: component.kind, name: component.name, phase: .source, hasSideEffects: false)
        }
        var options = session
        options.isGone = Self.vanishedCheck(pipeline)
        let run = RunSession(pipeline: pipeline.withSources(sources), options: options, state: state)
        let runControl = RunControl()
        control.running(runControl)
        defer { control.running(nil) }
        do {
            return Batch(files: due.count, result: .success(try await run.run(control: runControl)))
        } catch {
            return Batch(files: due.count, result: .failure(error))
        }
    }

    /// Whether the entry of a ledger key is gone from its folder (`ENOENT`, or a file where a folder was): a batch
    /// lists only its own files, so this is how it settles the rows a killed process left in flight for files that
    /// are no longer there — archived just before the kill, or removed since. Anything else (a permission error, an
    /// entry of another kind) is not gone.
    static func vanishedCheck(_ pipeline: Pipeline) -> @Sendable (String) -> Bool {
        // Longest prefix first: the first source's empty one takes the keys no later source's name starts.
        let roots = pipeline.sources.indices.compactMap { index -> (prefix: String, root: String)? in
            (pipeline.sources[index].value as? any WatchableSource).map {
                (pipeline.ledgerKeyPrefix(forSourceAt: index), $0.watchedRoot)
            }
        }.sorted { $0.prefix.count > $1.prefix.count }
        return { key in
            guard let (prefix, root) = roots.first(where: { key.hasPrefix($0.prefix) }) else { return false }
            var status = stat()
            let path = root + "/" + key.dropFirst(prefix.count)
            guard path.withPlatformPath({ lstat($0, &status) }) != 0 else { return false }
            return errno == ENOENT || errno == ENOTDIR
        }
    }
}

/// A source of a batch that is not its turn (a remote source in a batch of folder events): it lists nothing and
/// concludes nothing about its rows.
struct NothingListed: AssetSource {
    var kind: String
    var listsEverything: Bool { false }
    func items(context: PipelineContext) -> AsyncThrowingStream<SourceEvent, any Error> {
        AsyncThrowingStream { $0.finish() }
    }
}
