import Foundation
import Logging
import MediaIngest
import Synchronization
import WixMedia

/// The options every Wix stage shares (where Wix is, which site, which key) and the client they open for a run.
struct WixConnectionOptions: Sendable {
    static let baseURL = StageOption<String>(
        "baseURL", default: "https://www.wixapis.com",
        doc: "The Wix REST API base URL; point it at `wix-media-emulator` (http://127.0.0.1:8787) to try pipelines without an account.")
    static let siteID = StageOption<String>("siteId", doc: "The Wix site id, sent as `wix-site-id` (e.g. \"${WIX_SITE_ID}\").")
    static let apiKey = StageOption<Secret>(
        "apiKey", doc: "The API key: {\"env\": \"WIX_API_KEY\"}, \"${WIX_API_KEY}\" or {\"file\": \"~/.config/wix/key\"}. Never logged.")
    static let maxAttempts = StageOption<Int>("maxAttempts", default: 6, doc: "Attempts per request (429, 5xx and connection errors are retried with backoff and jitter).")
    static let retryBudget = StageOption<Int>(
        "retryBudget", default: 200, doc: "Retries the whole run may spend; when a dead endpoint eats them, the run stops with a clear message.")
    static let timeout = StageOption<DurationValue>("timeout", default: DurationValue(seconds: 60), doc: "How long a request may wait for the next bytes before it fails.")

    static let specs = [baseURL.spec, siteID.spec, apiKey.spec, maxAttempts.spec, retryBudget.spec, timeout.spec]

    var baseURL: String
    var siteID: String
    var apiKey: Secret
    var retry: RetryPolicy
    var retryBudget: Int
    var timeout: Duration

    init(options: OptionValues) throws {
        baseURL = try options[Self.baseURL]
        siteID = try options[Self.siteID]
        apiKey = try options[Self.apiKey]
        let attempts = try options[Self.maxAttempts]
        retryBudget = try options[Self.retryBudget]
        timeout = .milliseconds(Int64((try options[Self.timeout]).seconds * 1000))
        guard let url = URL(string: baseURL), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw options.error(Self.baseURL, "expected an http(s) URL like \"https://www.wixapis.com\", got \"\(baseURL)\"")
        }
        if siteID.isEmpty || siteID.count > 100 { throw options.error(Self.siteID, "expected 1 to 100 characters") }
        if !(1...20).contains(attempts) { throw options.error(Self.maxAttempts, "expected 1 to 20, got \(attempts)") }
        if retryBudget < 0 { throw options.error(Self.retryBudget, "expected 0 or more, got \(retryBudget)") }
        retry = RetryPolicy(maxAttempts: attempts)
    }
}

/// Holds a stage's client between `prepare` and `finish` (created per run, so building a pipeline for `ingest check`
/// opens no connections).
final class WixClientHolder: Sendable {
    private let client = Mutex<WixMediaClient?>(nil)

    func open(_ options: WixConnectionOptions, connections: Int, logger: Logger) {
        let created = WixMediaClient(
            baseURL: options.baseURL, apiKey: options.apiKey.revealed, siteID: options.siteID, retry: options.retry,
            budget: RetryBudget(options.retryBudget), connections: connections, requestTimeout: options.timeout, logger: logger)
        let previous = client.withLock { current in
            defer { current = created }
            return current
        }
        if let previous { Task { try? await previous.shutdown() } }
    }

    func get() throws -> WixMediaClient {
        guard let client = client.withLock({ $0 }) else { throw WixClientError.malformedResponse("the Wix client is not open (prepare was not called)") }
        return client
    }

    func close() async {
        let current = client.withLock { current in
            defer { current = nil }
            return current
        }
        try? await current?.shutdown()
    }
}

extension WixClientError {
    /// What the stage does with a failed call: stop the run (credentials, spent budget), reject the asset (Wix
    /// refused this file), or let it fail for a later run to retry.
    func stageOutcome(for asset: Asset, action: String) throws -> StageOutcome {
        if isAuthenticationFailure {
            throw WixRunAbort(abortReason: "Wix rejected the credentials while trying to \(action): \(self) — check apiKey and siteId", underlying: self)
        }
        if case .budgetExhausted = self {
            throw WixRunAbort(abortReason: "stopping: the Wix endpoint keeps failing and the run's retry budget is spent (\(self))", underlying: self)
        }
        if case .http(let status, let code, let message, _) = self, (400..<500).contains(status), !isRetryable {
            return .reject(asset, Rejection(.targetRejected, "Wix refused to \(action): \(status)\(code.map { " \($0)" } ?? "") \(message)"))
        }
        throw self
    }
}
