import Foundation
import MediaIngest

extension StateBackendConformance {
    /// Earlier runs' in-flight rows whose files are gone: done with a READY upload, else failed `source_vanished`;
    /// a partial reconcile settles only the keys it is told are gone.
    static func reconcileVanished(_ p: Probe) async throws {
        let pipeline = try await p.pipeline()
        let killed = try await p.open(pipeline, run: "killed")
        for key in ["uploaded.jpg", "lost.jpg", "elsewhere.jpg"] { _ = try await killed.begin(p.asset(key)) }
        var uploaded = p.asset("uploaded.jpg")
        uploaded.target = TargetRecord(target: "wix", id: "file-3", url: nil, status: "READY", confirmed: true)
        try await killed.checkpoint(uploaded)
        await p.close(killed)

        let watcher = try await p.open(pipeline, run: "batch")
        let partial = try await watcher.reconcileVanished(where: { $0 != "elsewhere.jpg" })
        try p.require(partial == 2, "a partial reconcile changed \(partial) rows, expected 2")
        var status = try await p.status(pipeline)
        try p.require(
            status.counts == ["done": 1, "failed": 1, "in_flight": 1], "after a partial reconcile: \(status.counts)")
        try p.require(
            status.failures.map(\.identity) == ["lost.jpg"] && status.failures.first?.code == RerunRule.vanishedCode,
            "failures: \(status.failures)")
        let whole = try await watcher.reconcileVanished()
        try p.require(whole == 1, "a whole reconcile changed \(whole) rows, expected 1")
        // This run's own rows are never taken for vanished.
        _ = try await watcher.begin(p.asset("mine.jpg"))
        try p.require(try await watcher.reconcileVanished() == 0, "a reconcile settled the running run's own row")
        status = try await p.status(pipeline)
        try p.require(
            status.counts == ["done": 1, "failed": 2, "in_flight": 1], "after a whole reconcile: \(status.counts)")
    }

    /// Workers write at once: 16 tasks begin, checkpoint and record 400 assets; every row lands.
    static func concurrentWriters(_ p: Probe) async throws {
        let pipeline = try await p.pipeline()
        let store = try await p.open(pipeline, run: "busy")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    for index in stride(from: worker, to: 400, by: 16) {
                        var asset = p.asset("many/\(index).jpg")
                        _ = try p.processed(try await store.begin(asset), "asset \(index)")
                        asset.target = TargetRecord(
                            target: "wix", id: "file-\(index)", url: nil, status: "READY", confirmed: true)
                        try await store.checkpoint(asset)
                        try await store.record(
                            index % 10 == 0
                                ? AssetResult(
                                    asset: asset, status: .failed, failure: AssetFailure(code: "x", message: "y"))
                                : AssetResult(asset: asset, status: .done))
                    }
                }
            }
            try await group.waitForAll()
        }
        let status = try await p.status(pipeline)
        try p.require(status.counts == ["done": 360, "failed": 40], "after 400 concurrent assets: \(status.counts)")
        let target = try await store.recordedTargetID(forKey: "many/123.jpg")
        try p.require(target == "file-123", "recordedTargetID after concurrent writes: \(String(describing: target))")
    }

    /// `state.dedupe: "content"`: a file whose bytes are done under another name is skipped, naming its twin.
    static func dedupeByContent(_ p: Probe) async throws {
        let pipeline = try await p.pipeline { $0.dedupe = .content }
        try FileManager.default.createDirectory(atPath: p.folder, withIntermediateDirectories: true)
        let bytes = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        for name in ["original.jpg", "copy.jpg"] {
            try bytes.write(to: URL(fileURLWithPath: p.folder + "/" + name))
        }
        try Data("other".utf8).write(to: URL(fileURLWithPath: p.folder + "/other.jpg"))
        let first = try await p.open(pipeline, run: "first")
        _ = try p.processed(try await first.begin(p.asset("original.jpg", size: 4096)), "the original")
        try await first.record(AssetResult(asset: p.asset("original.jpg", size: 4096), status: .done))
        await p.close(first)
        let second = try await p.open(pipeline, run: "second")
        let reason = try p.skipped(try await second.begin(p.asset("copy.jpg", size: 4096)), "a copy of a done file")
        try p.require(reason.contains("same content as original.jpg"), "the copy's skip reason: \(reason)")
        _ = try p.processed(try await second.begin(p.asset("other.jpg", size: 5)), "a file with other bytes")
    }

    /// Rows an earlier schema version wrote keep their meaning after the current version opens them.
    static func migrations(_ p: Probe) async throws {
        let old = Date(timeIntervalSince1970: 1_650_000_000)
        for version in p.fixture.earlierSchemaVersions {
            let pipeline = try await p.pipeline("-v\(version)")
            try await p.fixture.seed(
                [
                    ConformanceSeedRow(
                        key: "done.jpg", status: "done", size: 10, modificationDate: old, attempts: 1, runID: "old",
                        targetID: "file-d"),
                    ConformanceSeedRow(
                        key: "failed.jpg", status: "failed", size: 10, modificationDate: old, attempts: 1, runID: "old",
                        error: "down"),
                    ConformanceSeedRow(
                        key: "inflight.jpg", status: "in_flight", size: 10, modificationDate: old, attempts: 1,
                        runID: "old", targetID: "file-9"),
                ], atSchemaVersion: version, for: pipeline)
            let store = try await p.open(pipeline, run: "upgraded")
            let done = try p.skipped(try await store.begin(p.asset("done.jpg", modified: old)), "v\(version) done row")
            try p.require(done == "done in run old", "v\(version) done row: \(done)")
            let retried = try p.processed(
                try await store.begin(p.asset("failed.jpg", modified: old)), "v\(version) failed row")
            try p.require(retried?.attempt == 2, "v\(version) failed row's recovery: \(String(describing: retried))")
            let recovered = try p.processed(
                try await store.begin(p.asset("inflight.jpg", modified: old)), "v\(version) in-flight row")
            try p.require(
                recovered?.wasInFlight == true && recovered?.previousTargetID == "file-9",
                "v\(version) in-flight row's recovery: \(String(describing: recovered))")
            // What later versions added works on the migrated rows.
            var asset = p.asset("inflight.jpg", modified: old)
            asset.target = TargetRecord(
                target: "wix", id: "file-9", url: nil, status: "READY", confirmed: true, sentSHA256: "cd34")
            asset.sidecars = [
                Sidecar(kind: .xmp, path: p.folder + "/inflight.xmp", relativePath: "inflight.xmp", size: 5)
            ]
            try await store.record(AssetResult(asset: asset, status: .done))
            try p.require(
                try await store.uploads(ofContent: "cd34", target: "wix") == ["file-9"],
                "v\(version): uploads by content after migrating")
            try await store.runReported(
                RunReport(
                    pipeline: pipeline.name, runID: "upgraded", startedAt: Date(), finishedAt: Date(), dryRun: false,
                    results: [], deferred: 0, interrupted: nil, aborted: nil, info: [:]))
            await p.close(store)
            let status = try await p.status(pipeline)
            try p.require(
                status.counts == ["done": 2, "in_flight": 1], "v\(version) after the upgraded run: \(status.counts)")
        }
    }

    /// Two hosts beginning the same assets at once: each is processed by exactly one; the other is told who holds it.
    static func claimExclusivity(_ p: Probe) async throws {
        let a = try await p.open(try await p.pipeline(host: "host-a"), run: "run-a")
        let b = try await p.open(try await p.pipeline(host: "host-b"), run: "run-b")
        let keys = (0..<100).map { "shared/\($0).jpg" }
        let decisions = try await withThrowingTaskGroup(of: (String, Bool, String?).self) { group in
            for key in keys {
                for (name, store) in [("a", a), ("b", b)] {
                    group.addTask {
                        switch try await store.begin(p.asset(key)) {
                        case .process: (key, true, name)
                        case .skip(let reason): (key, false, reason)
                        }
                    }
                }
            }
            return try await group.reduce(into: [(String, Bool, String?)]()) { $0.append($1) }
        }
        for key in keys {
            let mine = decisions.filter { $0.0 == key }
            let winners = mine.filter(\.1).count
            try p.require(winners == 1, "\(key) was claimed by \(winners) hosts")
            let loser = mine.first { !$0.1 }?.2 ?? ""
            try p.require(loser.contains("claimed by"), "\(key)'s other host was told: \(loser)")
        }
    }

    /// A frozen host's expired claim is taken over with its recovery facts; the frozen host can no longer write.
    static func leaseExpiryAndTakeover(_ p: Probe) async throws {
        // A long lease: its heartbeat (a third of it) must not renew the claim the check makes run out — a frozen
        // host renews nothing.
        let frozenPipeline = try await p.pipeline(host: "host-a") { $0.lease = .seconds(600) }
        let frozen = try await p.open(frozenPipeline, run: "frozen")
        let taker = try await p.open(try await p.pipeline(host: "host-b"), run: "taker")
        var asset = p.asset("contested.jpg")
        _ = try p.processed(try await frozen.begin(asset), "the first claim")
        _ = try p.skipped(try await taker.begin(asset), "a live claim")
        asset.target = TargetRecord(target: "wix", id: "file-5", url: nil, status: "PENDING", confirmed: false)
        try await frozen.checkpoint(asset)
        try await p.fixture.expireClaims(of: frozenPipeline)
        let recovery = try p.processed(try await taker.begin(asset), "an expired claim")
        try p.require(
            recovery?.wasInFlight == true && recovery?.previousTargetID == "file-5",
            "the takeover's recovery: \(String(describing: recovery))")
        do {
            try await frozen.confirmClaim(asset)
            throw Violation(message: "the frozen host confirmed a claim it lost")
        } catch is LedgerClaimLost {}
        do {
            try await frozen.checkpoint(asset)
            throw Violation(message: "the frozen host checkpointed an asset it lost")
        } catch let lost as LedgerClaimLost {
            try p.require(
                lost.currentTargetID == "file-5",
                "LedgerClaimLost.currentTargetID: \(String(describing: lost.currentTargetID))")
        }
        try await frozen.record(AssetResult(asset: asset, status: .done))
        var status = try await p.status(frozenPipeline)
        try p.require(status.counts == ["in_flight": 1], "the frozen host's record landed: \(status.counts)")
        try await taker.confirmClaim(asset)
        try await taker.record(AssetResult(asset: asset, status: .done))
        status = try await p.status(frozenPipeline)
        try p.require(status.counts == ["done": 1], "the taker's record: \(status.counts)")
    }

    /// A run that closes frees its unfinished claims at once: another host takes them without waiting for a lease.
    static func closeFreesClaims(_ p: Probe) async throws {
        let leaving = try await p.open(
            try await p.pipeline(host: "host-a") { $0.lease = .seconds(600) }, run: "leaving")
        let staying = try await p.open(
            try await p.pipeline(host: "host-b") { $0.lease = .seconds(600) }, run: "staying")
        _ = try await leaving.begin(p.asset("half.jpg"))
        _ = try p.skipped(try await staying.begin(p.asset("half.jpg")), "a claim of a running host")
        await p.close(leaving)
        let recovery = try p.processed(try await staying.begin(p.asset("half.jpg")), "a claim its run freed")
        try p.require(recovery?.wasInFlight == true, "the freed claim's recovery: \(String(describing: recovery))")
    }
}
