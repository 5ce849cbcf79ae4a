import Foundation
import Logging
import MediaIngest
import Synchronization
import WixMedia

/// `wix.await-ready`: waits until Wix has processed each uploaded file (operationStatus READY or FAILED).
///
/// Files already READY in the upload's answer pass at once, with no request. The others are polled together: one
/// `get-files` call per round for up to 100 pending files (not one call per file, which would hit Wix's 200
/// requests/minute), with the interval growing from `pollInterval` to `maxPollInterval`. READY puts the final
/// descriptor on the asset and verifies size and hash again; FAILED rejects it; `timeout` fails it (a later run
/// retries).
public struct WixAwaitReadyStage: Stage, StageDefinition {
    public static let kind = "wix.await-ready"
    public static let phase = StagePhase.confirm
    public static let summary = "Wait until Wix has processed each upload (READY or FAILED), polling get-files in batches; verify size and hash."

    static let timeout = StageOption<DurationValue>("readyTimeout", default: DurationValue(seconds: 300), doc: "How long a file may stay PENDING before the asset fails.")
    static let pollInterval = StageOption<DurationValue>("pollInterval", default: DurationValue(seconds: 1), doc: "The first pause between polls.")
    static let maxPollInterval = StageOption<DurationValue>("maxPollInterval", default: DurationValue(seconds: 15), doc: "The longest pause between polls (the pause grows 1.5× per round).")

    public static let options = WixConnectionOptions.specs + [timeout.spec, pollInterval.spec, maxPollInterval.spec]

    let connection: WixConnectionOptions
    let readyTimeout: Duration
    let firstInterval: Duration
    let longestInterval: Duration
    let client = WixClientHolder()
    let poller = ReadyPollerHolder()

    public init(options: OptionValues, context: StageBuildContext) throws {
        connection = try WixConnectionOptions(options: options)
        readyTimeout = (try options[Self.timeout]).duration
        firstInterval = (try options[Self.pollInterval]).duration
        longestInterval = (try options[Self.maxPollInterval]).duration
        if firstInterval < .milliseconds(50) { throw options.error(Self.pollInterval, "expected at least 50ms") }
        if longestInterval < firstInterval { throw options.error(Self.maxPollInterval, "must not be shorter than pollInterval") }
    }

    public func prepare(_ context: PipelineContext) async throws {
        guard !context.isDryRun else { return }
        client.open(connection, connections: 2, logger: context.logger)
        poller.start(ReadyPoller(client: try client.get(), first: firstInterval, longest: longestInterval, logger: context.logger))
    }

    public func finish(_ report: RunReport, context: PipelineContext) async throws {
        await poller.stop()
        await client.close()
    }

    public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        guard let target = asset.target, target.target == "wix" else {
            return .reject(asset, Rejection(.targetRejected, "wix.await-ready needs an asset uploaded by upload.wix earlier in the pipeline"))
        }
        var descriptor: FileDescriptor? = target.descriptor.flatMap { try? FileDescriptor(json: $0) }
        do {
            if descriptor?.operationStatus == "PENDING" || descriptor == nil {
                descriptor = try await poller.get().await(target.id, timeout: readyTimeout)
            }
        } catch let error as WixClientError {
            return try error.stageOutcome(for: asset, action: "check \(asset.displayPath)")
        }
        guard let descriptor else { throw WixClientError.malformedResponse("no descriptor") }
        var asset = asset
        asset.target = TargetRecord(target: "wix", id: descriptor.id, url: descriptor.url, status: descriptor.operationStatus, confirmed: descriptor.isReady, descriptor: descriptor.raw)
        if var facts = asset.facts["wix"]?.objectValue {
            facts["operationStatus"] = .string(descriptor.operationStatus)
            facts["hash"] = .string(descriptor.hash)
            asset.facts["wix"] = .object(facts)
        }
        if descriptor.isFailed {
            return .reject(asset, Rejection(.processingFailed, "Wix could not process \(asset.displayPath) (file \(descriptor.id) is FAILED)"))
        }
        let sent = asset.facts["wix"]?["sentBytes"]?.intValue
        let md5 = asset.facts["wix"]?["md5"]?.stringValue
        if let sent, let problem = WixUploadStage.verificationProblem(descriptor, size: sent, md5: md5) {
            throw WixClientError.verificationFailed("\(asset.displayPath) → \(descriptor.id): \(problem)")
        }
        if let width = descriptor.width, let height = descriptor.height, asset.dimensions == nil { asset.dimensions = PixelSize(width: width, height: height) }
        context.logger.debug("ready", metadata: ["file": "\(asset.displayPath)", "wixId": "\(descriptor.id)"])
        return .next(asset)
    }
}

/// Holds the run's poller between `prepare` and `finish`.
final class ReadyPollerHolder: Sendable {
    private let poller = Mutex<ReadyPoller?>(nil)
    func start(_ new: ReadyPoller) { poller.withLock { $0 = new } }
    func get() throws -> ReadyPoller {
        guard let current = poller.withLock({ $0 }) else { throw WixClientError.malformedResponse("wix.await-ready was not prepared") }
        return current
    }
    func stop() async {
        let current = poller.withLock { value in
            defer { value = nil }
            return value
        }
        await current?.cancelAll()
    }
}

/// Polls the files that are still PENDING, up to 100 per `get-files` call, and wakes each waiter when its file
/// leaves PENDING or its deadline passes.
actor ReadyPoller {
    private struct Waiter {
        var continuation: CheckedContinuation<FileDescriptor, any Error>
        var deadline: ContinuousClock.Instant
    }

    let client: WixMediaClient
    let first: Duration
    let longest: Duration
    let logger: Logger
    private var waiters: [String: [Waiter]] = [:]
    private var loop: Task<Void, Never>?

    init(client: WixMediaClient, first: Duration, longest: Duration, logger: Logger) {
        self.client = client
        self.first = first
        self.longest = longest
        self.logger = logger
    }

    /// Waits until file `id` is READY or FAILED.
    func await(_ id: String, timeout: Duration) async throws -> FileDescriptor {
        try await withCheckedThrowingContinuation { continuation in
            waiters[id, default: []].append(Waiter(continuation: continuation, deadline: .now + timeout))
            if loop == nil { loop = Task { await self.run() } }
        }
    }

    private func run() async {
        var interval = first
        while !waiters.isEmpty {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { break }
            let ids = Array(waiters.keys.prefix(100))
            do {
                let files = try await client.files(ids: ids)
                var progressed = false
                for file in files where file.operationStatus != "PENDING" {
                    progressed = true
                    for waiter in waiters.removeValue(forKey: file.id) ?? [] { waiter.continuation.resume(returning: file) }
                }
                interval = progressed ? first : min(longest, interval * 1.5)
            } catch let error as WixClientError where error.isAuthenticationFailure || !error.isRetryable {
                logger.warning("polling failed", metadata: ["error": "\(error)"])
                for id in ids { for waiter in waiters.removeValue(forKey: id) ?? [] { waiter.continuation.resume(throwing: error) } }
            } catch {
                logger.info("polling failed; will retry", metadata: ["error": "\(error)"])
                interval = min(longest, interval * 1.5)
            }
            let now = ContinuousClock.now
            for (id, list) in waiters {
                let (expired, alive) = (list.filter { $0.deadline <= now }, list.filter { $0.deadline > now })
                for waiter in expired {
                    waiter.continuation.resume(throwing: WaitTimeout(fileID: id))
                }
                waiters[id] = alive.isEmpty ? nil : alive
            }
        }
        loop = nil
    }

    func cancelAll() {
        loop?.cancel()
        for (_, list) in waiters { for waiter in list { waiter.continuation.resume(throwing: CancellationError()) } }
        waiters = [:]
    }
}

/// A file stayed PENDING past `readyTimeout`.
struct WaitTimeout: Error, AssetFailureDescribing, CustomStringConvertible {
    var fileID: String
    var failureCode: String { "timeout" }
    var failureMessage: String { "Wix file \(fileID) was still PENDING at readyTimeout" }
    var description: String { failureMessage }
}
