import Foundation

/// The state one run of a pipeline keeps beyond itself: the ledger rows of its assets and the record of the run.
/// Opened by a ``RunStateProvider``, which holds the pipeline's lock for as long as the store is open.
///
/// ``RunSession`` drives it: ``runStarted(at:)``, then the runner's ``AssetLedger`` calls (`begin`, `checkpoint`,
/// `record`, concurrently from the workers), then — after a run that listed its whole source —
/// ``reconcileVanished()`` (after a partial one, ``reconcileVanished(where:)`` when its caller can tell what is gone),
/// then ``runFinished(exitCode:counts:note:)`` and ``close()``.
public protocol RunStateStore: AssetLedger {
    /// Notes the start of the run.
    func runStarted(at date: Date) async throws

    /// After a run that listed its whole source: rows still in flight from earlier runs belong to files the source no
    /// longer lists; settles them (done with a confirmed upload, else failed with a reason). Returns how many changed.
    @discardableResult
    func reconcileVanished() async throws -> Int

    /// After a run that listed only part of its source (a watcher's batch): of the rows still in flight from earlier
    /// runs — not under another run's live claim — those whose ledger key `isGone` says the source no longer holds
    /// are settled as ``reconcileVanished()`` settles them; the others are left for the run that lists them. Returns
    /// how many changed.
    @discardableResult
    func reconcileVanished(where isGone: @Sendable (String) -> Bool) async throws -> Int

    /// Notes the end of the run with its exit code, counts and note (why it stopped early).
    func runFinished(exitCode: Int32, counts: [String: Int], note: String?) async throws

    /// Keeps the run's report — without its asset records: counts, the time line, the slowest assets, problems by
    /// code, retries by kind — for `ingest report`. Default: nothing is kept.
    func runReported(_ report: RunReport) async throws

    /// What the store supplies to the run's sources and stages besides the ledger: a shared work queue, a shared
    /// request budget (``StateServices``). Default: none.
    var services: StateServices { get }

    /// Releases what the store holds — the pipeline's lock among it. Called once, last.
    func close() async
}

extension RunStateStore {
    public func runReported(_ report: RunReport) async throws {}
    public var services: StateServices { .none }
}

/// Opens the state of a run: takes the pipeline's lock — so two runs of a pipeline never overlap — then its ledger.
/// `IngestState` provides one over SQLite and `flock(2)`; a shared one (several hosts) plugs in the same way.
public protocol RunStateProvider: Sendable {
    /// Opens the state for run `runID` of `pipeline`, waiting up to `wait` for a lock another run holds.
    /// - Throws: ``RunStateError`` — `lockHeld` when another run kept the lock past `wait`, `unavailable` when the
    ///   state cannot be opened at all.
    func open(
        for pipeline: Pipeline, runID: String, waitingUpTo wait: Duration
    ) async throws(RunStateError) -> any RunStateStore
}

/// Why a run's state could not be opened.
public struct RunStateError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, as a value that can grow (like swift-nio's `FileSystemError.Code`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// Another run of the pipeline holds its lock.
        public static let lockHeld = Code("lock_held")
        /// The ledger or the lock cannot be used (bad path, permissions, a corrupt or newer database).
        public static let unavailable = Code("unavailable")
    }

    public var code: Code
    /// One line for the user: what, where, why.
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
