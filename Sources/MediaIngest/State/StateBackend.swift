import Foundation

/// Where a pipeline keeps its state: the run store a run opens (``RunStateProvider``) and the inspector the operator
/// commands read (`status`, `retry`, `report`, `enqueue`, `doctor`). `IngestState` provides one over SQLite (one
/// host), `IngestPostgres` one over PostgreSQL (a fleet); both keep the state machine of ``RerunRule`` and pass
/// `StateBackendConformance` (PipelineTesting), which is how a new backend shows it keeps it too.
public protocol StateBackend: RunStateProvider {
    /// What this backend offers beyond the state machine every backend keeps.
    var features: StateFeatures { get }

    /// Opens `pipeline`'s state for reading and the operator's changes, without the pipeline's run lock; `nil` when the
    /// pipeline has none yet (nothing ever ran).
    /// - Throws: ``RunStateError`` (`unavailable`) when the state exists but cannot be opened.
    func inspector(for pipeline: Pipeline) async throws(RunStateError) -> (any StateInspector)?

    /// `ingest doctor`'s check: the state opens (or can be created), with what was found.
    func diagnose(_ pipeline: Pipeline) async -> Diagnosis
}

/// What a ``StateBackend`` offers beyond the state machine.
public struct StateFeatures: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Several hosts share the state: ``AssetLedger/begin(_:)`` claims an asset under a lease that a heartbeat renews
    /// and another host takes over when it runs out; runs of a pipeline on different hosts overlap.
    public static let sharedClaims = StateFeatures(rawValue: 1 << 0)
    /// A queue of items added from outside (`ingest enqueue`, `source.queue`): ``StateServices/workQueue``.
    public static let workQueue = StateFeatures(rawValue: 1 << 1)
    /// A request and byte budget shared by hosts: ``StateServices/requestBudget``.
    public static let requestBudget = StateFeatures(rawValue: 1 << 2)
}

/// A pipeline's state opened for the operator commands. Close it when done.
public protocol StateInspector: Sendable {
    /// Where the state lives, for messages (`/srv/.ingest/inbox.sqlite`; a URL without its password).
    var location: String { get }

    /// The counts per status, the failures, recent runs, and — for a shared ledger — the claims and the queue.
    func status() async throws -> LedgerStatus

    /// Re-queues failed assets (attempts back to 0; also rejected ones when asked) so the next run retries them;
    /// returns how many rows changed.
    /// - Throws: ``RunStateError`` `lockHeld` when a run that must not see the change holds the pipeline.
    func requeue(includeRejected: Bool) async throws -> Int

    /// The run `id` (or the latest run) with the report it kept, or `nil` when there is none.
    func run(id: String?) async throws -> RecordedRun?

    /// Adds items (absolute paths, URLs) to the pipeline's queue; returns how many were new. Only for backends with
    /// ``StateFeatures/workQueue``.
    func enqueue(_ items: [String]) async throws -> Int

    /// Releases connections.
    func close() async
}

extension StateInspector {
    public func enqueue(_ items: [String]) async throws -> Int {
        throw RunStateError(
            code: .unavailable, message: "this ledger keeps no queue; set state.ledger to a postgresql:// URL")
    }
    public func close() async {}
}

/// What `ingest status` shows of a pipeline's state, whichever backend keeps it.
public struct LedgerStatus: Sendable {
    /// A failed asset.
    public struct Failure: Sendable, Hashable {
        public var identity: String
        public var attempts: Int
        public var code: String?
        public var error: String?

        public init(identity: String, attempts: Int, code: String?, error: String?) {
            self.identity = identity
            self.attempts = attempts
            self.code = code
            self.error = error
        }
    }

    /// Claims one run holds (shared ledgers).
    public struct Claims: Sendable, Hashable {
        public var host: String
        public var runID: String
        public var count: Int
        /// Of them, claims whose lease ran out: free to take over.
        public var expired: Int

        public init(host: String, runID: String, count: Int, expired: Int) {
            self.host = host
            self.runID = runID
            self.count = count
            self.expired = expired
        }
    }

    /// Rows per status (``RerunRule``'s statuses).
    public var counts: [String: Int]
    /// Failed assets, by ledger key.
    public var failures: [Failure]
    /// Recent runs, latest first (a local ledger: the latest only).
    public var runs: [RecordedRun]
    /// What the latest run could not do outside any one asset (a folder it could not list…), from its report.
    public var lastRunProblems: [RunProblem]
    /// Claims in flight per run; `nil` for a ledger without claims.
    public var claims: [Claims]?
    /// Items waiting in the queue; `nil` for a ledger without one.
    public var queued: Int?

    public init(
        counts: [String: Int], failures: [Failure], runs: [RecordedRun], lastRunProblems: [RunProblem] = [],
        claims: [Claims]? = nil, queued: Int? = nil
    ) {
        self.counts = counts
        self.failures = failures
        self.runs = runs
        self.lastRunProblems = lastRunProblems
        self.claims = claims
        self.queued = queued
    }

    /// The latest run.
    public var lastRun: RecordedRun? { runs.first }
}

/// One run as a ledger keeps it.
public struct RecordedRun: Sendable {
    public var id: String
    public var startedAt: Date
    public var finishedAt: Date?
    public var exitCode: Int?
    /// The report (counts, time line, slowest assets, problems, retries), when the run finished and kept one.
    public var report: RunReport?
    /// The host it ran on (shared ledgers).
    public var host: String?
    /// Its process id (shared ledgers).
    public var pid: Int?
    /// Whether it is running now: not finished, and its heartbeat recent (shared ledgers; `false` otherwise).
    public var live: Bool

    public init(
        id: String, startedAt: Date, finishedAt: Date?, exitCode: Int?, report: RunReport?, host: String? = nil,
        pid: Int? = nil, live: Bool = false
    ) {
        self.id = id
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.exitCode = exitCode
        self.report = report
        self.host = host
        self.pid = pid
        self.live = live
    }

    /// A kept report, decoded (`nil` for none, or one this ingest cannot read).
    public static func decodeReport(_ text: String?) -> RunReport? {
        guard let text else { return nil }
        return try? RunReport.makeDecoder().decode(RunReport.self, from: Data(text.utf8))
    }
}
