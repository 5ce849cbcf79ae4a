import Foundation

/// How the emulator behaves: who may call it, where it keeps files, how fast it "processes" media, and which
/// faults it injects.
public struct EmulatorConfiguration: Sendable {
    /// The API key callers must send in `Authorization` (raw, or after `Bearer `).
    public var apiKey: String
    /// The site id callers must send in `wix-site-id`.
    public var siteID: String
    /// Where files, descriptors and the signing key are kept (restarting with the same folder keeps the files).
    public var dataDirectory: String
    /// Host name to bind (loopback by default).
    public var host: String
    /// Port to bind; 0 picks a free port (tests).
    public var port: Int
    /// The base URL written into upload URLs and file URLs; derived from host and the bound port when `nil`.
    public var publicBaseURL: String?
    /// Lifetime of a generate-upload-url token (Wix's samples show 24 hours).
    public var uploadURLLifetime: Duration
    /// Lifetime of a resumable upload token (Wix's samples show 7 days).
    public var resumableTokenLifetime: Duration
    /// How long images stay PENDING after upload (0: READY at once, as in Wix's sample).
    public var imageProcessingDelay: Duration
    /// How long video and audio stay PENDING after upload.
    public var mediaProcessingDelay: Duration
    /// How long documents and other files stay PENDING.
    public var otherProcessingDelay: Duration
    /// Faults to inject.
    public var faults: FaultSettings
    /// Where to POST File Ready / File Failed events, if anywhere.
    public var webhookURL: String?
    /// The largest body a PUT or PATCH may carry (a guard for a disk-backed server, not a Wix limit).
    public var maxUploadBytes: Int64

    /// Creates a configuration with the defaults the README documents.
    public init(
        apiKey: String = "emulator-api-key", siteID: String = "emulator-site-id", dataDirectory: String, host: String = "127.0.0.1",
        port: Int = 8787, publicBaseURL: String? = nil, uploadURLLifetime: Duration = .seconds(86_400),
        resumableTokenLifetime: Duration = .seconds(7 * 86_400), imageProcessingDelay: Duration = .zero,
        mediaProcessingDelay: Duration = .seconds(2), otherProcessingDelay: Duration = .zero, faults: FaultSettings = FaultSettings(),
        webhookURL: String? = nil, maxUploadBytes: Int64 = 8 << 30
    ) {
        self.apiKey = apiKey
        self.siteID = siteID
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.publicBaseURL = publicBaseURL
        self.uploadURLLifetime = uploadURLLifetime
        self.resumableTokenLifetime = resumableTokenLifetime
        self.imageProcessingDelay = imageProcessingDelay
        self.mediaProcessingDelay = mediaProcessingDelay
        self.otherProcessingDelay = otherProcessingDelay
        self.faults = faults
        self.webhookURL = webhookURL
        self.maxUploadBytes = maxUploadBytes
    }
}

/// Faults the emulator injects, deterministically for a given seed and request order. Settable at start, through
/// `POST /_emulator/faults`, or from tests with ``RunningEmulator/setFaults(_:)``.
public struct FaultSettings: Sendable, Codable, Hashable {
    /// Share of Wix API and upload requests answered 500 or 503 (alternating) before doing anything.
    public var serverErrorRate: Double
    /// Share of requests answered 429 with Wix's error shape and a `Retry-After` header.
    public var rateLimitRate: Double
    /// Share of PUT/PATCH uploads whose connection is reset partway through the body.
    public var connectionResetRate: Double
    /// Share of uploads whose processing ends FAILED.
    public var processingFailureRate: Double
    /// Latency added to every request, in milliseconds.
    public var latencyMilliseconds: Int
    /// Requests per minute per API key before 429s (Wix documents 200 per app instance); `nil` = no limit.
    public var requestsPerMinute: Int?
    /// `Retry-After` seconds sent with 429s.
    public var retryAfterSeconds: Int
    /// The seed of the fault dice.
    public var seed: UInt64

    /// No faults.
    public init(
        serverErrorRate: Double = 0, rateLimitRate: Double = 0, connectionResetRate: Double = 0, processingFailureRate: Double = 0,
        latencyMilliseconds: Int = 0, requestsPerMinute: Int? = nil, retryAfterSeconds: Int = 1, seed: UInt64 = 1
    ) {
        self.serverErrorRate = serverErrorRate
        self.rateLimitRate = rateLimitRate
        self.connectionResetRate = connectionResetRate
        self.processingFailureRate = processingFailureRate
        self.latencyMilliseconds = latencyMilliseconds
        self.requestsPerMinute = requestsPerMinute
        self.retryAfterSeconds = retryAfterSeconds
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey {
        case serverErrorRate, rateLimitRate, connectionResetRate, processingFailureRate, latencyMilliseconds, requestsPerMinute,
            retryAfterSeconds, seed
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = FaultSettings()
        serverErrorRate = try container.decodeIfPresent(Double.self, forKey: .serverErrorRate) ?? defaults.serverErrorRate
        rateLimitRate = try container.decodeIfPresent(Double.self, forKey: .rateLimitRate) ?? defaults.rateLimitRate
        connectionResetRate = try container.decodeIfPresent(Double.self, forKey: .connectionResetRate) ?? defaults.connectionResetRate
        processingFailureRate = try container.decodeIfPresent(Double.self, forKey: .processingFailureRate) ?? defaults.processingFailureRate
        latencyMilliseconds = try container.decodeIfPresent(Int.self, forKey: .latencyMilliseconds) ?? defaults.latencyMilliseconds
        requestsPerMinute = try container.decodeIfPresent(Int.self, forKey: .requestsPerMinute)
        retryAfterSeconds = try container.decodeIfPresent(Int.self, forKey: .retryAfterSeconds) ?? defaults.retryAfterSeconds
        seed = try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? defaults.seed
        for (name, rate) in [("serverErrorRate", serverErrorRate), ("rateLimitRate", rateLimitRate), ("connectionResetRate", connectionResetRate), ("processingFailureRate", processingFailureRate)]
        where !(0...1).contains(rate) {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(name) must be between 0 and 1"))
        }
    }
}
