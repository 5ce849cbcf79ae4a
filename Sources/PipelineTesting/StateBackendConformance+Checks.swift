import Foundation
import MediaIngest

extension StateBackendConformance {
    static let checks: [Check] = [
        Check(name: "rerunRules", requires: [], body: rerunRules),
        Check(name: "attemptsAndRetry", requires: [], body: attemptsAndRetry),
        Check(name: "checkpointRecovery", requires: [], body: checkpointRecovery),
        Check(name: "archivedCheckpointIsDone", requires: [], body: archivedCheckpointIsDone),
        Check(name: "interruptedStaysInFlight", requires: [], body: interruptedStaysInFlight),
        Check(name: "recordingRules", requires: [], body: recordingRules),
        Check(name: "runRecord", requires: [], body: runRecord),
        Check(name: "reconcileVanished", requires: [], body: reconcileVanished),
        Check(name: "concurrentWriters", requires: [], body: concurrentWriters),
        Check(name: "dedupeByContent", requires: [], body: dedupeByContent),
        Check(name: "migrations", requires: [], body: migrations),
        Check(name: "claimExclusivity", requires: .sharedClaims, body: claimExclusivity),
        Check(name: "leaseExpiryAndTakeover", requires: .sharedClaims, body: leaseExpiryAndTakeover),
        Check(name: "closeFreesClaims", requires: .sharedClaims, body: closeFreesClaims),
    ]

    /// Done and rejected rows are skipped while the file is unchanged; a changed file starts over; a failed one is
    /// retried with its attempt count.
    static func rerunRules(_ p: Probe) async throws {
        let pipeline = try await p.pipeline()
        let first = try await p.open(pipeline, run: "run-1")
        for key in ["done.jpg", "rejected.jpg", "failed.jpg"] {
            try p.require(
                try p.processed(try await first.begin(p.asset(key)), key) == nil, "\(key): a new row has no recovery")
        }
        try await first.record(AssetResult(asset: p.asset("done.jpg"), status: .done))
        try await first.record(
            AssetResult(asset: p.asset("rejected.jpg"), status: .rejected, rejection: Rejection(.tooLarge, "too big")))
        try await first.record(
            AssetResult(
                asset: p.asset("failed.jpg"), status: .failed, failure: AssetFailure(code: "network", message: "down")))
        await p.close(first)

        let second = try await p.open(pipeline, run: "run-2")
        let done = try p.skipped(try await second.begin(p.asset("done.jpg")), "an unchanged done file")
        try p.require(done == "done in run run-1", "done.jpg's skip reason: \(done)")
        let rejected = try p.skipped(try await second.begin(p.asset("rejected.jpg")), "an unchanged rejected file")
        try p.require(rejected == "rejected in run run-1: too big", "rejected.jpg's skip reason: \(rejected)")
        let retry = try p.processed(try await second.begin(p.asset("failed.jpg")), "a failed file under maxAttempts")
        try p.require(
            retry?.attempt == 2 && retry?.wasInFlight == false, "failed.jpg's recovery: \(String(describing: retry))")
        let changed = p.asset("done.jpg", size: 11)
        try p.require(
            try p.processed(try await second.begin(changed), "a changed done file") == nil, "a changed file starts over"
        )
        let touched = p.asset("rejected.jpg", modified: Date(timeIntervalSince1970: 1_800_000_000))
        try p.require(
            try p.processed(try await second.begin(touched), "a touched rejected file") == nil,
            "a touched file starts over")
    }

    /// A file failing `maxAttempts` runs is left alone; `retry` re-queues it (rejected ones only when asked).
    static func attemptsAndRetry(_ p: Probe) async throws {
        let pipeline = try await p.pipeline { $0.maxAttempts = 2 }
        let failure = AssetFailure(code: "network", message: "down")
        for run in 1...2 {
            let store = try await p.open(pipeline, run: "run-\(run)")
            _ = try p.processed(try await store.begin(p.asset("flaky.jpg")), "attempt \(run)")
            try await store.record(AssetResult(asset: p.asset("flaky.jpg"), status: .failed, failure: failure))
            if run == 1 {
                _ = try await store.begin(p.asset("big.jpg"))
                try await store.record(
                    AssetResult(asset: p.asset("big.jpg"), status: .rejected, rejection: Rejection(.tooLarge, "big")))
            }
            await p.close(store)
        }
        let third = try await p.open(pipeline, run: "run-3")
        let reason = try p.skipped(try await third.begin(p.asset("flaky.jpg")), "a file that failed maxAttempts runs")
        try p.require(reason.contains("failed 2 times") && reason.contains("down"), "skip reason: \(reason)")
        await p.close(third)
        let status = try await p.status(pipeline)
        try p.require(status.failures.map(\.identity) == ["flaky.jpg"], "failures: \(status.failures)")
        try p.require(
            status.failures.first?.attempts == 2 && status.failures.first?.code == "network", "\(status.failures)")

        guard let inspector = try await p.backend.inspector(for: pipeline) else {
            throw Violation(message: "no inspector after three runs")
        }
        let requeued = try await inspector.requeue(includeRejected: false)
        let withRejected = try await inspector.requeue(includeRejected: true)
        await inspector.close()
        try p.require(requeued == 1, "retry re-queued \(requeued) rows, expected the failed one")
        try p.require(withRejected == 2, "retry --rejected re-queued \(withRejected) rows, expected 2")
        let fourth = try await p.open(pipeline, run: "run-4")
        _ = try p.processed(try await fourth.begin(p.asset("flaky.jpg")), "a re-queued file")
        _ = try p.processed(try await fourth.begin(p.asset("big.jpg")), "a re-queued rejected file")
    }

    /// What a run checkpoints before it dies comes back to the next run as recovery facts.
    static func checkpointRecovery(_ p: Probe) async throws {
        let pipeline = try await p.pipeline()
        let crashed = try await p.open(pipeline, run: "crashed")
        var asset = p.asset("photo.jpg")
        _ = try await crashed.begin(asset)
        // Two values, checkpointed one after the other: the row keeps both (merged key by key), and one a stage
        // clears later stays kept, as a column written with COALESCE would.
        let started = Date(timeIntervalSince1970: 1_750_000_000.25)
        let probe = ConformanceProbe.Value(
            startedAt: started, name: "photo \u{1F4F7} caf\u{10FFE9}.jpg", size: 10, folder: nil, parts: [1, 2])
        asset.values[ConformanceProbe.self] = probe
        asset.values[ConformanceScratch.self] = "not for the ledger"
        try await crashed.checkpoint(asset)
        asset.values[ConformanceProbe.self] = nil
        asset.values[ConformanceCounter.self] = 3
        try await crashed.checkpoint(asset)
        // A value checkpointed again replaces the kept one whole: a field that went back to nil is gone.
        var folded = probe
        folded.folder = "/media/2026"
        asset.values[ConformanceProbe.self] = folded
        try await crashed.checkpoint(asset)
        folded.folder = nil
        folded.parts = [3]
        asset.values[ConformanceProbe.self] = folded
        try await crashed.checkpoint(asset)
        asset.target = TargetRecord(
            target: "wix", id: "file-1", url: "https://t/1", status: "PENDING", confirmed: false)
        try await crashed.checkpoint(asset)
        // No record: the run ends before the asset settles (killed, then its lock and claims released).
        await p.close(crashed)

        let next = try await p.open(pipeline, run: "next")
        guard let recovery = try p.processed(try await next.begin(asset), "a row a killed run left in flight") else {
            throw Violation(message: "a killed run's row came back without recovery facts")
        }
        try p.require(recovery.wasInFlight, "recovery.wasInFlight is false")
        try p.require(recovery.attempt == 2, "recovery.attempt is \(recovery.attempt), expected 2")
        try p.require(
            recovery.previousTargetID == "file-1", "previousTargetID: \(String(describing: recovery.previousTargetID))")
        let kept = recovery.values[ConformanceProbe.self]
        try p.require(kept == folded, "the checkpointed value came back as \(String(describing: kept)), not \(folded)")
        try p.require(
            recovery.values[ConformanceCounter.self] == 3, "the second checkpoint's value: \(recovery.values)")
        try p.require(recovery.values[ConformanceScratch.self] == nil, "a value that is not checkpointed was kept")
        let recorded = try await next.recordedTargetID(forKey: "photo.jpg")
        try p.require(recorded == "file-1", "recordedTargetID: \(String(describing: recorded))")

        asset.target = TargetRecord(
            target: "wix", id: "file-1", url: "https://t/1", status: "READY", confirmed: true, sentSHA256: "ab12")
        try await next.record(AssetResult(asset: asset, status: .done))
        let uploads = try await next.uploads(ofContent: "ab12", target: "wix")
        try p.require(uploads == ["file-1"], "uploads(ofContent:) found \(uploads)")
        try p.require(try await next.uploads(ofContent: "ab12", target: "library").isEmpty, "another target's uploads")
    }

    /// A source archived after a confirmed upload is done even if the run dies before recording it.
    static func archivedCheckpointIsDone(_ p: Probe) async throws {
        let pipeline = try await p.pipeline()
        let crashed = try await p.open(pipeline, run: "crashed")
        var asset = p.asset("moved.jpg")
        _ = try await crashed.begin(asset)
        asset.target = TargetRecord(target: "wix", id: "file-2", url: nil, status: "READY", confirmed: true)
        asset.sourceArchived = true
        try await crashed.checkpoint(asset)
        await p.close(crashed)
        let next = try await p.open(pipeline, run: "next")
        _ = try p.skipped(try await next.begin(asset), "an archived, confirmed asset whose run died")
    }

    /// Work cancelled by a second stop request is no verdict: the row stays in flight for the next run.
    static func interruptedStaysInFlight(_ p: Probe) async throws {
        let pipeline = try await p.pipeline()
        let store = try await p.open(pipeline, run: "stopped")
        _ = try await store.begin(p.asset("cut.jpg"))
        try await store.record(
            AssetResult(
                asset: p.asset("cut.jpg"), status: .failed,
                failure: AssetFailure(code: "interrupted", message: "interrupted")))
        await p.close(store)
        let status = try await p.status(pipeline)
        try p.require(status.counts == ["in_flight": 1], "after an interrupted asset: \(status.counts)")
        let next = try await p.open(pipeline, run: "next")
        let recovery = try p.processed(try await next.begin(p.asset("cut.jpg")), "an interrupted asset")
        try p.require(
            recovery?.wasInFlight == true, "an interrupted asset comes back in flight: \(String(describing: recovery))")
    }

    /// The run record: start, end, exit code, the kept report, the latest first.
    static func runRecord(_ p: Probe) async throws {
        let pipeline = try await p.pipeline()
        for (index, run) in ["older", "latest"].enumerated() {
            let store = try await p.open(pipeline, run: run)
            var report = RunReport(
                pipeline: pipeline.name, runID: run, startedAt: Date(), finishedAt: Date(), dryRun: false, results: [],
                deferred: 0, interrupted: nil, aborted: nil, info: [:])
            report.problems = [RunProblem(.unlistedFolder, path: "/in/\(run)", reason: "Permission denied")]
            try await store.runReported(report)
            try await store.runFinished(exitCode: Int32(index), counts: ["done": index], note: nil)
            await p.close(store)
            try await Task.sleep(for: .milliseconds(20))
        }
        guard let inspector = try await p.backend.inspector(for: pipeline) else {
            throw Violation(message: "no inspector")
        }
        defer { Task { await inspector.close() } }
        let latest = try await inspector.run(id: nil)
        try p.require(
            latest?.id == "latest" && latest?.exitCode == 1 && latest?.finishedAt != nil,
            "latest run: \(String(describing: latest))")
        try p.require(
            latest?.report?.problems.first?.path == "/in/latest",
            "the kept report: \(String(describing: latest?.report))")
        let older = try await inspector.run(id: "older")
        try p.require(
            older?.exitCode == 0 && older?.report?.runID == "older", "run older: \(String(describing: older))")
        try p.require(try await inspector.run(id: "never") == nil, "a run that never was is nil")
        let status = try await inspector.status()
        try p.require(status.lastRun?.id == "latest", "status.lastRun: \(String(describing: status.lastRun?.id))")
        try p.require(
            status.lastRunProblems.map(\.path) == ["/in/latest"], "lastRunProblems: \(status.lastRunProblems)")
    }

    /// What a result leaves (``RerunRule/status(for:)``): a duplicate found at the target is done; a failure whose file
    /// is gone is `vanished` — or `done` when its upload was confirmed (archived, then a later step failed); a vanished
    /// row is processed like a new file when the file comes back.
    static func recordingRules(_ p: Probe) async throws {
        let pipeline = try await p.pipeline()
        let store = try await p.open(pipeline, run: "run-1")
        var duplicate = p.asset("twin.jpg")
        _ = try await store.begin(duplicate)
        duplicate.duplicateOf = "file-7"
        try await store.record(AssetResult(asset: duplicate, status: .skipped))
        let failure = AssetFailure(code: "network", message: "down")
        var archived = p.asset("archived.jpg")
        let gone = p.asset("gone.jpg")
        for asset in [archived, gone] { _ = try await store.begin(asset) }
        try FileManager.default.removeItem(atPath: p.folder + "/archived.jpg")
        try FileManager.default.removeItem(atPath: p.folder + "/gone.jpg")
        archived.target = TargetRecord(target: "wix", id: "file-8", url: nil, status: "READY", confirmed: true)
        try await store.record(AssetResult(asset: archived, status: .failed, failure: failure))
        try await store.record(AssetResult(asset: gone, status: .failed, failure: failure))
        await p.close(store)
        let status = try await p.status(pipeline)
        try p.require(
            status.counts == ["done": 2, "vanished": 1],
            "after a duplicate and two failures whose files went: \(status.counts)")
        let next = try await p.open(pipeline, run: "run-2")
        _ = try p.skipped(try await next.begin(p.asset("twin.jpg")), "a duplicate found at the target")
        _ = try p.processed(try await next.begin(p.asset("gone.jpg")), "a vanished file that came back")
    }
}

/// A checkpointed value of the conformance checks: a date with a fraction of a second, a name that is not plain
/// ASCII (an emoji and an escaped name byte), a missing optional, an array.
enum ConformanceProbe: AssetValueKey {
    struct Value: Codable, Sendable, Hashable {
        var startedAt: Date
        var name: String
        var size: Int64
        var folder: String?
        var parts: [Int]
    }
    static let name = "conformance.probe"
    static let isCheckpointed = true
}

/// A second checkpointed value, written by a later checkpoint.
enum ConformanceCounter: AssetValueKey {
    typealias Value = Int
    static let name = "conformance.counter"
    static let isCheckpointed = true
}

/// A value that is not checkpointed: the ledger must not keep it.
enum ConformanceScratch: AssetValueKey {
    typealias Value = String
    static let name = "conformance.scratch"
}
