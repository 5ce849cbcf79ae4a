import Foundation
import MediaIngest
import PipelineTesting

/// A backend that breaks one promise of the state machine on purpose, wrapping a working one: the conformance suite
/// must notice (``SQLiteConformanceTests/brokenBackends()``).
struct BrokenBackend: StateBackend {
    enum Breakage: Sendable {
        /// Checkpoints are accepted and forgotten: a killed run's target id and pending upload are lost.
        case dropsCheckpoints
        /// Every asset is processed again: done and rejected rows are not skipped.
        case neverSkips
        /// An interrupted asset is recorded as a failed attempt instead of staying in flight.
        case recordsInterruptedAsFailed
    }

    let base: any StateBackend
    let breakage: Breakage

    var features: StateFeatures { base.features }

    func open(
        for pipeline: Pipeline, runID: String, waitingUpTo wait: Duration
    ) async throws(RunStateError) -> any RunStateStore {
        BrokenStore(
            base: try await base.open(for: pipeline, runID: runID, waitingUpTo: wait), breakage: breakage)
    }

    func inspector(for pipeline: Pipeline) async throws(RunStateError) -> (any StateInspector)? {
        try await base.inspector(for: pipeline)
    }

    func diagnose(_ pipeline: Pipeline) async -> Diagnosis { await base.diagnose(pipeline) }
}

/// The store of a ``BrokenBackend``: forwards every call, but the broken one.
final class BrokenStore: RunStateStore {
    let base: any RunStateStore
    let breakage: BrokenBackend.Breakage

    init(base: any RunStateStore, breakage: BrokenBackend.Breakage) {
        self.base = base
        self.breakage = breakage
    }

    func begin(_ asset: Asset) async throws -> LedgerDecision {
        let decision = try await base.begin(asset)
        if breakage == .neverSkips, case .skip = decision { return .process(recovery: nil) }
        return decision
    }

    func checkpoint(_ asset: Asset) async throws {
        if breakage != .dropsCheckpoints { try await base.checkpoint(asset) }
    }

    func record(_ result: AssetResult) async throws {
        var result = result
        if breakage == .recordsInterruptedAsFailed, result.failure?.code == "interrupted" {
            result.failure = AssetFailure(code: "cancelled", message: "cancelled")
        }
        try await base.record(result)
    }

    func confirmClaim(_ asset: Asset) async throws { try await base.confirmClaim(asset) }
    func watchClaim(_ ledgerKey: String, onLost: @escaping @Sendable (LedgerClaimLost) -> Void) -> ClaimWatch? {
        base.watchClaim(ledgerKey, onLost: onLost)
    }
    func uploads(ofContent sha256: String, target: String) async throws -> [String] {
        try await base.uploads(ofContent: sha256, target: target)
    }
    func recordedTargetID(forKey ledgerKey: String) async throws -> String? {
        try await base.recordedTargetID(forKey: ledgerKey)
    }
    func runStarted(at date: Date) async throws { try await base.runStarted(at: date) }
    func reconcileVanished() async throws -> Int { try await base.reconcileVanished() }
    func reconcileVanished(where isGone: @Sendable (String) -> Bool) async throws -> Int {
        try await base.reconcileVanished(where: isGone)
    }
    func runFinished(exitCode: Int32, counts: [String: Int], note: String?) async throws {
        try await base.runFinished(exitCode: exitCode, counts: counts, note: note)
    }
    func runReported(_ report: RunReport) async throws { try await base.runReported(report) }
    var services: StateServices { base.services }
    func close() async { await base.close() }
}

/// A fixture whose backend is a ``BrokenBackend`` over the SQLite one.
struct BrokenFixture: StateBackendFixture {
    let base: SQLiteFixture
    let breakage: BrokenBackend.Breakage

    var backend: any StateBackend { BrokenBackend(base: base.backend, breakage: breakage) }
    func pipeline(
        named name: String, host: String, configure: @Sendable (inout StateSettings) -> Void
    ) async throws -> Pipeline {
        try await base.pipeline(named: name, host: host, configure: configure)
    }
    func expireClaims(of pipeline: Pipeline) async throws {}
    var earlierSchemaVersions: [Int] { base.earlierSchemaVersions }
    func seed(_ rows: [ConformanceSeedRow], atSchemaVersion version: Int, for pipeline: Pipeline) async throws {
        try await base.seed(rows, atSchemaVersion: version, for: pipeline)
    }
}
