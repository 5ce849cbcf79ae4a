import Foundation
import IngestStages
import Logging
import MediaIngest
import Synchronization
import WixMedia

/// The options every Wix stage shares (where Wix is, which site, which credentials, how to retry and pace) and the
/// connection they open for a run.
///
/// Stages of one pipeline that talk to the same site with the same credentials share one connection — one HTTP pool,
/// one request pacer, one retry budget (``RunResources``); the first such stage's settings make it.
struct WixConnectionOptions: Sendable {
    static let baseURL = StageOption<String>(
        "baseURL", default: "https://www.wixapis.com",
        doc:
            "The Wix REST API base URL; point it at `wix-media-emulator` (http://127.0.0.1:8787) to try pipelines without an account."
    )
    static let siteID = StageOption<String?>(
        "siteId", doc: "The Wix site id, sent as `wix-site-id` with an API key (e.g. \"${WIX_SITE_ID}\").")
    static let apiKey = StageOption<Secret?>(
        "apiKey",
        doc:
            "An API key: {\"env\": \"WIX_API_KEY\"}, \"${WIX_API_KEY}\" or {\"file\": \"~/.config/wix/key\"}. Never logged. Needs siteId."
    )
    static let auth = StageOption<AppCredentials?>(
        "auth",
        doc:
            "A Wix app's OAuth client credentials instead of an API key: {\"appId\", \"appSecret\": {\"env\": …}, \"instanceId\"}; access tokens are fetched and refreshed."
    )
    static let maxAttempts = StageOption<Int>(
        "maxAttempts", default: 6,
        doc: "Attempts per request (429, 5xx and connection errors are retried with backoff and jitter).")
    static let retryBudget = StageOption<RetryBudgetOption>(
        "retryBudget", default: .automatic,
        doc:
            "Retries the whole run may spend: \"auto\" (50 plus one for every two assets sent) or a number; a 429 with Retry-After spends none. When a dead endpoint eats them, the run stops with a clear message."
    )
    static let requestsPerMinute = StageOption<PacingOption>(
        "requestsPerMinute", default: .adaptive,
        doc:
            "API request pacing: \"adaptive\" (none until the first 429, then Wix's documented 200 per minute), a number (at most that many per minute from the start), or \"off\"."
    )
    static let timeout = StageOption<DurationValue>(
        "timeout", default: DurationValue(seconds: 60),
        doc: "How long a request may wait for the next bytes before it fails.")

    static let listingLag = StageOption<DurationValue>(
        "listingLag", default: DurationValue(seconds: 2),
        doc:
            "How long Wix's listings may take to show a file just uploaded: after an upload whose answer was lost, the lookup looks once more after this wait before it sends the file again."
    )

    static let specs = [
        baseURL.spec, siteID.spec, apiKey.spec, auth.spec, maxAttempts.spec, retryBudget.spec, requestsPerMinute.spec,
        timeout.spec, listingLag.spec,
    ]

    var baseURL: String
    var authorization: WixAuthorization
    var retry: RetryPolicy
    var retryBudget: RetryBudgetOption
    var pacing: PacingOption
    var timeout: Duration

    init(options: OptionValues) throws {
        baseURL = try options[Self.baseURL]
        let attempts = try options[Self.maxAttempts]
        retryBudget = try options[Self.retryBudget]
        pacing = try options[Self.requestsPerMinute]
        timeout = .milliseconds(Int64((try options[Self.timeout]).seconds * 1000))
        guard let url = URL(string: baseURL), let scheme = url.scheme, ["http", "https"].contains(scheme),
            url.host != nil
        else {
            throw options.error(
                Self.baseURL, "expected an http(s) URL like \"https://www.wixapis.com\", got \"\(baseURL)\"")
        }
        if !(1...20).contains(attempts) { throw options.error(Self.maxAttempts, "expected 1 to 20, got \(attempts)") }
        let lag = (try options[Self.listingLag]).seconds
        if !(0...300).contains(lag) { throw options.error(Self.listingLag, "expected 0s to 5m") }
        retry = RetryPolicy(maxAttempts: attempts, listingLag: .milliseconds(Int64(lag * 1000)))
        let key = try options[Self.apiKey]
        let site = try options[Self.siteID]
        if let app = try options[Self.auth] {
            if key != nil {
                throw options.error(
                    Self.auth, "give either apiKey (with siteId) or auth (an app's OAuth credentials), not both")
            }
            authorization = .oauth(appID: app.appID, appSecret: app.appSecret.revealed, instanceID: app.instanceID)
        } else {
            guard let key else {
                throw options.error(
                    Self.apiKey, "missing: give apiKey and siteId, or auth with an app's OAuth credentials")
            }
            guard let site, !site.isEmpty, site.count <= 100 else {
                throw options.error(Self.siteID, "expected 1 to 100 characters (required with apiKey)")
            }
            authorization = .apiKey(key: key.revealed, siteID: site)
        }
    }

    /// The key that makes two stages' connections one.
    var sharingKey: String { "wix|\(baseURL)|\(authorization.identity)" }

    /// What the report shows of the connection (never a secret).
    var reportInfo: JSONValue {
        switch authorization {
        case .apiKey(_, let siteID): return ["baseURL": .string(baseURL), "siteId": .string(siteID)]
        case .oauth(let appID, _, let instanceID):
            return ["baseURL": .string(baseURL), "appId": .string(appID), "instanceId": .string(instanceID)]
        }
    }
}

/// `auth`: a Wix app's OAuth client credentials.
struct AppCredentials: OptionValue, Hashable {
    var appID: String
    var appSecret: Secret
    var instanceID: String

    static var optionTypeName: String { "{appId, appSecret, instanceId}" }
    static var optionSchema: JSONValue {
        [
            "type": "object", "additionalProperties": false, "required": ["appId", "appSecret", "instanceId"],
            "properties": [
                "appId": ["type": "string"], "appSecret": Secret.optionSchema, "instanceId": ["type": "string"],
            ],
        ]
    }

    init(option input: OptionInput) throws {
        guard let members = input.value.objectValue else {
            throw input.typeMismatch(expected: "an object {\"appId\", \"appSecret\", \"instanceId\"}")
        }
        for key in members.keys.sorted() where !["appId", "appSecret", "instanceId"].contains(key) {
            throw input.child(members[key] ?? .null, at: .key(key)).error(
                "unknown key \"\(key)\"", suggestion: "auth takes appId, appSecret and instanceId")
        }
        func text(_ key: String) throws -> String {
            guard let value = members[key] else { throw input.error("missing \"\(key)\"") }
            guard let string = value.stringValue, !string.isEmpty else {
                throw input.child(value, at: .key(key)).typeMismatch(expected: "a non-empty string")
            }
            return string
        }
        appID = try text("appId")
        instanceID = try text("instanceId")
        guard let secret = members["appSecret"] else { throw input.error("missing \"appSecret\"") }
        appSecret = try Secret(option: input.child(secret, at: .key("appSecret")))
    }

    var optionJSON: JSONValue {
        ["appId": .string(appID), "appSecret": appSecret.optionJSON, "instanceId": .string(instanceID)]
    }
}

/// `retryBudget`: `"auto"` or a fixed number.
enum RetryBudgetOption: OptionValue, Hashable {
    case automatic
    case fixed(Int)

    static var optionTypeName: String { "\"auto\" | integer" }
    static var optionSchema: JSONValue { ["anyOf": [["const": "auto"], ["type": "integer", "minimum": 0]]] }

    init(option input: OptionInput) throws {
        if input.value.stringValue == "auto" {
            self = .automatic
        } else if let number = input.value.intValue, number >= 0, let value = Int(exactly: number) {
            self = .fixed(value)
        } else {
            throw input.typeMismatch(expected: "\"auto\" or a number of retries (0 or more)")
        }
    }

    var optionJSON: JSONValue {
        switch self {
        case .automatic: return "auto"
        case .fixed(let value): return .int(Int64(value))
        }
    }

    func makeBudget() -> RetryBudget {
        switch self {
        case .automatic: return RetryBudget(base: 50, perAsset: 0.5)
        case .fixed(let value): return RetryBudget(value)
        }
    }
}

/// `requestsPerMinute`: `"adaptive"`, `"off"` or a number.
enum PacingOption: OptionValue, Hashable {
    case adaptive, off
    case fixed(Int)

    static var optionTypeName: String { "\"adaptive\" | \"off\" | integer" }
    static var optionSchema: JSONValue {
        ["anyOf": [["enum": ["adaptive", "off"]], ["type": "integer", "minimum": 1]]]
    }

    init(option input: OptionInput) throws {
        switch input.value.stringValue {
        case "adaptive"?: self = .adaptive
        case "off"?: self = .off
        default:
            guard let number = input.value.intValue, number >= 1, let value = Int(exactly: number) else {
                throw input.typeMismatch(expected: "\"adaptive\", \"off\" or a number of requests per minute")
            }
            self = .fixed(value)
        }
    }

    var optionJSON: JSONValue {
        switch self {
        case .adaptive: return "adaptive"
        case .off: return "off"
        case .fixed(let value): return .int(Int64(value))
        }
    }

    var mode: RequestPacer.Mode {
        switch self {
        case .adaptive: return .adaptive(requestsPerMinute: RequestPacer.wixLimit)
        case .off: return .off
        case .fixed(let value): return .fixed(requestsPerMinute: value)
        }
    }
}

/// A stage's handle on the run's shared connection to its site, between `prepare` and the end of the run (the
/// connection itself is closed by the run, once every stage is done with it).
final class WixClientHolder: Sendable {
    private let client = Mutex<WixMediaClient?>(nil)

    func open(_ options: WixConnectionOptions, context: PipelineContext) throws {
        let shared = try context.resources.shared(options.sharingKey) {
            WixMediaClient(
                baseURL: options.baseURL, authorization: options.authorization, retry: options.retry,
                budget: options.retryBudget.makeBudget(),
                pacer: RequestPacer(
                    options.pacing.mode, shared: context.services.requestBudget, sharedKey: options.sharingKey),
                connections: context.concurrency + 2,
                requestTimeout: options.timeout, logger: context.logger)
        }
        client.withLock { $0 = shared }
    }

    func get() throws -> WixMediaClient {
        guard let client = client.withLock({ $0 }) else {
            throw WixClientError.malformedResponse("the Wix client is not open (prepare was not called)")
        }
        return client
    }

    func release() {
        client.withLock { $0 = nil }
    }
}
