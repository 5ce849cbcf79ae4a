import MediaIngest
import ServiceLifecycle

/// A ``WatchService`` as a ServiceLifecycle `Service`, to run in a `ServiceGroup` beside other services (the metrics
/// endpoint, a reload listener).
///
/// The group's graceful shutdown stops taking files and lets the batch in flight finish (the run ends its files, as
/// a first stop request does in `ingest run`); cancelling the group cancels that batch. The service returns once the
/// watcher has stopped, and throws ``WatchService/StartError`` when it cannot start — give it
/// `.gracefullyShutdownGroup` as its termination behaviour so the other services end with it.
public struct WatcherService: Service {
    public let watch: WatchService
    public let pipeline: Pipeline
    public let control: WatchControl
    private let startAfter: @Sendable () async -> Bool
    private let onBatch: @Sendable (WatchService.Batch) -> Void

    /// - Parameters:
    ///   - startAfter: awaited before the first walk (another service's readiness, such as a listening port);
    ///     `false` ends the service without watching (that service failed, and the group ends on its error).
    ///   - onBatch: called after every batch (print a summary, update metrics).
    public init(
        _ watch: WatchService, pipeline: Pipeline, control: WatchControl = WatchControl(),
        startAfter: @escaping @Sendable () async -> Bool = { true },
        onBatch: @escaping @Sendable (WatchService.Batch) -> Void
    ) {
        self.watch = watch
        self.pipeline = pipeline
        self.control = control
        self.startAfter = startAfter
        self.onBatch = onBatch
    }

    public func run() async throws {
        // A shutdown while still waiting to start ends the wait (cancelled, it answers `false`): nothing was taken.
        guard await cancelWhenGracefulShutdown(startAfter), !Task.isCancelled, !Task.isShuttingDownGracefully
        else { return }
        try await withGracefulShutdownHandler {
            try await watch.run(pipeline, control: control, onBatch: onBatch)
        } onGracefulShutdown: {
            control.stop(reason: "shutting down")
        }
    }
}
