import Foundation
import MediaIngest

/// `source.queue`: the items `ingest enqueue NAME …` added to the pipeline's queue in its PostgreSQL ledger — paths
/// or URLs, in the order they were queued — for whichever host's run claims them.
///
/// A run takes every item no run has settled (done or rejected), in batches; the ledger's claims keep two hosts from
/// taking the same item. With `idle` the run keeps asking for new items until the queue has stayed empty that long, so
/// workers started before (or while) a producer enqueues take what it adds. Local paths are absolute (`ingest
/// enqueue` resolves them against its working folder); `http(s)` URLs are imported like `source.list`'s.
public struct QueueSource: AssetSource, StageDefinition {
    public static let kind = "source.queue"
    public static let sourceFile: String? = #filePath
    public static let phase = StagePhase.source
    public static let summary = "Items `ingest enqueue` added to the pipeline's queue (needs a PostgreSQL ledger)."

    static let idle = StageOption<DurationValue>(
        "idle", default: DurationValue(seconds: 0),
        doc: "Keep polling an empty queue this long for new items before the listing ends (0: end when drained).")
    static let poll = StageOption<DurationValue>(
        "pollEvery", default: DurationValue(seconds: 0.5), doc: "How often an empty queue is asked again under `idle`.")
    static let batch = StageOption<Int>("batch", default: 200, doc: "Items fetched per query.")
    static let allowURLs = StageOption<Bool>(
        "allowURLs", default: true, doc: "Accept http(s) URLs (imported by URL); when false they are rejected.")
    public static let options = [idle.spec, poll.spec, batch.spec, allowURLs.spec]

    let idleTime: Duration
    let pollInterval: Duration
    let batchSize: Int
    let acceptsURLs: Bool

    public init(options: OptionValues, context: StageBuildContext) throws {
        idleTime = try options[Self.idle].duration
        pollInterval = max(.milliseconds(10), try options[Self.poll].duration)
        batchSize = try options[Self.batch]
        guard (1...10_000).contains(batchSize) else {
            throw options.error(Self.batch, "expected 1 to 10000, got \(batchSize)")
        }
        acceptsURLs = try options[Self.allowURLs]
    }

    public func items(context: PipelineContext) -> AsyncThrowingStream<SourceEvent, any Error> {
        let (idleTime, pollInterval, batchSize, acceptsURLs) = (idleTime, pollInterval, batchSize, acceptsURLs)
        return AsyncThrowingStream { continuation in
            let task = Task {
                guard let queue = context.services.workQueue else {
                    continuation.finish(
                        throwing: SourceError.unreadableQueue(
                            context.pipelineName,
                            context.isDryRun
                                ? "a dry run does not read the queue"
                                : "source.queue needs a shared ledger: set state.ledger to a postgresql:// URL"))
                    return
                }
                var cursor: Int64 = 0
                var emptySince: ContinuousClock.Instant?
                do {
                    while !Task.isCancelled, !context.control.isStopRequested {
                        let batch = try await queue.pendingItems(after: cursor, limit: batchSize)
                        for (sequence, item) in batch {
                            cursor = max(cursor, sequence)
                            continuation.yield(Self.event(for: item, acceptsURLs: acceptsURLs))
                        }
                        if batch.count == batchSize { continue }
                        let now = ContinuousClock.now
                        if !batch.isEmpty { emptySince = now }
                        let since = emptySince ?? now
                        emptySince = since
                        guard now - since < idleTime else { break }
                        try await Task.sleep(for: pollInterval)
                    }
                    continuation.finish()
                } catch is CancellationError {
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: SourceError.unreadableQueue(context.pipelineName, "\(error)"))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// A queued item's event: its ledger key is the item as queued (the absolute path, or the URL).
    static func event(for item: String, acceptsURLs: Bool) -> SourceEvent {
        guard item.hasPrefix("/") else {
            return ListSource.event(for: item, relativeBase: "/", acceptsURLs: acceptsURLs)
        }
        switch ListSource.event(for: item, relativeBase: "/", acceptsURLs: acceptsURLs) {
        case .item(var found):
            found.origin = .file(path: item, root: "/", relativePath: item)
            return .item(found)
        case .rejected(var found, let rejection):
            found.origin = .file(path: item, root: "/", relativePath: item)
            return .rejected(found, rejection)
        case .failed(var found, let error):
            found.origin = .file(path: item, root: "/", relativePath: item)
            return .failed(found, error)
        case let other:
            return other
        }
    }
}
