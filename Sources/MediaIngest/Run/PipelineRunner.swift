import Foundation
import Logging

/// Runs a ``Pipeline``: reads its sources, sends each asset through the stages with bounded concurrency,
/// and returns the ``RunReport``. The engine under ``RunSession``, which is the one public way to run a pipeline
/// (`package` access: this package's tests drive it directly).
///
/// ```
///  source ──▶ asset ──▶ [worker 0] stage 1 ─▶ stage 2 ─▶ … ─▶ done / rejected / failed
///                  ──▶ [worker 1] stage 1 ─▶ …
///                  ──▶ … up to `concurrency` workers
/// ```
///
/// - One asset's rejection or failure never stops the others.
/// - ``RunControl/requestStop(reason:)`` (SIGINT/SIGTERM) stops taking new assets; in-flight assets finish.
///   Cancelling the task running ``run(control:observer:)`` cancels in-flight assets too.
/// - A stage throwing a ``RunAbortingError`` stops the run the same way and marks it aborted.
package struct PipelineRunner: Sendable {
    /// The pipeline.
    package let pipeline: Pipeline
    /// The options.
    package let options: RunOptions

    /// The components that observe finished assets (``AssetObserver``), whatever else they are.
    let observing: [any AssetObserver]

    /// Creates a runner.
    package init(pipeline: Pipeline, options: RunOptions = RunOptions()) {
        self.pipeline = pipeline
        self.options = options
        observing = pipeline.components.compactMap { $0 as? any AssetObserver }
    }

    /// Runs the pipeline once.
    /// - Parameters:
    ///   - control: lets the caller stop the run.
    ///   - observer: sees assets start and finish.
    /// - Returns: the report. A run never throws: fatal trouble ends up in ``RunReport/aborted``.
    package func run(control: RunControl = RunControl(), observer: (any RunObserver)? = nil) async -> RunReport {
        let startDate = Date()
        let runID = options.runID ?? Self.makeRunID(at: startDate)
        var logger = options.logger
        logger[metadataKey: "run"] = "\(runID)"
        let parent = options.workDirectoryParent ?? FileManager.default.temporaryDirectory.path
        let folderName = "ingest-\(pipeline.name)-\(runID)"
        let workDirectory = PathResolution.resolve(folderName, against: parent)
        RunLeftovers.remove(pipeline: pipeline.name, in: (workDirectory as NSString).deletingLastPathComponent)
        let scratchDirectory = makeScratchDirectory(named: folderName, logger: logger)
        let context = PipelineContext(
            pipelineName: pipeline.name, runID: runID, startDate: startDate, logger: logger,
            workDirectory: workDirectory,
            baseDirectory: pipeline.baseDirectory, concurrency: pipeline.concurrency, isDryRun: options.isDryRun,
            control: control,
            scratchDirectory: scratchDirectory, ledger: options.isDryRun ? nil : options.ledger,
            services: options.isDryRun ? .none : options.services, dedupe: pipeline.state.dedupe,
            sources: pipeline.sources.map(\.value))

        var prepared: [any PipelineComponent] = []
        var madeWorkDirectory = false
        defer {
            if madeWorkDirectory { FileSystem.removeTree(workDirectory) }
            if let scratchDirectory { FileSystem.removeTree(scratchDirectory) }
        }

        do {
            try FileSystem.createPrivateDirectory(workDirectory)
            madeWorkDirectory = true
            for component in pipeline.components {
                try await component.prepare(context)
                prepared.append(component)
            }
        } catch {
            control.abort(reason: "cannot start: \(error)")
            logger.error("cannot start the run: \(error)")
        }

        var fed = Fed(listedEverything: false)
        if !control.isStopRequested {
            fed = await feed(context: context, observer: observer)
        }

        var info: [String: JSONValue] = [:]
        for (name, component) in zip(pipeline.componentNames, pipeline.components) {
            let facts = component.reportInfo
            if !facts.isEmpty { info[name] = .object(facts) }
        }
        let abortReason = control.abortReason
        var report = RunReport(
            pipeline: pipeline.name, runID: runID, startedAt: startDate, finishedAt: Date(), dryRun: options.isDryRun,
            results: fed.tally.kept, deferred: fed.deferred, interrupted: abortReason == nil ? control.stopReason : nil,
            aborted: abortReason,
            info: info)
        // The counts cover every asset; the records listed, the problems and the first `recordLimit` others.
        for status in AssetStatus.allCases { report.counts[status.rawValue] = fed.tally.counts[status] ?? 0 }
        report.bytesDone = fed.tally.bytesDone
        report.assetsOmitted = fed.tally.omitted
        report.notStarted = fed.notStarted
        report.problems = context.problems.all
        // A folder that could not be listed hides what is in it: the listing is not complete (and no in-flight row
        // under it may be taken for vanished).
        report.listedEverything = fed.listedEverything && !report.problems.contains { $0.kind == .unlistedFolder }
        report.summary = fed.tally.summary.sorted
        report.summary.retries = RunSummary.retries(in: info)
        for component in prepared {
            do {
                try await component.finish(report, context: context)
            } catch {
                logger.error("finishing \(type(of: component)) failed: \(error)")
            }
        }
        await context.resources.closeAll()
        return report
    }

    /// The run's private scratch folder (mode 0700, a fresh name: never one someone else made), after removing what
    /// killed runs of this pipeline left there; `nil` without scratch space.
    private func makeScratchDirectory(named name: String, logger: Logger) -> String? {
        let parent: String?
        switch options.scratch {
        case .automatic: parent = ScratchSpace.automaticParent()
        case .none: parent = nil
        case .parent(let path): parent = path
        }
        guard let parent else { return nil }
        RunLeftovers.remove(pipeline: pipeline.name, in: parent)
        let path = parent + "/" + name
        guard mkdir(path, 0o700) == 0 else {
            logger.debug(
                "no scratch folder; work files go to disk", metadata: ["path": "\(path)", "errno": "\(errno)"])
            return nil
        }
        return path
    }

    /// One asset on its way from the source to a worker — or the members of a group (a Live Photo), which one worker
    /// takes through the stages together.
    private struct Work: Sendable {
        var assets: [Asset]
    }

    /// Reads the sources into a bounded queue that `concurrency` long-lived workers drain, each with its own worker
    /// index. A task per asset cost two thread wake-ups per file (~16 µs, more than a small stage's own work).
    /// What feeding the workers came to.
    struct Fed {
        var tally = RunTally.State()
        var deferred = 0
        /// Assets the sources listed that never entered the pipeline (the run stopped first).
        var notStarted = 0
        /// `false` when the run stopped before the sources were listed to the end.
        var listedEverything = true
    }

    private func feed(context: PipelineContext, observer: (any RunObserver)?) async -> Fed {
        let control = context.control
        let width = pipeline.concurrency
        // Room for every worker to find work while the producer sleeps; the producer wakes at half.
        let queue = WorkQueue<Work>(capacity: max(64, 4 * width))
        let tally = RunTally(limit: options.recordLimit)
        return await withTaskGroup(of: Void.self) { group in
            for worker in 0..<width {
                group.addTask {
                    while let work = await queue.pop() {
                        if control.isStopRequested || Task.isCancelled {
                            // Queued assets never started: they stay for a later run.
                            queue.close()
                            break
                        }
                        let results: [AssetResult]
                        if work.assets.count == 1 {
                            results = [
                                await process(work.assets[0], worker: worker, context: context, observer: observer)
                            ]
                        } else {
                            results = await processGroup(
                                work.assets, worker: worker, context: context, observer: observer)
                        }
                        for result in results {
                            await finishAsset(result, context: context, observer: observer)
                            tally.add(result.record)
                        }
                    }
                }
            }

            var deferred = 0
            var nextID = 1
            sources: for (sourceIndex, source) in pipeline.sources.enumerated() {
                // The first source's rows are keyed by relative path (as they always were); later ones by name too.
                let keyPrefix = sourceIndex == 0 ? nil : pipeline.ledgerKeyPrefix(forSourceAt: sourceIndex)
                do {
                    for try await event in source.value.items(context: context) {
                        if control.isStopRequested { break sources }
                        switch event {
                        case .estimate(let count, let bytes):
                            observer?.sourceEstimated(count: count, bytes: bytes)
                        case .deferred(let path, let reason):
                            deferred += 1
                            context.logger.debug(
                                "left for a later run", metadata: ["asset": "\(path)", "reason": "\(reason)"])
                        case .rejected(let item, let rejection):
                            let asset = makeAsset(item, id: nextID, source: sourceIndex, keyPrefix: keyPrefix)
                            nextID += 1
                            let result = await finishUnread(
                                asset, .rejected(rejection), source: source, context: context, observer: observer)
                            tally.add(result.record)
                        case .failed(let item, let error):
                            let asset = makeAsset(item, id: nextID, source: sourceIndex, keyPrefix: keyPrefix)
                            nextID += 1
                            let outcome = ErrorPolicy.outcome(of: error, stage: source.kind)
                            let result = await finishUnread(
                                asset, outcome, source: source, context: context, observer: observer)
                            tally.add(result.record)
                        case .item(let item):
                            let asset = makeAsset(item, id: nextID, source: sourceIndex, keyPrefix: keyPrefix)
                            nextID += 1
                            guard await queue.push(Work(assets: [asset])) else { break sources }
                        case .group(let items):
                            guard !items.isEmpty else { continue }
                            let assets = items.enumerated().map { offset, item in
                                makeAsset(item, id: nextID + offset, source: sourceIndex, keyPrefix: keyPrefix)
                            }
                            nextID += items.count
                            guard await queue.push(Work(assets: assets)) else { break sources }
                        }
                    }
                } catch is CancellationError {
                    break sources
                } catch {
                    control.abort(reason: "source \"\(source.name)\" failed: \(error)")
                    context.logger.error("source \"\(source.name)\" failed: \(error)")
                    break sources
                }
            }
            let stopped = control.isStopRequested || Task.isCancelled
            if stopped {
                queue.close()
            } else {
                queue.finish()
            }
            await group.waitForAll()
            return Fed(
                tally: tally.snapshot(), deferred: deferred, notStarted: nextID - 1 - tally.total,
                listedEverything: !stopped && pipeline.sources.allSatisfy(\.value.listsEverything))
        }
    }

    private func makeAsset(_ item: SourceItem, id: Int, source: Int, keyPrefix: String?) -> Asset {
        var asset = Asset(
            id: id, origin: item.origin, fileName: item.fileName, contentPath: item.origin.path, size: item.size,
            modificationDate: item.modificationDate, facts: item.facts, sidecars: item.sidecars, group: item.group)
        asset.sourceIndex = source
        asset.values = item.values
        switch item.origin {
        case .file, .remote: if let keyPrefix { asset.ledgerKey = keyPrefix + asset.ledgerKey }
        case .url: break
        }
        return asset
    }

    /// A run id: the UTC start time and 16 random bits.
    package static func makeRunID(at date: Date) -> String {
        let stamp = ISO8601.string(from: date).replacingOccurrences(of: "-", with: "").replacingOccurrences(
            of: ":", with: "")
        let compact = stamp.split(separator: ".").first.map(String.init) ?? stamp
        let suffix = String(UInt16.random(in: 0...UInt16.max), radix: 16)
        return compact + "Z-" + String(repeating: "0", count: 4 - suffix.count) + suffix
    }
}
