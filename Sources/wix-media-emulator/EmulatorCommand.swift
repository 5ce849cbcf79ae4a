import ArgumentParser
import Foundation
import Logging
import WixMediaEmulator

/// `wix-media-emulator`: a local Wix Media Manager for trying pipelines without an account, and for tests.
@main
struct EmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wix-media-emulator",
        abstract: "A Wix Media Manager emulator: the documented upload, import and file APIs on a local port.",
        discussion: """
            Clients talk to it as they would to https://www.wixapis.com: set the base URL to http://HOST:PORT. \
            Files, descriptors and the token signing key live under --data, so a restart keeps everything. \
            Admin endpoints (outside the Wix paths): GET /_emulator/files, GET /_emulator/requests, \
            GET|POST /_emulator/faults, POST /_emulator/reset, GET /_emulator/health.
            """)

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind (0 picks a free one).") var port = 8787
    @Option(help: "Data folder (created if missing).") var data = "./.emulator"
    @Option(help: "API key clients must send in Authorization.") var apiKey = "emulator-api-key"
    @Option(help: "Site id clients must send in wix-site-id.") var siteId = "emulator-site-id"
    @Option(help: "Base URL written into upload and file URLs (default http://HOST:PORT).") var publicUrl: String?
    @Option(help: "Lifetime of upload URLs, in seconds.") var uploadUrlTtl: Double = 86_400
    @Option(help: "Lifetime of resumable upload tokens, in seconds.") var resumableTokenTtl: Double = 7 * 86_400
    @Option(help: "Seconds images stay PENDING after upload.") var imageDelay: Double = 0
    @Option(help: "Seconds video and audio stay PENDING after upload.") var mediaDelay: Double = 2
    @Option(help: "Seconds documents and other files stay PENDING.") var otherDelay: Double = 0
    @Option(help: "Share (0–1) of API and upload requests answered 500/503.") var failRate: Double = 0
    @Option(help: "Share (0–1) of requests answered 429 with Retry-After.") var rateLimitRate: Double = 0
    @Option(help: "Share (0–1) of PUT/PATCH uploads whose connection is reset mid-body.") var resetRate: Double = 0
    @Option(help: "Share (0–1) of uploads whose processing ends FAILED.") var processingFailRate: Double = 0
    @Option(help: "Milliseconds added to every API and upload request.") var latency: Int = 0
    @Option(help: "Requests per minute per API key before 429s (Wix documents 200).") var requestsPerMinute: Int?
    @Option(help: "Retry-After seconds sent with 429s.") var retryAfter: Int = 1
    @Option(help: "Seed of the fault dice.") var seed: UInt64 = 1
    @Option(help: "URL to POST File Ready / File Failed events to.") var webhook: String?
    @Option(help: "Largest upload accepted, in bytes.") var maxUploadBytes: Int64 = 8 << 30
    @Option(
        help:
            "Share (0–1) of uploads (PUT, tus finalize) and imports stored but whose answer is lost (the connection drops)."
    )
    var lostResponseRate: Double = 0
    @Flag(help: "Every stricter reading of what Wix's docs leave open (the flags below).") var strict = false
    @Flag(help: "Upload URLs and tus tokens work once; a second use gets 429 with no code.") var singleUseUrls = false
    @Flag(
        name: .customLong("plain-expired-403"),
        help: "An expired or unknown upload token gets a plain 403 with no code.") var plainExpired403 = false
    @Flag(help: "hash is 32 hex characters that are not the MD5.") var opaqueHash = false
    @Flag(help: "get-files answers 404 for the whole batch when any id is unknown.") var strictGetFiles = false
    @Flag(help: "tus creation answers with a relative Location.") var relativeTusLocation = false
    @Flag(help: "List cursors hold +, / and =.") var opaqueCursors = false
    @Flag(help: "Video renditions are listed smallest first.") var renditionsSmallestFirst = false
    @Flag(help: "externalInfo on generate-resumable-upload-url is ignored.") var ignoreResumableExternalInfo = false
    @Flag(help: "Create Folder refuses a second folder of one name in one parent (409 ALREADY_EXISTS).")
    var uniqueFolderNames = false
    @Flag(help: "List Files and Search Files refuse sort fields no Wix page lists (400), createdDate among them.")
    var documentedSortsOnly = false
    @Flag(name: .customLong("rate-limit-no-retry-after"), help: "429s carry no Retry-After header.")
    var rateLimitNoRetryAfter = false
    @Flag(help: "sizeInBytes in requests must be a decimal string (otherwise a number is accepted too).")
    var sizeAsStringOnly = false
    @Flag(help: "tus PATCHes other than the last must end on a multiple of 256 KiB (400 otherwise).")
    var tusChunkMultiple = false
    @Flag(help: "Folder names are compared without case (filePath and, with unique names, Create Folder).")
    var caseInsensitiveFolderNames = false
    @Option(help: "Seconds before a new file appears in List Files and Search Files (not part of --strict).")
    var listingLag: Double = 0
    @Option(help: "Share (0–1) of File Ready / File Failed events never delivered.") var webhookLossRate: Double = 0
    @Option(help: "Share (0–1) of events delivered twice.") var webhookDuplicateRate: Double = 0
    @Option(help: "The app id whose OAuth client credentials /oauth2/token accepts.") var appId = "emulator-app-id"
    @Option(help: "The app secret.") var appSecret = "emulator-app-secret"
    @Option(help: "The app instance id.") var instanceId = "emulator-instance-id"
    @Option(help: "Lifetime of OAuth access tokens, in seconds.") var accessTokenTtl: Double = 14_400
    @Option(help: "Log level (trace, debug, info, notice, warning, error).") var logLevel = "info"

    func validate() throws {
        for (name, rate) in [
            ("--fail-rate", failRate), ("--rate-limit-rate", rateLimitRate), ("--reset-rate", resetRate),
            ("--processing-fail-rate", processingFailRate), ("--lost-response-rate", lostResponseRate),
            ("--webhook-loss-rate", webhookLossRate), ("--webhook-duplicate-rate", webhookDuplicateRate),
        ]
        where !(0...1).contains(rate) {
            throw ValidationError("\(name) must be between 0 and 1, got \(rate)")
        }
        guard (0...3600).contains(listingLag) else {
            throw ValidationError("--listing-lag must be between 0 and 3600 seconds, got \(listingLag)")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        var faults = FaultSettings(
            serverErrorRate: failRate, rateLimitRate: rateLimitRate, connectionResetRate: resetRate,
            processingFailureRate: processingFailRate,
            latencyMilliseconds: latency, requestsPerMinute: requestsPerMinute, retryAfterSeconds: retryAfter,
            seed: seed, lostResponseRate: lostResponseRate)
        if strict { faults.makeStrict() }
        faults.singleUseUploadURLs = faults.singleUseUploadURLs || singleUseUrls
        faults.plainExpiredResponse = faults.plainExpiredResponse || plainExpired403
        faults.opaqueHash = faults.opaqueHash || opaqueHash
        faults.strictGetFiles = faults.strictGetFiles || strictGetFiles
        faults.relativeTusLocation = faults.relativeTusLocation || relativeTusLocation
        faults.opaqueCursors = faults.opaqueCursors || opaqueCursors
        faults.smallestRenditionFirst = faults.smallestRenditionFirst || renditionsSmallestFirst
        faults.ignoreResumableExternalInfo = faults.ignoreResumableExternalInfo || ignoreResumableExternalInfo
        faults.uniqueFolderNames = faults.uniqueFolderNames || uniqueFolderNames
        faults.documentedSortsOnly = faults.documentedSortsOnly || documentedSortsOnly
        faults.rateLimitWithoutRetryAfter = faults.rateLimitWithoutRetryAfter || rateLimitNoRetryAfter
        faults.sizeAsStringOnly = faults.sizeAsStringOnly || sizeAsStringOnly
        faults.tusChunkMultiple = faults.tusChunkMultiple || tusChunkMultiple
        faults.caseInsensitiveFolderNames = faults.caseInsensitiveFolderNames || caseInsensitiveFolderNames
        faults.listingLagSeconds = listingLag
        faults.webhookLossRate = webhookLossRate
        faults.webhookDuplicateRate = webhookDuplicateRate
        let configuration = EmulatorConfiguration(
            apiKey: apiKey, siteID: siteId, dataDirectory: data, host: host, port: port, publicBaseURL: publicUrl,
            uploadURLLifetime: .milliseconds(Int64(uploadUrlTtl * 1000)),
            resumableTokenLifetime: .milliseconds(Int64(resumableTokenTtl * 1000)),
            imageProcessingDelay: .milliseconds(Int64(imageDelay * 1000)),
            mediaProcessingDelay: .milliseconds(Int64(mediaDelay * 1000)),
            otherProcessingDelay: .milliseconds(Int64(otherDelay * 1000)), faults: faults, webhookURL: webhook,
            maxUploadBytes: maxUploadBytes)
        var settings = configuration
        settings.appID = appId
        settings.appSecret = appSecret
        settings.instanceID = instanceId
        settings.accessTokenLifetime = .milliseconds(Int64(accessTokenTtl * 1000))
        let emulator = WixMediaEmulator(configuration: settings)
        try await emulator.run { url in
            FileHandle.standardOutput.write(Data("wix-media-emulator listening on \(url) (data: \(data))\n".utf8))
        }
    }
}
