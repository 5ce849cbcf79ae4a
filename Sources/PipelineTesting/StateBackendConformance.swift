import Foundation
import MediaIngest
import Synchronization

/// How ``StateBackendConformance`` reaches a backend: fresh pipelines whose state the backend keeps, and the few
/// things a test must do that no run does (make leases run out, write an old schema).
public protocol StateBackendFixture: Sendable {
    /// The backend under test.
    var backend: any StateBackend { get }

    /// A pipeline named `name` (unique per check), its state kept by ``backend`` and adjusted by `configure`. `host`
    /// stands for a machine of a fleet: pipelines of different hosts share the state but not the host's lock file, so
    /// a backend with ``StateFeatures/sharedClaims`` opens their stores at once. A single-host backend may ignore it.
    func pipeline(
        named name: String, host: String, configure: @Sendable (inout StateSettings) -> Void
    ) async throws
        -> Pipeline

    /// Makes every claim on `pipeline`'s assets run out now, as if their host froze past its lease. Only called for a
    /// backend with ``StateFeatures/sharedClaims``.
    func expireClaims(of pipeline: Pipeline) async throws

    /// The schema versions this backend has shipped before its current one, oldest first.
    var earlierSchemaVersions: [Int] { get }

    /// Creates `pipeline`'s state at schema `version` — as that version of ingest left it — holding `rows`.
    func seed(_ rows: [ConformanceSeedRow], atSchemaVersion version: Int, for pipeline: Pipeline) async throws
}

/// A ledger row as an earlier schema version stored it (``StateBackendFixture/seed(_:atSchemaVersion:for:)``): the
/// columns every version had, and a target id.
public struct ConformanceSeedRow: Sendable {
    public var key: String
    public var status: String
    public var size: Int64
    public var modificationDate: Date
    public var attempts: Int
    public var runID: String
    public var error: String?
    public var targetID: String?

    public init(
        key: String, status: String, size: Int64, modificationDate: Date, attempts: Int, runID: String,
        error: String? = nil, targetID: String? = nil
    ) {
        self.key = key
        self.status = status
        self.size = size
        self.modificationDate = modificationDate
        self.attempts = attempts
        self.runID = runID
        self.error = error
        self.targetID = targetID
    }
}

/// The contract every ``StateBackend`` keeps, as a suite of checks any backend can be run through — the way
/// fluent-kit's `FluentBenchmarker` holds every database driver to one behaviour. SQLite and PostgreSQL run it in
/// this package's tests; a new backend shows it keeps the state machine by passing it:
///
/// ```swift
/// @Test(arguments: StateBackendConformance.checkNames)
/// func conformance(_ check: String) async {
///     let result = await StateBackendConformance(MyBackendFixture()).run(check)
///     #expect(result.passed, "\(result)")
/// }
/// ```
///
/// The checks: the re-run rules (``RerunRule``), attempts and `retry`, checkpoint and recovery round trips, the run
/// record, reconciling vanished files, concurrent writers, content de-duplication, migrations from every earlier
/// schema version, and — for backends with ``StateFeatures/sharedClaims`` — claim exclusivity between hosts, lease
/// expiry and takeover, and a closed run freeing its claims.
public struct StateBackendConformance: Sendable {
    /// One check's outcome.
    public struct Result: Sendable, CustomStringConvertible {
        public var check: String
        /// What broke the contract; `nil` when the check passed or was skipped.
        public var violation: String?
        /// Why the check did not apply to this backend (a feature it does not offer).
        public var skipped: String?

        public var passed: Bool { violation == nil }
        public var description: String {
            "\(check): " + (violation.map { "VIOLATED — \($0)" } ?? skipped.map { "skipped (\($0))" } ?? "passed")
        }
    }

    /// A broken promise, thrown by a check.
    public struct Violation: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    struct Check: Sendable {
        var name: String
        var requires: StateFeatures
        var body: @Sendable (Probe) async throws -> Void
    }

    let fixture: any StateBackendFixture

    public init(_ fixture: any StateBackendFixture) { self.fixture = fixture }

    /// The names of every check, for a parameterized test.
    public static var checkNames: [String] { checks.map(\.name) }

    /// Runs the check `name`.
    public func run(_ name: String) async -> Result {
        guard let check = Self.checks.first(where: { $0.name == name }) else {
            return Result(check: name, violation: "no such check")
        }
        let missing = check.requires.subtracting(fixture.backend.features)
        guard missing.isEmpty else { return Result(check: name, skipped: "the backend lacks \(missing)") }
        let probe = Probe(fixture: fixture, check: name)
        do {
            try await check.body(probe)
            await probe.closeAll()
            return Result(check: name)
        } catch {
            await probe.closeAll()
            return Result(check: name, violation: "\(error)")
        }
    }

    /// Runs every check.
    public func runAll() async -> [Result] {
        var results: [Result] = []
        for name in Self.checkNames { results.append(await run(name)) }
        return results
    }
}

/// What a check works with: fresh pipelines, stores it opens (and closes at the end), assets, and `require`.
final class Probe: Sendable {
    let fixture: any StateBackendFixture
    let check: String
    let folder: String
    private let opened = Mutex<[any RunStateStore]>([])
    private let closed = Mutex<Set<ObjectIdentifier>>([])

    init(fixture: any StateBackendFixture, check: String) {
        self.fixture = fixture
        self.check = check
        folder =
            FileManager.default.temporaryDirectory.appendingPathComponent(
                "conformance-\(check)-\(UUID().uuidString.prefix(8))"
            ).path
    }

    var backend: any StateBackend { fixture.backend }

    /// A pipeline of this check; `suffix` makes more than one.
    func pipeline(
        _ suffix: String = "", host: String = "host-a",
        configure: @escaping @Sendable (inout StateSettings) -> Void = {
            _ in
        }
    ) async throws -> Pipeline {
        try await fixture.pipeline(named: "\(check)\(suffix)", host: host, configure: configure)
    }

    /// Opens a run's store and notes its start.
    func open(_ pipeline: Pipeline, run runID: String) async throws -> any RunStateStore {
        let store = try await backend.open(for: pipeline, runID: runID, waitingUpTo: .seconds(5))
        opened.withLock { $0.append(store) }
        try await store.runStarted(at: Date())
        return store
    }

    /// Closes a store (once), as a run ends.
    func close(_ store: any RunStateStore) async {
        if closed.withLock({ $0.insert(ObjectIdentifier(store as AnyObject)).inserted }) { await store.close() }
    }

    func closeAll() async {
        for store in opened.withLock({ $0 }) { await close(store) }
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// The status the backend's inspector reads.
    func status(_ pipeline: Pipeline) async throws -> LedgerStatus {
        guard let inspector = try await backend.inspector(for: pipeline) else {
            throw StateBackendConformance.Violation(message: "the inspector finds no state for \(pipeline.name)")
        }
        defer { Task { await inspector.close() } }
        return try await inspector.status()
    }

    /// An asset whose ledger key is `key`: a file under this check's folder, made empty unless it is there (a failure
    /// whose file is gone is recorded `vanished`, so the files must exist while the checks fail them).
    func asset(_ key: String, size: Int64 = 10, modified: Date = Date(timeIntervalSince1970: 1_700_000_000)) -> Asset {
        let path = folder + "/" + key
        if !FileManager.default.fileExists(atPath: path) {
            try? FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        return Asset(
            id: 1, origin: .file(path: folder + "/" + key, root: folder, relativePath: key), fileName: key,
            contentPath: nil, size: size, modificationDate: modified)
    }

    /// Throws a ``StateBackendConformance/Violation`` saying `message` unless `condition` holds.
    func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw StateBackendConformance.Violation(message: message()) }
    }

    /// The recovery of a `.process` decision, or a violation naming what came instead.
    func processed(_ decision: LedgerDecision, _ what: String) throws -> Asset.Recovery? {
        guard case .process(let recovery) = decision else {
            throw StateBackendConformance.Violation(message: "\(what): expected to be processed, got \(decision)")
        }
        return recovery
    }

    /// The reason of a `.skip` decision, or a violation.
    func skipped(_ decision: LedgerDecision, _ what: String) throws -> String {
        guard case .skip(let reason) = decision else {
            throw StateBackendConformance.Violation(message: "\(what): expected to be skipped, got \(decision)")
        }
        return reason
    }
}
