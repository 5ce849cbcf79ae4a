import Foundation
import Logging
import MediaIngest

/// One file to upload.
public struct UploadJob: Sendable {
    /// The bytes to send.
    public var path: String
    public var size: Int64
    /// Where and how (`externalInfo` goes only where Wix documents it).
    public var options: UploadOptions
    /// Files larger than this use tus.
    public var resumableAbove: Int64
    /// tus PATCH size.
    public var chunkSize: Int64
    /// When this asset's first attempt began (a lookup only considers files created after it, less clock skew).
    public var startedAt: Date
    /// Whether to take the MD5 of the bytes sent (for a check against Wix's `hash`); SHA-256 is always taken.
    public var takesMD5: Bool
    /// Holds the bytes sent to a rate (`maxBytesPerSecond`), shared with the run's other uploads; `nil`: no limit.
    public var bandwidth: ByteRateLimiter?
    /// The SHA-256 of the bytes at `path`, when the caller knows it (a lookup after a lost answer compares it with
    /// what Wix serves; otherwise it reads the file once).
    public var contentSHA256: String?

    public init(
        path: String, size: Int64, options: UploadOptions, resumableAbove: Int64, chunkSize: Int64, startedAt: Date,
        takesMD5: Bool = true, bandwidth: ByteRateLimiter? = nil, contentSHA256: String? = nil
    ) {
        self.path = path
        self.size = size
        self.options = options
        self.resumableAbove = resumableAbove
        self.chunkSize = chunkSize
        self.startedAt = startedAt
        self.takesMD5 = takesMD5
        self.bandwidth = bandwidth
        self.contentSHA256 = contentSHA256
    }
}

/// How an upload ended.
public struct UploadOutcome: Sendable {
    public var descriptor: FileDescriptor
    /// `put`, `tus`, or `found` (an earlier attempt's file, found at Wix instead of sending again).
    public var method: String
    /// What was sent, when this call sent it completely.
    public var digest: SentDigest?
    /// Attempts made (1 when the first went through).
    public var attempts: Int
}

extension WixMediaClient {
    /// Uploads a file, safely under every reading of what Wix leaves undocumented: each attempt uses a fresh upload
    /// URL (they may be single-use); after an attempt that failed or whose answer was lost, Wix is asked first
    /// whether the file arrived all the same (``findUploaded(_:)``), so a retry never makes a second copy.
    /// - Throws: ``WixClientError`` — a verdict from the upload host (400, 413, 415…), an API error, a spent budget.
    public func upload(_ job: UploadJob) async throws -> UploadOutcome {
        var attempt = 1
        var pacingRetries = 0
        while true {
            do {
                if job.size > job.resumableAbove {
                    let (url, token) = try await generateResumableUploadURL(job.options)
                    logger.debug(
                        "resumable upload", metadata: ["file": "\(job.options.fileName)", "url": "\(Self.redact(url))"])
                    let (descriptor, digest) = try await tusUpload(
                        file: job.path, size: job.size, uploadURL: url, token: token, mimeType: job.options.mimeType,
                        fileName: job.options.fileName,
                        chunkSize: job.chunkSize, md5: job.takesMD5, bandwidth: job.bandwidth)
                    answered(descriptor, digest: digest)
                    return UploadOutcome(descriptor: descriptor, method: "tus", digest: digest, attempts: attempt)
                }
                let url = try await generateUploadURL(job.options)
                let (descriptor, digest) = try await put(
                    file: job.path, size: job.size, to: url, mimeType: job.options.mimeType,
                    fileName: job.options.fileName, md5: job.takesMD5, bandwidth: job.bandwidth)
                answered(descriptor, digest: digest)
                return UploadOutcome(descriptor: descriptor, method: "put", digest: digest, attempts: attempt)
            } catch let error as WixClientError {
                // API errors were retried where they happened; what reaches here from the API host stands.
                if error.code == .http && error.host == .api { throw error }
                if error.code == .budgetExhausted { throw error }
                // The upload host's verdicts about the file itself (400, 413, 415…) stand too.
                guard error.isRetryable || error.isUnusableUploadURL else { throw error }
                // Only an attempt that sent every byte, and was not turned away (429), can have left a file at Wix:
                // any other is simply sent again.
                if !error.isIncompleteUpload, !error.isPacingHint,
                    let found = try await findUploaded(job, looks: error.code == .transport ? 2 : 1)
                {
                    logger.info(
                        "the upload arrived although its answer did not; not sending it again",
                        metadata: ["file": "\(job.options.fileName)", "wixId": "\(found.id)"])
                    return UploadOutcome(descriptor: found, method: "found", digest: nil, attempts: attempt)
                }
                if error.isPacingHint, pacingRetries < 30 {
                    // Throttled: the pacer slows the site down; no attempt or retry is spent.
                    pacingRetries += 1
                    // The pacer pauses every request, the next generate-upload-url included.
                    await pacer.throttled(retryAfter: error.retryAfter)
                    continue
                }
                guard attempt < retry.maxAttempts else { throw error }
                if !budget.take(kind: error.failureCode.rawValue, detail: "upload of \(job.options.fileName): \(error)")
                {
                    throw WixClientError.budgetExhausted(summary: budget.summary)
                }
                let delay = retry.delay(afterAttempt: attempt, retryAfter: error.retryAfter)
                logger.info(
                    "upload failed; trying again with a fresh URL",
                    metadata: [
                        "file": "\(job.options.fileName)", "attempt": "\(attempt + 1)", "error": "\(error)",
                        "delay": "\(delay)",
                    ])
                try await Task.sleep(for: delay)
                attempt += 1
            }
        }
    }

    /// Marks a file id as this run's (a lookup must not give it to another asset).
    public func claim(_ id: String) { _ = memory.claim(id) }

    /// What `hash` means on this site, as far as this run's answered uploads showed.
    public var hashReading: HashReading { memory.hashReading }

    /// An upload's answer arrived: its file is this run's, and its `hash` tells what Wix's `hash` is.
    func answered(_ descriptor: FileDescriptor, digest: SentDigest) {
        _ = memory.claim(descriptor.id)
        memory.learnHash(reported: descriptor.hash, sentMD5: digest.md5)
    }
}
