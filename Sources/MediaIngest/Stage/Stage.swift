import Foundation

/// Hooks every pipeline component (source or stage) may implement. All have default implementations
/// that do nothing, so a component overrides only what it needs.
///
/// The runner calls, in order: ``prepare(_:)`` once before any asset; ``AssetObserver/assetDidFinish(_:context:)``
/// once per asset when it leaves the pipeline (whatever the outcome, on every component that is an
/// ``AssetObserver``); ``finish(_:context:)`` once with the run report. ``finish(_:context:)`` is called for every component whose ``prepare(_:)``
/// succeeded, even when the run is interrupted or aborted.
public protocol PipelineComponent: Sendable {
    /// Sets up per-run resources (open files, clients). Throwing ends the run before any asset is read.
    func prepare(_ context: PipelineContext) async throws

    /// Releases per-run resources and sees the run report (per-run webhooks use this).
    func finish(_ report: RunReport, context: PipelineContext) async throws

    /// Facts about the component's environment for the run report, such as the libmagic version.
    var reportInfo: [String: JSONValue] { get }
}

// MARK: - Default implementations

extension PipelineComponent {
    public func prepare(_ context: PipelineContext) async throws {}
    public func finish(_ report: RunReport, context: PipelineContext) async throws {}
    public var reportInfo: [String: JSONValue] { [:] }
}

/// A pipeline stage: receives one asset, returns it (possibly changed) to continue, or rejects it.
///
/// ## Contract
/// - `process` is called concurrently for different assets (up to the pipeline's concurrency), so a stage
///   must be `Sendable` and keep no unsynchronised mutable state. Per-worker resources (a libmagic handle)
///   are indexed by ``StageContext/worker``, which no two concurrent calls share.
/// - Return ``StageOutcome/reject(_:_:)`` for a verdict about the file (too large, wrong type): it is final
///   and re-runs skip the file until it changes.
/// - Throw for trouble that may pass (a network error, a full disk): the asset is recorded as failed and
///   retried by a later run. Throw an error conforming to ``RunAbortingError`` when no asset can succeed
///   (a revoked API key): the run stops taking new assets.
/// - Never modify the source file. Write changed bytes to ``StageContext/makeWorkFile(named:sizeHint:)`` and point
///   ``Asset/contentPath`` at it.
/// - Honour task cancellation in long operations; a second Ctrl-C cancels in-flight work.
public protocol Stage: PipelineComponent {
    /// Processes one asset.
    /// - Parameters:
    ///   - asset: the asset as the previous stage left it.
    ///   - context: logger, worker index, work files and run information.
    /// - Returns: the asset to continue with, or a rejection.
    /// - Throws: any error to mark the asset failed (retried by a later run).
    func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome
}

/// A component that sees every asset as it leaves the pipeline — done, rejected, failed or planned — without taking
/// part in processing: the manifest, per-asset webhooks. Listed among a pipeline file's stages (phase
/// ``StagePhase/report``), but its position does not matter and it takes no `when`: a rejected asset that never
/// reached a later stage still reaches every observer.
///
/// ``assetDidFinish(_:context:)`` runs concurrently for different assets (from the worker that finished each);
/// synchronise what it writes (one `write(2)` per line with `O_APPEND`, a lock, an actor).
public protocol AssetObserver: PipelineComponent {
    /// Sees the final result of one asset. Must not throw; should be quick.
    func assetDidFinish(_ result: AssetResult, context: PipelineContext) async
}

/// A source: produces the assets of a run as an asynchronous sequence.
public protocol AssetSource: PipelineComponent {
    /// The items to ingest, in a stable order. The sequence should check ``PipelineContext/control`` and stop
    /// early when a stop is requested.
    /// - Throws: (through the sequence) when the source cannot be read at all (its folder is missing); the run
    ///   then ends with a fatal error. Problems with single entries are reported as events instead.
    func items(context: PipelineContext) -> AsyncThrowingStream<SourceEvent, any Error>

    /// `false` for a source that lists only part of what it stands for (the files a watcher saw change): a run over
    /// it does not conclude that unlisted ledger rows have vanished. Default `true`.
    var listsEverything: Bool { get }
}

extension AssetSource {
    public var listsEverything: Bool { true }
}

/// A source whose items are the files under a local folder, which `ingest watch` can follow with inotify.
///
/// The watcher calls ``mayTake(relativePath:isDirectory:)`` to ignore events early and hands the files it saw settle
/// to ``restricted(to:)``, whose listing applies every rule of a full one again (globs, hidden files, links leaving
/// the folder, `minAge`), so a batch takes exactly what a full run would have taken of those files.
public protocol WatchableSource: AssetSource {
    /// The folder, absolute.
    var watchedRoot: String { get }
    /// How long a file must have stopped changing before it is taken (the source's `minAge`), in seconds.
    var settleSeconds: Double { get }
    /// Whether an entry at this path (relative to the root) could be taken, or a folder could hold such entries.
    func mayTake(relativePath: String, isDirectory: Bool) -> Bool
    /// A source that lists only these entries (relative paths; a folder stands for everything under it).
    func restricted(to relativePaths: [String]) -> any AssetSource
}

/// A source `ingest watch` cannot follow with events (remote storage): it lists it again every ``pollInterval``; the
/// ledger makes an unchanged listing cost no work.
public protocol PollableSource: AssetSource {
    /// How often the watcher lists it.
    var pollInterval: Duration { get }
}

/// What a source reports.
public enum SourceEvent: Sendable {
    /// A file or URL to ingest.
    case item(SourceItem)
    /// An entry the source refuses (a symbolic link leaving the root): it is reported as rejected.
    case rejected(SourceItem, Rejection)
    /// An entry the source could not look at (its `stat` failed): ``ErrorPolicy`` decides what the error makes of it,
    /// as for a stage's — a ``FileError`` fails it (`io`, retried by a later run), a rejecting error rejects it.
    case failed(SourceItem, any Error)
    /// An entry left for a later run (younger than the minimum age): counted, not processed.
    case deferred(path: String, reason: String)
    /// How much the source produces in all (for progress bars); at most once, at any point: a source that lists
    /// everything first sends it before the items, one that streams (`source.directory`) when its listing ends.
    case estimate(count: Int, bytes: Int64)
    /// Files that go through the pipeline together (a Live Photo's still and video, each with its
    /// ``SourceItem/group``): each is its own asset, processed side by side by one worker (see ``AssetGroup``).
    case group([SourceItem])
}

/// A file or URL found by a source, before it becomes an ``Asset``.
public struct SourceItem: Sendable {
    /// Where it is.
    public var origin: Asset.Origin
    /// The name to use at the target (defaults to the origin's last path component).
    public var fileName: String
    /// Size in bytes, if known.
    public var size: Int64?
    /// Modification time, if known.
    public var modificationDate: Date?
    /// Facts to start the asset with.
    public var facts: [String: JSONValue]
    /// Files paired with this one that travel with it and are never uploaded (``Asset/sidecars``).
    public var sidecars: [Sidecar]
    /// Its part in a ``SourceEvent/group(_:)``.
    public var group: AssetGroup?
    /// Typed values to start the asset with (``Asset/values``): what the source learnt while listing.
    public var values = AssetValues()

    /// Creates an item.
    public init(
        origin: Asset.Origin, fileName: String? = nil, size: Int64? = nil, modificationDate: Date? = nil,
        facts: [String: JSONValue] = [:], sidecars: [Sidecar] = [], group: AssetGroup? = nil
    ) {
        self.origin = origin
        self.fileName = fileName ?? origin.fileName
        self.size = size
        self.modificationDate = modificationDate
        self.facts = facts
        self.sidecars = sidecars
        self.group = group
    }
}
