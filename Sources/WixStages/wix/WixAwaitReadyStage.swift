import Foundation
import IngestStages
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
///
/// With `via: "events"` the File Ready / File Failed webhooks Wix sends settle files as they come
/// (``WixEventReceiver``), and polling remains, every `eventTimeout`, for any file whose event has not come.
public struct WixAwaitReadyStage: Stage, StageDefinition {
    public static let kind = "wix.await-ready"
    public static let sourceFile: String? = #filePath
    public static let codes: [DocumentedCode] = [
        .failure(
            "processing_failed",
            "Wix could not process the upload; the FAILED copy is deleted and the next run uploads again"),
        .failure("timeout", "still PENDING at `readyTimeout`"),
        .failure(
            "target_trashed",
            "the uploaded file was moved to Wix's trash before it was confirmed; the next run uploads it again"),
        .failure("verify_mismatch", "Wix reports another size (or, with `verify: \"md5\"`, hash) than what was sent"),
        DocumentedCode("http_NNN", .failure, "Wix kept answering an error status after the retries of one request"),
    ]
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

    static let via = StageOption<ReadyVia>(
        "via", default: .poll,
        doc:
            "\"poll\" (default): get-files in batches; \"events\": File Ready / File Failed webhooks Wix posts to eventsListen, verified with eventsPublicKey, with polling every eventTimeout for files whose event has not come."
    )
    static let eventsListen = StageOption<String?>(
        "eventsListen",
        doc:
            "With via \"events\": HOST:PORT the webhook endpoint listens on (any path; Wix's app settings point at it, usually through a reverse proxy)."
    )
    static let eventsPublicKey = StageOption<Secret?>(
        "eventsPublicKey",
        doc:
            "With via \"events\": the Wix app's public key (PEM) the webhooks are verified with: {\"file\": \"…\"}, {\"env\": \"…\"} or the text."
    )
    static let eventTimeout = StageOption<DurationValue>(
        "eventTimeout", default: DurationValue(seconds: 30),
        doc: "With via \"events\": files whose event has not come are polled at this interval (events may be lost).")

    public static let options =
        WixConnectionOptions.specs + [
            timeout.spec, pollInterval.spec, maxPollInterval.spec, WixUploadStage.verify.spec, via.spec,
            eventsListen.spec, eventsPublicKey.spec, eventTimeout.spec,
        ]

    let connection: WixConnectionOptions
    let readyTimeout: Duration
    let firstInterval: Duration
    let longestInterval: Duration
    let verification: VerifyMode
    /// With `via: "events"`: where to listen, the verifier, and the fallback polling interval.
    let events: (listen: (host: String, port: Int), verifier: WixEventVerifier, fallback: Duration)?
    let client = WixClientHolder()
    let poller = ReadyPollerHolder()
    let receiver = Holder<WixEventReceiver>()

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
        if try options[Self.via] == .events {
            guard let text = try options[Self.eventsListen] else {
                throw options.error(Self.eventsListen, "required with via \"events\" (e.g. \"127.0.0.1:8181\")")
            }
            guard let listen = WixEventReceiver.address(text) else {
                throw options.error(Self.eventsListen, "expected HOST:PORT, got \"\(text)\"")
            }
            guard let key = try options[Self.eventsPublicKey] else {
                throw options.error(Self.eventsPublicKey, "required with via \"events\": the app's public key (PEM)")
            }
            let verifier: WixEventVerifier
            do {
                verifier = try WixEventVerifier(publicKeyPEM: key.revealed)
            } catch {
                throw options.error(Self.eventsPublicKey, "\(error) (from \(key.origin))")
            }
            let fallback = (try options[Self.eventTimeout]).duration
            if fallback < .seconds(1) { throw options.error(Self.eventTimeout, "expected at least 1s") }
            events = (listen, verifier, fallback)
        } else {
            events = nil
        }
    }

    public func prepare(_ context: PipelineContext) async throws {
        guard !context.isDryRun else { return }
        try client.open(connection, context: context)
        let ready = ReadyPoller(
            client: try client.get(), first: firstInterval, longest: longestInterval, fallback: events?.fallback,
            logger: context.logger)
        poller.start(ready)
        if let events {
            receiver.set(
                try await WixEventReceiver.start(
                    listen: events.listen, verifier: events.verifier, logger: context.logger
                ) { event in await ready.receive(event) })
        }
    }

    public func finish(_ report: RunReport, context: PipelineContext) async throws {
        await receiver.get()?.stop()
        receiver.set(nil)
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
        if descriptor?.operationStatus == "PENDING" || descriptor == nil {
            descriptor = try await poller.get().await(target.id, timeout: readyTimeout)
        }
        guard let descriptor else { throw WixClientError.malformedResponse("no descriptor") }
        var asset = asset
        var record = WixUploadStage.target(descriptor, method: target.method ?? "put")
        record.sentBytes = target.sentBytes
        record.sentMD5 = target.sentMD5
        record.sentSHA256 = target.sentSHA256
        asset.target = record
        // The upload's report stays (its attempts, how a duplicate was recognised); the descriptor's say the rest anew.
        let upload = asset.values[WixFileReport.self]
        asset.values[WixFileReport.self] = .init(
            record, attempts: upload?.attempts ?? 0, matchedBy: upload?.matchedBy)
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
    var failureCode: AssetFailure.Code { "processing_failed" }
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
    var failureCode: AssetFailure.Code { "target_trashed" }
    var failureMessage: String {
        "Wix file \(fileID) for \(name) is in the trash (parentFolderId trash-root); the source stays, the next run uploads it again"
    }
    var description: String { failureMessage }
}

/// `via`: how `wix.await-ready` learns that processing ended.
enum ReadyVia: String, OptionEnum {
    /// `get-files` in batches.
    case poll
    /// File Ready / File Failed webhooks, polling as the fallback.
    case events
}

/// A file stayed PENDING past `readyTimeout`.
struct WaitTimeout: Error, AssetFailureDescribing, CustomStringConvertible {
    var fileID: String
    var failureCode: AssetFailure.Code { "timeout" }
    var failureMessage: String { "Wix file \(fileID) was still PENDING at readyTimeout" }
    var description: String { failureMessage }
}
