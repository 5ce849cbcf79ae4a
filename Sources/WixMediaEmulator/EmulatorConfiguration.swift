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
    /// The Wix app whose OAuth client credentials `POST /oauth2/token` accepts, and the instance it is installed as
    /// (an access token then authorizes API calls without `wix-site-id`).
    public var appID = "emulator-app-id"
    public var appSecret = "emulator-app-secret"
    public var instanceID = "emulator-instance-id"
    /// Lifetime of OAuth access tokens (Wix's: 4 hours).
    public var accessTokenLifetime: Duration = .seconds(14_400)

    /// Creates a configuration with the defaults `docs/emulator.md` documents.
    public init(
        apiKey: String = "emulator-api-key", siteID: String = "emulator-site-id", dataDirectory: String,
        host: String = "127.0.0.1",
        port: Int = 8787, publicBaseURL: String? = nil, uploadURLLifetime: Duration = .seconds(86_400),
        resumableTokenLifetime: Duration = .seconds(7 * 86_400), imageProcessingDelay: Duration = .zero,
        mediaProcessingDelay: Duration = .seconds(2), otherProcessingDelay: Duration = .zero,
        faults: FaultSettings = FaultSettings(),
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

/// Faults the emulator injects, deterministically for a given seed and request order, and the stricter readings of
/// what Wix's docs leave open it can model. Settable at start, through `POST /_emulator/faults` (the field names;
/// `"strict": true` for every stricter reading), or from tests with ``RunningEmulator/setFaults(_:)``.
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
    /// The window `requestsPerMinute` counts over, in seconds (60; tests shorten it to see a limit in seconds).
    public var rateLimitWindowSeconds: Double = 60
    /// The seed of the fault dice.
    public var seed: UInt64
    /// Share of uploads (PUT, tus finalize) and imports that are stored but whose answer is lost: the connection drops
    /// before it is sent — the case that makes a retry dangerous.
    public var lostResponseRate: Double

    // Stricter readings of what Wix's docs leave open (`--strict` turns all of them on; see the table in `docs/emulator.md`).
    /// Upload URLs and tus tokens work once: a second PUT, tus creation or finalize gets 429 with no code.
    public var singleUseUploadURLs = false
    /// An expired or unknown upload token gets a plain 403 with no application code.
    public var plainExpiredResponse = false
    /// `hash` is a 32-hex value that is not the MD5 of the bytes.
    public var opaqueHash = false
    /// `get-files` answers 404 for the whole batch when any id is unknown.
    public var strictGetFiles = false
    /// tus creation answers with a relative `Location`.
    public var relativeTusLocation = false
    /// List cursors hold `+`, `/` and `=` (a client that does not percent-encode them gets 400).
    public var opaqueCursors = false
    /// Video renditions are listed smallest first, as in Wix's sample.
    public var smallestRenditionFirst = false
    /// `externalInfo` on generate-resumable-upload-url is ignored (no version of the docs lists it there).
    public var ignoreResumableExternalInfo = false
    /// Create Folder refuses a second folder of the same name in one parent (409 `ALREADY_EXISTS`); by default, as
    /// the docs say nothing against it, two folders may share a name (the case two concurrent clients must survive).
    public var uniqueFolderNames = false
    /// Folder names are compared without case: `filePath` `/Photos` lands in an existing `photos`, and (with
    /// `uniqueFolderNames`) Create Folder `Photos` next to `photos` is a 409.
    public var caseInsensitiveFolderNames = false
    /// List Files and Search Files refuse a sort field no Wix page lists (400): only `updatedDate`, `displayName`
    /// and `sizeInBytes` (`createdDate` is not documented as sortable).
    public var documentedSortsOnly = false
    /// 429s carry no `Retry-After` (Wix documents neither the status nor the header).
    public var rateLimitWithoutRetryAfter = false
    /// `sizeInBytes` in a request must be a decimal string (2023 docs); outside strict a number is accepted too.
    public var sizeAsStringOnly = false
    /// A tus PATCH that does not end the upload must end on a multiple of 256 KiB (as Google-style resumable stores
    /// behind Wix's token require); others get 400.
    public var tusChunkMultiple = false
    /// Share of File Ready / File Failed events never delivered (Wix promises no delivery).
    public var webhookLossRate: Double = 0
    /// Share of events delivered twice.
    public var webhookDuplicateRate: Double = 0
    /// Seconds before a new file appears in List Files and Search Files (Wix does not promise read-your-writes
    /// listings); not part of `strict`, which keeps listings immediate.
    public var listingLagSeconds: Double = 0

    /// Every stricter reading at once.
    public mutating func makeStrict() {
        singleUseUploadURLs = true
        plainExpiredResponse = true
        opaqueHash = true
        strictGetFiles = true
        relativeTusLocation = true
        opaqueCursors = true
        smallestRenditionFirst = true
        ignoreResumableExternalInfo = true
        uniqueFolderNames = true
        caseInsensitiveFolderNames = true
        documentedSortsOnly = true
        rateLimitWithoutRetryAfter = true
        sizeAsStringOnly = true
        tusChunkMultiple = true
    }

    /// No faults.
    public init(
        serverErrorRate: Double = 0, rateLimitRate: Double = 0, connectionResetRate: Double = 0,
        processingFailureRate: Double = 0,
        latencyMilliseconds: Int = 0, requestsPerMinute: Int? = nil, retryAfterSeconds: Int = 1, seed: UInt64 = 1,
        lostResponseRate: Double = 0
    ) {
        self.serverErrorRate = serverErrorRate
        self.rateLimitRate = rateLimitRate
        self.connectionResetRate = connectionResetRate
        self.processingFailureRate = processingFailureRate
        self.latencyMilliseconds = latencyMilliseconds
        self.requestsPerMinute = requestsPerMinute
        self.retryAfterSeconds = retryAfterSeconds
        self.seed = seed
        self.lostResponseRate = lostResponseRate
    }

    enum CodingKeys: String, CodingKey {
        case serverErrorRate, rateLimitRate, connectionResetRate, processingFailureRate, latencyMilliseconds,
            requestsPerMinute,
            retryAfterSeconds, seed, lostResponseRate, singleUseUploadURLs, plainExpiredResponse, opaqueHash,
            strictGetFiles, relativeTusLocation,
            opaqueCursors, smallestRenditionFirst, ignoreResumableExternalInfo, uniqueFolderNames, strict,
            rateLimitWindowSeconds, documentedSortsOnly, rateLimitWithoutRetryAfter, sizeAsStringOnly,
            listingLagSeconds, tusChunkMultiple, webhookLossRate, webhookDuplicateRate, caseInsensitiveFolderNames
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(serverErrorRate, forKey: .serverErrorRate)
        try container.encode(rateLimitRate, forKey: .rateLimitRate)
        try container.encode(connectionResetRate, forKey: .connectionResetRate)
        try container.encode(processingFailureRate, forKey: .processingFailureRate)
        try container.encode(latencyMilliseconds, forKey: .latencyMilliseconds)
        try container.encodeIfPresent(requestsPerMinute, forKey: .requestsPerMinute)
        try container.encode(retryAfterSeconds, forKey: .retryAfterSeconds)
        try container.encode(seed, forKey: .seed)
        try container.encode(lostResponseRate, forKey: .lostResponseRate)
        try container.encode(singleUseUploadURLs, forKey: .singleUseUploadURLs)
        try container.encode(plainExpiredResponse, forKey: .plainExpiredResponse)
        try container.encode(opaqueHash, forKey: .opaqueHash)
        try container.encode(strictGetFiles, forKey: .strictGetFiles)
        try container.encode(relativeTusLocation, forKey: .relativeTusLocation)
        try container.encode(opaqueCursors, forKey: .opaqueCursors)
        try container.encode(smallestRenditionFirst, forKey: .smallestRenditionFirst)
        try container.encode(ignoreResumableExternalInfo, forKey: .ignoreResumableExternalInfo)
        try container.encode(uniqueFolderNames, forKey: .uniqueFolderNames)
        try container.encode(rateLimitWindowSeconds, forKey: .rateLimitWindowSeconds)
        try container.encode(documentedSortsOnly, forKey: .documentedSortsOnly)
        try container.encode(rateLimitWithoutRetryAfter, forKey: .rateLimitWithoutRetryAfter)
        try container.encode(sizeAsStringOnly, forKey: .sizeAsStringOnly)
        try container.encode(listingLagSeconds, forKey: .listingLagSeconds)
        try container.encode(tusChunkMultiple, forKey: .tusChunkMultiple)
        try container.encode(caseInsensitiveFolderNames, forKey: .caseInsensitiveFolderNames)
        try container.encode(webhookLossRate, forKey: .webhookLossRate)
        try container.encode(webhookDuplicateRate, forKey: .webhookDuplicateRate)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = FaultSettings()
        serverErrorRate =
            try container.decodeIfPresent(Double.self, forKey: .serverErrorRate) ?? defaults.serverErrorRate
        rateLimitRate = try container.decodeIfPresent(Double.self, forKey: .rateLimitRate) ?? defaults.rateLimitRate
        connectionResetRate =
            try container.decodeIfPresent(Double.self, forKey: .connectionResetRate) ?? defaults.connectionResetRate
        processingFailureRate =
            try container.decodeIfPresent(Double.self, forKey: .processingFailureRate) ?? defaults.processingFailureRate
        latencyMilliseconds =
            try container.decodeIfPresent(Int.self, forKey: .latencyMilliseconds) ?? defaults.latencyMilliseconds
        requestsPerMinute = try container.decodeIfPresent(Int.self, forKey: .requestsPerMinute)
        retryAfterSeconds =
            try container.decodeIfPresent(Int.self, forKey: .retryAfterSeconds) ?? defaults.retryAfterSeconds
        seed = try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? defaults.seed
        lostResponseRate = try container.decodeIfPresent(Double.self, forKey: .lostResponseRate) ?? 0
        rateLimitWindowSeconds = try container.decodeIfPresent(Double.self, forKey: .rateLimitWindowSeconds) ?? 60
        if try container.decodeIfPresent(Bool.self, forKey: .strict) == true { makeStrict() }
        func flag(_ key: CodingKeys, _ current: Bool) throws -> Bool {
            try container.decodeIfPresent(Bool.self, forKey: key) ?? current
        }
        singleUseUploadURLs = try flag(.singleUseUploadURLs, singleUseUploadURLs)
        plainExpiredResponse = try flag(.plainExpiredResponse, plainExpiredResponse)
        opaqueHash = try flag(.opaqueHash, opaqueHash)
        strictGetFiles = try flag(.strictGetFiles, strictGetFiles)
        relativeTusLocation = try flag(.relativeTusLocation, relativeTusLocation)
        opaqueCursors = try flag(.opaqueCursors, opaqueCursors)
        smallestRenditionFirst = try flag(.smallestRenditionFirst, smallestRenditionFirst)
        ignoreResumableExternalInfo = try flag(.ignoreResumableExternalInfo, ignoreResumableExternalInfo)
        uniqueFolderNames = try flag(.uniqueFolderNames, uniqueFolderNames)
        documentedSortsOnly = try flag(.documentedSortsOnly, documentedSortsOnly)
        rateLimitWithoutRetryAfter = try flag(.rateLimitWithoutRetryAfter, rateLimitWithoutRetryAfter)
        sizeAsStringOnly = try flag(.sizeAsStringOnly, sizeAsStringOnly)
        tusChunkMultiple = try flag(.tusChunkMultiple, tusChunkMultiple)
        caseInsensitiveFolderNames = try flag(.caseInsensitiveFolderNames, caseInsensitiveFolderNames)
        webhookLossRate = try container.decodeIfPresent(Double.self, forKey: .webhookLossRate) ?? 0
        webhookDuplicateRate = try container.decodeIfPresent(Double.self, forKey: .webhookDuplicateRate) ?? 0
        listingLagSeconds = try container.decodeIfPresent(Double.self, forKey: .listingLagSeconds) ?? 0
        guard listingLagSeconds >= 0, listingLagSeconds <= 3600 else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "listingLagSeconds must be between 0 and 3600"))
        }
        for (name, rate) in [
            ("serverErrorRate", serverErrorRate), ("rateLimitRate", rateLimitRate),
            ("connectionResetRate", connectionResetRate), ("processingFailureRate", processingFailureRate),
            ("lostResponseRate", lostResponseRate), ("webhookLossRate", webhookLossRate),
            ("webhookDuplicateRate", webhookDuplicateRate),
        ]
        where !(0...1).contains(rate) {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "\(name) must be between 0 and 1"))
        }
    }
}
