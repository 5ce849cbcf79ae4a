import Foundation
import Logging
import Synchronization

/// One asset's way through the stages: the ledger's say first (``begin(_:context:)``), then each stage by the stage
/// contract (``step(_:_:worker:context:workFolders:)``), then its result recorded and announced
/// (``finishAsset(_:context:observer:)``). Groups (a Live Photo's halves) take the same steps side by side, in
/// `PipelineRunner+Group.swift`.
extension PipelineRunner {
    /// Sends one asset through the stages.
    func process(
        _ start: Asset, worker: Int, context: PipelineContext, observer: (any RunObserver)?
    ) async -> AssetResult {
        let began = ContinuousClock.now
        var asset = start
        // Most assets never get a work folder (only stages that write files make one, through the stage context,
        // which notes it): no file system call at all for those.
        let workFolders = WorkFolders()
        defer { removeWorkFolders(of: asset, workFolders, context: context) }

        switch await begin(asset, context: context) {
        case .finished(let result):
            return result.took(since: began)
        case .next(let started, _):
            asset = started
        }
        observer?.assetStarted(asset)

        let result = await stagesWatchingClaim(asset, worker: worker, context: context, workFolders: workFolders)
        asset = result.asset
        return result.took(since: began)
    }

    /// The stages, one after the other, until the asset leaves the pipeline.
    func stages(_ start: Asset, worker: Int, context: PipelineContext, workFolders: WorkFolders) async -> AssetResult {
        var asset = start
        var lastStage: String?
        switch await fetch(asset, worker: worker, context: context, workFolders: workFolders) {
        case .next(let fetched, _): asset = fetched
        case .finished(let result): return result
        }
        for stage in pipeline.stages {
            switch await step(stage, asset, worker: worker, context: context, workFolders: workFolders) {
            case .next(let next, let ran):
                asset = next
                if ran { lastStage = stage.name }
            case .finished(let result):
                return result
            }
        }
        return Self.leaving(asset, stage: lastStage, logger: context.logger)
    }

    /// ``stages(_:worker:context:workFolders:)`` under a watch on the asset's claim, when the ledger is shared: if
    /// another host takes the asset over meanwhile (this process was frozen past its lease), the stages are cancelled
    /// at once — mid-upload — and the asset fails `claim_lost` (the other host records it).
    func stagesWatchingClaim(
        _ asset: Asset, worker: Int, context: PipelineContext, workFolders: WorkFolders
    ) async -> AssetResult {
        let loss = ClaimLoss()
        guard let ledger = options.ledger, !context.isDryRun,
            let watch = ledger.watchClaim(asset.ledgerKey, onLost: { loss.lose($0) })
        else {
            return await stages(asset, worker: worker, context: context, workFolders: workFolders)
        }
        defer { watch.end() }
        let work = Task { await stages(asset, worker: worker, context: context, workFolders: workFolders) }
        loss.attach(work)
        var result = await withTaskCancellationHandler {
            await work.value
        } onCancel: {
            work.cancel()
        }
        if let lost = loss.value {
            result.status = .failed
            result.rejection = nil
            result.failure = AssetFailure(code: lost.failureCode, message: lost.failureMessage, stage: result.stage)
        }
        return result
    }

    /// Where an asset is after a step: still going (and whether the stage ran), or out of the pipeline.
    enum Step {
        case next(Asset, ran: Bool)
        case finished(AssetResult)
    }

    /// Asks the ledger whether `asset` needs processing: the asset with its recovery facts, or its result (skipped, or
    /// failed when the ledger cannot be read).
    func begin(_ asset: Asset, context: PipelineContext) async -> Step {
        guard let ledger = options.ledger else { return .next(asset, ran: false) }
        var asset = asset
        do {
            switch try await ledger.begin(asset) {
            case .skip(let reason):
                return .finished(AssetResult(asset: asset, status: .skipped, note: reason))
            case .process(let recovery):
                asset.recovery = recovery
                return .next(asset, ran: false)
            }
        } catch {
            return .finished(
                AssetResult(
                    asset: asset, status: .failed, stage: "ledger",
                    failure: AssetFailure(code: "ledger", message: "ledger: \(error)", stage: "ledger"))
            )
        }
    }

    /// Runs one stage on one asset (or passes it by, when its `when` does not match), by the contract's rules: a
    /// rejection stops the asset, a thrown error goes through ``ErrorPolicy``, a dry run stops before side effects.
    func step(
        _ stage: Pipeline.Component<any Stage>, _ asset: Asset, worker: Int, context: PipelineContext,
        workFolders: WorkFolders
    ) async -> Step {
        if let condition = stage.condition, !condition.accepts(asset) { return .next(asset, ran: false) }
        if context.isDryRun && stage.hasSideEffects {
            return .finished(
                AssetResult(asset: asset, status: .planned, stage: stage.name, note: "would go on to \(stage.name)"))
        }
        if Task.isCancelled {
            return .finished(
                AssetResult(
                    asset: asset, status: .failed, stage: stage.name,
                    failure: AssetFailure(
                        code: "interrupted", message: "interrupted before \(stage.name)", stage: stage.kind)))
        }
        var stageLogger = context.logger
        stageLogger[metadataKey: "asset"] = "\(asset.displayPath)"
        stageLogger[metadataKey: "stage"] = "\(stage.name)"
        let stageContext = StageContext(
            pipeline: context, logger: stageLogger, worker: worker, stageName: stage.name,
            assetWorkDirectory: context.workDirectory + "/\(asset.id)",
            ledger: options.ledger, workFolders: workFolders)
        do {
            switch try await stage.value.process(asset, context: stageContext) {
            case .next(let next):
                return .next(next, ran: true)
            case .reject(let rejected, var rejection):
                rejection.stage = rejection.stage ?? stage.kind
                stageLogger.info("rejected", metadata: ["code": "\(rejection.code)", "reason": "\(rejection.reason)"])
                return .finished(
                    AssetResult(asset: rejected, status: .rejected, stage: stage.name, rejection: rejection))
            }
        } catch {
            return .finished(
                Self.result(
                    of: error, asset: asset, stage: (stage.name, stage.kind), logger: stageLogger,
                    control: context.control))
        }
    }

    /// What an error thrown by a component (a stage, or a source fetching) makes of the asset, by ``ErrorPolicy``.
    static func result(
        of error: any Error, asset: Asset, stage: (name: String, kind: String), logger: Logger, control: RunControl
    ) -> AssetResult {
        switch ErrorPolicy.outcome(of: error, stage: stage.kind) {
        case .rejected(let rejection):
            logger.info("rejected", metadata: ["code": "\(rejection.code)", "reason": "\(rejection.reason)"])
            return AssetResult(asset: asset, status: .rejected, stage: stage.name, rejection: rejection)
        case .failed(let failure, let abortReason):
            if let abortReason { control.abort(reason: abortReason) }
            logger.warning("failed", metadata: ["code": "\(failure.code)", "reason": "\(failure.message)"])
            return AssetResult(asset: asset, status: .failed, stage: stage.name, failure: failure)
        }
    }

    /// The result of an asset that passed every stage: done — or skipped, when an upload stage found its bytes at
    /// the target already (``Asset/duplicateOf``).
    static func leaving(_ asset: Asset, stage: String?, logger: Logger) -> AssetResult {
        if let existing = asset.duplicateOf {
            logger.debug("duplicate at the target", metadata: ["asset": "\(asset.displayPath)", "of": "\(existing)"])
            return AssetResult(
                asset: asset, status: .skipped, stage: stage,
                note: "already at the target as \(existing) (state.dedupe: target)")
        }
        logger.debug("done", metadata: ["asset": "\(asset.displayPath)"])
        return AssetResult(asset: asset, status: .done, stage: stage)
    }

    /// Removes the work folders the stages made for `asset`.
    func removeWorkFolders(of asset: Asset, _ workFolders: WorkFolders, context: PipelineContext) {
        if workFolders.contains(.disk) { FileSystem.removeTree(context.workDirectory + "/\(asset.id)") }
        if workFolders.contains(.scratch), let scratch = context.scratchDirectory {
            FileSystem.removeTree(scratch + "/\(asset.id)")
        }
    }

    /// An entry its source rejected or could not look at (a link leaving the root, a FIFO, a failed `stat`): it has
    /// no content, so no stage or report reads through it. The ledger remembers the outcome like any other: an
    /// unchanged rejected entry is skipped quietly next time, a failed one is tried again.
    func finishUnread(
        _ asset: Asset, _ outcome: ErrorPolicy.Outcome, source: Pipeline.Component<any AssetSource>,
        context: PipelineContext, observer: (any RunObserver)?
    ) async -> AssetResult {
        var asset = asset
        asset.contentPath = nil
        if let ledger = options.ledger, !context.isDryRun, case .skip(let reason)? = try? await ledger.begin(asset) {
            let result = AssetResult(asset: asset, status: .skipped, stage: source.name, note: reason)
            await finishAsset(result, context: context, observer: observer)
            return result
        }
        let result: AssetResult
        switch outcome {
        case .rejected(var rejection):
            rejection.stage = rejection.stage ?? source.kind
            result = AssetResult(asset: asset, status: .rejected, stage: source.name, rejection: rejection)
        case .failed(let failure, _):
            // No run abort from a source's entry: the next entry may well be readable.
            result = AssetResult(asset: asset, status: .failed, stage: source.name, failure: failure)
        }
        await finishAsset(result, context: context, observer: observer)
        return result
    }

    /// Records a result in the ledger and tells every component and the observer.
    func finishAsset(_ result: AssetResult, context: PipelineContext, observer: (any RunObserver)?) async {
        var result = result
        if let ledger = options.ledger, !context.isDryRun, result.wasProcessed, result.status != .planned {
            do {
                // Never cancellable: an outcome reached is written down even when the work was cancelled around it
                // (a second Ctrl-C), or the next run would redo — or worse, lose — what this one learned. An
                // unstructured task does not inherit the cancellation.
                let recording = result
                try await Task { try await ledger.record(recording) }.value
            } catch {
                context.logger.error("cannot record \(result.asset.displayPath) in the ledger: \(error)")
                if result.status == .done {
                    result.status = .failed
                    result.failure = AssetFailure(
                        code: "ledger", message: "done but not recorded in the ledger: \(error)", stage: "ledger")
                }
            }
        }
        if result.wasProcessed {
            // Only components that say they observe (an ``AssetObserver``, whatever else they are) hear of it.
            for observer in observing { await observer.assetDidFinish(result, context: context) }
        }
        observer?.assetFinished(result)
    }
}

/// The loss of an asset's claim, and the task to cancel when it happens (before or after the task is attached).
final class ClaimLoss: Sendable {
    private struct State {
        var lost: LedgerClaimLost?
        var task: Task<AssetResult, Never>?
    }

    private let state = Mutex(State())

    var value: LedgerClaimLost? { state.withLock { $0.lost } }

    func attach(_ task: Task<AssetResult, Never>) {
        let cancelNow = state.withLock { state -> Bool in
            state.task = task
            return state.lost != nil
        }
        if cancelNow { task.cancel() }
    }

    func lose(_ loss: LedgerClaimLost) {
        let task = state.withLock { state -> Task<AssetResult, Never>? in
            if state.lost == nil { state.lost = loss }
            return state.task
        }
        task?.cancel()
    }
}
