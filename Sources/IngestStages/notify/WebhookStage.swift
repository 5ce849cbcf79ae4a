import AsyncHTTPClient
import Foundation
import Logging
import MediaIngest
import NIOCore
import NIOHTTP1
import Synchronization

/// `notify.webhook`: POSTs a JSON summary of each run (or of each finished asset) to a URL, with retries.
///
/// Per run: `{"pipeline", "runId", "outcome", "counts", "bytes", "durationSeconds", "failed": [{path, code, reason}],
/// "rejected": [...]}`. Per asset: `{"pipeline", "runId", "path", "status", "code", "reason", "target": {id, url,
/// status}}`. An observer: it never changes an asset, and sees every asset wherever it stands in the list; a webhook
/// that cannot be delivered is logged, not fatal.
public struct WebhookStage: AssetObserver, StageDefinition {
    public static let kind = "notify.webhook"
    public static let sourceFile: String? = #filePath
    public static let phase = StagePhase.report
    public static let summary =
        "POST a JSON summary per run (or per asset) to a URL, retried with backoff; never fails the run."

    public enum Event: String, OptionEnum {
        case run
        case asset
        case problems
    }

    static let url = StageOption<String>("url", doc: "Where to POST (http or https).")
    static let on = StageOption<Event>(
        "on", default: .run,
        doc:
            "\"run\": one summary per run; \"asset\": one per finished asset; \"problems\": a summary only when something failed or was rejected."
    )
    static let token = StageOption<Secret?>(
        "bearerToken", doc: "Sent as `Authorization: Bearer …` (a secret reference).")
    static let maxAttempts = StageOption<Int>(
        "maxAttempts", default: 5, doc: "Attempts per delivery (5xx, 429 and connection errors are retried).")
    public static let options = [url.spec, on.spec, token.spec, maxAttempts.spec]

    let target: String
    let event: Event
    let bearer: Secret?
    let attempts: Int
    let client = HTTPClientBox()

    public init(options: OptionValues, context: StageBuildContext) throws {
        target = try options[Self.url]
        event = try options[Self.on]
        bearer = try options[Self.token]
        attempts = try options[Self.maxAttempts]
        guard let parsed = URL(string: target), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil
        else {
            throw options.error(Self.url, "expected an http(s) URL, got \"\(target)\"")
        }
        if !(1...20).contains(attempts) { throw options.error(Self.maxAttempts, "expected 1 to 20") }
    }

    public func prepare(_ context: PipelineContext) async throws {
        guard !context.isDryRun else { return }
        let created = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(timeout: .init(connect: .seconds(10), read: .seconds(30))))
        client.set(created)
    }

    public func assetDidFinish(_ result: AssetResult, context: PipelineContext) async {
        guard event == .asset, result.status != .skipped, result.status != .planned else { return }
        var body: [String: JSONValue] = [
            "pipeline": .string(context.pipelineName), "runId": .string(context.runID),
            "path": .string(result.asset.displayPath),
            "status": .string(result.status.rawValue),
        ]
        if let rejection = result.rejection {
            body["code"] = .string(rejection.code.rawValue)
            body["reason"] = .string(rejection.reason)
        }
        if let failure = result.failure {
            body["code"] = .string(failure.code.rawValue)
            body["reason"] = .string(failure.message)
        }
        if let target = result.asset.target {
            body["target"] = [
                "id": .string(target.id), "url": target.url.map { .string($0) } ?? .null,
                "status": .string(target.status),
            ]
        }
        await deliver(.object(body), logger: context.logger)
    }

    public func finish(_ report: RunReport, context: PipelineContext) async throws {
        let problems = (report.counts["failed"] ?? 0) + (report.counts["rejected"] ?? 0)
        if event == .run || (event == .problems && (problems > 0 || report.aborted != nil)) {
            await deliver(summary(report), logger: context.logger)
        }
        if let current = client.take() { try? await current.shutdown() }
    }

    func summary(_ report: RunReport) -> JSONValue {
        func list(_ status: AssetStatus) -> JSONValue {
            .array(
                report.assets.filter { $0.status == status }.prefix(1000).map { record in
                    [
                        "path": .string(record.path), "code": record.code.map { .string($0) } ?? .null,
                        "reason": record.reason.map { .string($0) } ?? .null,
                    ]
                })
        }
        let body: JSONValue = [
            "pipeline": .string(report.pipeline), "runId": .string(report.runID),
            "outcome": .string("\(report.outcome)"),
            "counts": .object(report.counts.mapValues { .int(Int64($0)) }), "bytes": .int(report.bytesDone),
            "durationSeconds": .double(report.durationSeconds), "failed": list(.failed), "rejected": list(.rejected),
            "aborted": report.aborted.map { .string($0) } ?? .null,
        ]
        return body
    }

    func deliver(_ body: JSONValue, logger: Logger) async {
        guard let http = client.get() else { return }
        for attempt in 1...attempts {
            var request = HTTPClientRequest(url: target)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "media-ingest")
            if let bearer { request.headers.add(name: "Authorization", value: "Bearer " + bearer.revealed) }
            request.body = .bytes(ByteBuffer(string: body.jsonText()))
            var retryable = true
            do {
                let response = try await http.execute(request, timeout: .seconds(30))
                _ = try? await response.body.collect(upTo: 1 << 16)
                if (200..<300).contains(response.status.code) { return }
                retryable = response.status.code == 429 || response.status.code >= 500
                logger.warning(
                    "webhook answered \(response.status.code)", metadata: ["url": "\(target)", "attempt": "\(attempt)"])
            } catch {
                logger.warning(
                    "webhook delivery failed: \(error)", metadata: ["url": "\(target)", "attempt": "\(attempt)"])
            }
            guard retryable, attempt < attempts else { break }
            try? await Task.sleep(for: .milliseconds(Int64(250 * (1 << min(attempt, 6))) + Int64.random(in: 0...250)))
        }
        logger.error("webhook not delivered after \(attempts) attempts", metadata: ["url": "\(target)"])
    }
}

/// An HTTP client opened in `prepare` and closed in `finish`.
final class HTTPClientBox: Sendable {
    private let client = Mutex<HTTPClient?>(nil)
    func set(_ new: HTTPClient) { client.withLock { $0 = new } }
    func get() -> HTTPClient? { client.withLock { $0 } }
    func take() -> HTTPClient? {
        client.withLock { value in
            defer { value = nil }
            return value
        }
    }
}
