import Foundation
import Logging
import MediaFormats
import MediaIngest
import Synchronization
import WixMedia

/// `wix.await-ready`: waits until Wix has processed each uploaded file (operationStatus READY or FAILED).
///
/// Files already READY in the upload's answer pass at once, with no request. The others are polled together: one
/// `get-files` call per round for up to 100 pending files (not one call per file, which would hit Wix's 200
/// requests/minute), with the interval growing from `pollInterval` to `maxPollInterval`, over the run's shared
/// connection to the site (the same pacer and budget as `upload.wix`). READY puts the final descriptor on the asset
/// and verifies it again; FAILED deletes the file at Wix and fails the asset (a later run uploads it anew, up to
/// `maxAttempts` runs); `readyTimeout` fails it. Cancellation (a second Ctrl-C) ends the wait at once.
public struct WixAwaitReadyStage: Stage, StageDefinition {
    public static let kind = "wix.await-ready"
    public static let phase = StagePhase.confirm
    public static let summary =
        "Wait until Wix has processed each upload (READY or FAILED), polling get-files in batches; verify size and hash."

    static let timeout = StageOption<DurationValue>(
        "readyTimeout", default: DurationValue(seconds: 300),
        doc: "How long a file may stay PENDING before the asset fails.")
    static let pollInterval = StageOption<DurationValue>(
        "pollInterval", default: DurationValue(seconds: 1), doc: "The first pause between polls.")
    static let maxPollInterval = StageOption<DurationValue>(
        "maxPollInterval", default: DurationValue(seconds: 15),
        doc: "The longest pause between polls (the pause grows 1.5× per round).")

    public static let options =
        WixConnectionOptions.specs + [
            timeout.spec, pollInterval.spec, maxPollInterval.spec, WixUploadStage.verify.spec,
        ]

    let connection: WixConnectionOptions
    let readyTimeout: Duration
    let firstInterval: Duration
    let longestInterval: Duration
    let verification: VerifyMode
    let client = WixClientHolder()
    let poller = ReadyPollerHolder()

    public init(options: OptionValues, context: StageBuildContext) throws {
        connection = try WixConnectionOptions(options: options)
        readyTimeout = (try options[Self.timeout]).duration
        firstInterval = (try options[Self.pollInterval]).duration
        longestInterval = (try options[Self.maxPollInterval]).duration
        verification = try options[WixUploadStage.verify]
        if firstInterval < .milliseconds(50) { throw options.error(Self.pollInterval, "expected at least 50ms") }
        if longestInterval < firstInterval {
            throw options.error(Self.maxPollInterval, "must not be shorter than pollInterval")
        }
    }

    public func prepare(_ context: PipelineContext) async throws {
        guard !context.isDryRun else { return }
        try client.open(connection, context: context)
        poller.start(
            ReadyPoller(
                client: try client.get(), first: firstInterval, longest: longestInterval, logger: context.logger))
    }

    public func finish(_ report: RunReport, context: PipelineContext) async throws {
        await poller.stop()
        client.release()
    }

    public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        guard let target = asset.target, target.target == "wix" else {
            return .reject(
                asset,
                Rejection(
                    .targetRejected, "wix.await-ready needs an asset uploaded by upload.wix earlier in the pipeline"))
        }
        var descriptor: FileDescriptor? = target.descriptor.flatMap { try? FileDescriptor(json: $0) }
        do {
            if descriptor?.operationStatus == "PENDING" || descriptor == nil {
                descriptor = try await poller.get().await(target.id, timeout: readyTimeout)
            }
        } catch let error as WixClientError {
            return try error.stageOutcome(
                for: asset, action: "check \(asset.displayPath)", budget: try client.get().budget)
        }
        guard let descriptor else { throw WixClientError.malformedResponse("no descriptor") }
        var asset = asset
        var record = WixUploadStage.target(descriptor, method: target.method ?? "put")
        record.sentBytes = target.sentBytes
        record.sentMD5 = target.sentMD5
        record.sentSHA256 = target.sentSHA256
        asset.target = record
        // The upload's facts stay (how a duplicate was recognised…); the descriptor's replace what they say anew.
        var facts = asset.facts["wix"]?.objectValue ?? [:]
        for (key, value) in WixUploadStage.facts(
            record, attempts: asset.facts["wix"]?["attempts"]?.intValue.map { Int($0) } ?? 0
        ).objectValue ?? [:] {
            facts[key] = value
        }
        asset.facts["wix"] = .object(facts)
        if descriptor.isTrashed {
            // READY, but in the trash: not in the Media Manager. The source stays; the next run uploads it again.
            throw TargetTrashed(fileID: descriptor.id, name: asset.displayPath)
        }
        if descriptor.isFailed {
            // Trouble that may pass: the next run uploads the file again. The FAILED copy is deleted first, so failed
            // attempts do not pile up in the Media Manager (a later run deletes it if this call fails).
            do {
                try await client.get().deleteFiles(ids: [descriptor.id], permanent: true)
            } catch {
                context.logger.warning(
                    "cannot delete the FAILED file at Wix",
                    metadata: ["wixId": "\(descriptor.id)", "error": "\(error)"])
            }
            throw ProcessingFailed(fileID: descriptor.id, name: asset.displayPath)
        }
        if let sent = target.sentBytes, let problem = verification.problem(descriptor, size: sent, md5: target.sentMD5)
        {
            throw WixClientError.verificationFailed("\(asset.displayPath) → \(descriptor.id): \(problem)")
        }
        if let width = descriptor.width, let height = descriptor.height, asset.dimensions == nil {
            asset.dimensions = PixelSize(width: width, height: height)
        }
        context.logger.debug("ready", metadata: ["file": "\(asset.displayPath)", "wixId": "\(descriptor.id)"])
        return .next(asset)
    }
}

/// Wix could not process a file (operationStatus FAILED): a failure, retried by a later run with a new upload.
struct ProcessingFailed: Error, AssetFailureDescribing, CustomStringConvertible {
    var fileID: String
    var name: String
    var failureCode: String { "processing_failed" }
    var failureMessage: String {
        "Wix could not process \(name) (file \(fileID) was FAILED and is deleted); the next run uploads it again"
    }
    var description: String { failureMessage }
}

/// The file was moved to Wix's trash before it was confirmed: a failure, so the source is neither archived nor deleted;
/// the next run uploads it again (a file in the trash is never recovered or taken as a duplicate).
struct TargetTrashed: Error, AssetFailureDescribing, CustomStringConvertible {
    var fileID: String
    var name: String
    var failureCode: String { "target_trashed" }
    var failureMessage: String {
        "Wix file \(fileID) for \(name) is in the trash (parentFolderId trash-root); the source stays, the next run uploads it again"
    }
    var description: String { failureMessage }
}

/// Holds the run's poller between `prepare` and `finish`.
final class ReadyPollerHolder: Sendable {
    private let poller = Mutex<ReadyPoller?>(nil)
    func start(_ new: ReadyPoller) { poller.withLock { $0 = new } }
    func get() throws -> ReadyPoller {
        guard let current = poller.withLock({ $0 }) else {
            throw WixClientError.malformedResponse("wix.await-ready was not prepared")
        }
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
        var token: UUID
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

    /// Waits until file `id` is READY or FAILED — or the task is cancelled (a second Ctrl-C): the wait then ends at
    /// once with `CancellationError`.
    func await(_ id: String, timeout: Duration) async throws -> FileDescriptor {
        let token = UUID()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard !Task.isCancelled else {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                waiters[id, default: []].append(
                    Waiter(token: token, continuation: continuation, deadline: .now + timeout))
                if loop == nil { loop = Task { await self.run() } }
            }
        } onCancel: {
            Task { await self.cancel(id: id, token: token) }
        }
    }

    /// Ends one waiter with `CancellationError`.
    private func cancel(id: String, token: UUID) {
        guard var list = waiters[id], let index = list.firstIndex(where: { $0.token == token }) else { return }
        list.remove(at: index).continuation.resume(throwing: CancellationError())
        waiters[id] = list.isEmpty ? nil : list
    }

    private func run() async {
        var interval = first
        while !waiters.isEmpty {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { break }
            let ids = Array(waiters.keys.prefix(100))
            do {
                let (files, refused) = try await client.filesEach(ids: ids)
                var progressed = !refused.isEmpty
                // One id Wix refuses ends its own wait, never the batch's.
                for (id, error) in refused {
                    logger.warning("Wix refused one file of a poll", metadata: ["wixId": "\(id)", "error": "\(error)"])
                    for waiter in waiters.removeValue(forKey: id) ?? [] { waiter.continuation.resume(throwing: error) }
                }
                for file in files where file.operationStatus != "PENDING" {
                    progressed = true
                    for waiter in waiters.removeValue(forKey: file.id) ?? [] {
                        waiter.continuation.resume(returning: file)
                    }
                }
                interval = progressed ? first : min(longest, interval * 1.5)
            } catch let error as WixClientError where error.isAuthenticationFailure || !error.isRetryable {
                logger.warning("polling failed", metadata: ["error": "\(error)"])
                for id in ids {
                    for waiter in waiters.removeValue(forKey: id) ?? [] { waiter.continuation.resume(throwing: error) }
                }
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
