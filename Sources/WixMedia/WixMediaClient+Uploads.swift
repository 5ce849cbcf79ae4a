import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import MediaIngest
import NIOCore
import NIOFileSystem
import NIOHTTP1
import Synchronization

/// Digests of the bytes an upload sent, taken while they streamed.
public struct SentDigest: Sendable, Hashable {
    public var size: Int64
    /// Hex MD5 of the bytes sent, when asked for (``UploadJob/takesMD5``: MD5 is the dearest step of a big upload).
    public var md5: String?
    /// Hex SHA-256 of the bytes sent.
    public var sha256: String
}

extension WixMediaClient {
    /// PUTs a file to a signed upload URL, streamed from disk (`?filename=` sanitised), hashing it on the way. One
    /// request: upload URLs may be single-use, so a failed PUT is never re-sent to the same URL (see
    /// ``upload(_:)``).
    public func put(
        file path: String, size: Int64, to uploadURL: String, mimeType: String, fileName: String, md5: Bool = true,
        bandwidth: ByteRateLimiter? = nil
    ) async throws -> (
        descriptor: FileDescriptor, digest: SentDigest
    ) {
        let separator = uploadURL.contains("?") ? "&" : "?"
        var request = HTTPClientRequest(
            url: uploadURL + separator + "filename=" + Self.queryValue(UploadOptions.sanitizedFileName(fileName)))
        request.method = .PUT
        request.headers.add(name: "Content-Type", value: mimeType)
        let hasher = StreamingDigest(StreamingDigest.State(md5: md5))
        return try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(fileSystemPath: path)) { handle in
            request.body = Self.body(handle, range: 0..<size, hasher: hasher, bandwidth: bandwidth)
            let (status, headers, body): (Int, HTTPHeaders, ByteBuffer)
            do {
                (status, headers, body) = try await send(request, describe: "PUT " + Self.redact(uploadURL))
                try Self.check(status: status, headers: headers, body: body, host: .upload)
            } catch var error as WixClientError {
                // Bytes never handed over cannot have made a file.
                if hasher.count < size { error.isIncompleteUpload = true }
                throw error
            }
            let (md5, sha256) = hasher.finalize()
            return (try Self.descriptor(in: try Self.parse(body)), SentDigest(size: size, md5: md5, sha256: sha256))
        }
    }

    /// One tus 1.0.0 upload: creation, PATCHes of `chunkSize` (resuming from the server's `Upload-Offset` after a
    /// broken connection), then the finalize `PUT {uploadUrl}/{uploadToken}`. The bytes are hashed as they stream,
    /// once each, so the file is read once. A refused URL or token (``WixClientError/isUnusableUploadURL``) ends it:
    /// the caller starts over with a fresh one.
    public func tusUpload(
        file path: String, size: Int64, uploadURL: String, token: String, mimeType: String, fileName: String,
        chunkSize: Int64, md5: Bool = true, bandwidth: ByteRateLimiter? = nil
    ) async throws -> (descriptor: FileDescriptor, digest: SentDigest) {
        let committed: StreamingDigest.State
        do {
            committed = try await tusSend(
                file: path, size: size, uploadURL: uploadURL, token: token, mimeType: mimeType, fileName: fileName,
                chunkSize: chunkSize, md5: md5, bandwidth: bandwidth)
        } catch var error as WixClientError {
            // Never finalized: no file can have come of it.
            error.isIncompleteUpload = true
            throw error
        }
        let name = UploadOptions.sanitizedFileName(fileName)
        let finalizeURL = uploadURL + "/" + token + "?filename=" + Self.queryValue(name)
        var request = HTTPClientRequest(url: finalizeURL)
        request.method = .PUT
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: "{}"))
        let (finalStatus, finalHeaders, finalBody) = try await send(
            request, describe: "PUT " + Self.redact(finalizeURL))
        try Self.check(status: finalStatus, headers: finalHeaders, body: finalBody, host: .upload)
        let (md5, sha256) = StreamingDigest(committed).finalize()
        return (try Self.descriptor(in: try Self.parse(finalBody)), SentDigest(size: size, md5: md5, sha256: sha256))
    }

    /// tus creation and PATCHes up to the last byte; the digest of every byte the server kept.
    func tusSend(
        file path: String, size: Int64, uploadURL: String, token: String, mimeType: String, fileName: String,
        chunkSize: Int64, md5: Bool, bandwidth: ByteRateLimiter?
    ) async throws -> StreamingDigest.State {
        let name = UploadOptions.sanitizedFileName(fileName)
        let metadata = [("filename", name), ("contentType", mimeType), ("token", token)]
            .map { "\($0.0) \(Data($0.1.utf8).base64EncodedString())" }.joined(separator: ",")
        var create = HTTPClientRequest(url: uploadURL)
        create.method = .POST
        create.headers.add(name: "Tus-Resumable", value: "1.0.0")
        create.headers.add(name: "Upload-Length", value: String(size))
        create.headers.add(name: "Upload-Metadata", value: metadata)
        let (status, headers, body) = try await send(create, describe: "tus create")
        try Self.check(status: status, headers: headers, body: body, host: .upload)
        guard let locationHeader = headers.first(name: "Location") else {
            throw WixClientError.malformedResponse("tus creation without Location")
        }
        // tus allows a relative Location: resolve it against the creation URL.
        guard let location = URL(string: locationHeader, relativeTo: URL(string: uploadURL))?.absoluteURL.absoluteString
        else {
            throw WixClientError.malformedResponse("tus creation with an unusable Location \"\(locationHeader)\"")
        }

        // The digest of bytes [0, committed) is exact; a PATCH that broke is re-hashed from there.
        var committed = StreamingDigest.State(md5: md5)
        var offset: Int64 = 0
        var failures = 0
        // Every PATCH but the last ends on a multiple of 256 KiB (Google-style resumable stores behind Wix's token
        // require it), also after the server kept a part of a chunk.
        let unit = Self.tusChunkUnit
        let chunk = max(unit, chunkSize - chunkSize % unit)
        while offset < size {
            let end = min(size, offset - offset % unit + chunk)
            let hasher = StreamingDigest(committed)
            do {
                let reached = try await patch(
                    location: location, file: path, range: offset..<end, hasher: hasher, bandwidth: bandwidth)
                guard reached == end else {
                    // The server kept fewer bytes than sent: catch the digest up from its offset.
                    committed = try await Self.digest(path, from: offset, to: reached, continuing: committed)
                    offset = reached
                    continue
                }
                committed = hasher.state
                offset = end
                failures = 0
            } catch let error as WixClientError where error.isRetryable || error.isOffsetMismatch {
                failures += 1
                guard failures < retry.maxAttempts else { throw error }
                if error.isOffsetMismatch {
                    // tus 409: the server holds another offset than the PATCH said (an earlier PATCH landed after
                    // all). Ask it where it stands and go on from there: no reason to start the upload over.
                    logger.info("tus offset mismatch; asking the server", metadata: ["offset": "\(offset)"])
                } else {
                    guard budget.take(kind: error.failureCode.rawValue, detail: "tus PATCH: \(error)") else {
                        throw WixClientError.budgetExhausted(summary: budget.summary)
                    }
                    logger.info(
                        "tus chunk interrupted; resuming", metadata: ["offset": "\(offset)", "error": "\(error)"])
                    try await Task.sleep(for: retry.delay(afterAttempt: failures, retryAfter: error.retryAfter))
                }
                let resumed = try await tusOffset(location: location)
                guard resumed >= offset, resumed <= end else {
                    throw WixClientError.malformedResponse("tus HEAD offset \(resumed) outside \(offset)…\(end)")
                }
                committed = try await Self.digest(path, from: offset, to: resumed, continuing: committed)
                offset = resumed
            }
        }
        return committed
    }

    /// What every tus PATCH but the last is a multiple of: 256 KiB.
    public static let tusChunkUnit: Int64 = 256 * 1024

    func patch(
        location: String, file path: String, range: Range<Int64>, hasher: StreamingDigest, bandwidth: ByteRateLimiter?
    ) async throws -> Int64 {
        var request = HTTPClientRequest(url: location)
        request.method = .PATCH
        request.headers.add(name: "Tus-Resumable", value: "1.0.0")
        request.headers.add(name: "Upload-Offset", value: String(range.lowerBound))
        request.headers.add(name: "Content-Type", value: "application/offset+octet-stream")
        return try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(fileSystemPath: path)) { handle in
            request.body = Self.body(handle, range: range, hasher: hasher, bandwidth: bandwidth)
            let (status, headers, body) = try await send(request, describe: "tus PATCH")
            try Self.check(status: status, headers: headers, body: body, host: .upload)
            guard let offset = headers.first(name: "Upload-Offset").flatMap({ Int64($0) }) else {
                throw WixClientError.malformedResponse("tus PATCH without Upload-Offset")
            }
            return offset
        }
    }

    /// A request body streaming bytes `range` of a file in 256 KiB chunks, hashed as async-http-client pulls them, and
    /// — with a limit — each chunk waiting for `bandwidth` first (without one, the path is exactly the plain stream).
    static func body(
        _ handle: ReadFileHandle, range: Range<Int64>, hasher: StreamingDigest, bandwidth: ByteRateLimiter?
    ) -> HTTPClientRequest.Body {
        let chunks = handle.readChunks(in: range, chunkLength: .kibibytes(256))
        let length = HTTPClientRequest.Body.Length.known(Int64(range.count))
        guard let bandwidth else {
            return .stream(
                chunks.map { chunk -> ByteBuffer in
                    hasher.update(chunk)
                    return chunk
                }, length: length)
        }
        return .stream(
            chunks.map { chunk -> ByteBuffer in
                try await bandwidth.take(chunk.readableBytes)
                hasher.update(chunk)
                return chunk
            }, length: length)
    }

    func tusOffset(location: String) async throws -> Int64 {
        try await withRetries(describe: "tus HEAD") {
            var request = HTTPClientRequest(url: location)
            request.method = .HEAD
            request.headers.add(name: "Tus-Resumable", value: "1.0.0")
            let (status, headers, body) = try await self.send(request, describe: "tus HEAD")
            try Self.check(status: status, headers: headers, body: body, host: .upload)
            guard let offset = headers.first(name: "Upload-Offset").flatMap({ Int64($0) }) else {
                throw WixClientError.malformedResponse("tus HEAD without Upload-Offset")
            }
            return offset
        }
    }

    /// Continues a digest over bytes [start, end) of a file.
    static func digest(
        _ path: String, from start: Int64, to end: Int64, continuing state: StreamingDigest.State
    ) async throws -> StreamingDigest.State {
        guard end > start else { return state }
        let hasher = StreamingDigest(state)
        try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(fileSystemPath: path)) { handle in
            for try await chunk in handle.readChunks(in: start..<end, chunkLength: .mebibytes(1)) {
                hasher.update(chunk)
            }
        }
        return hasher.state
    }
}

/// MD5 and SHA-256 of a request body as AsyncHTTPClient pulls it, chunk by chunk, in order (one stream, one
/// consumer; the lock is for the compiler, not for contention).
final class StreamingDigest: Sendable {
    /// The running digest (``RunningDigest``), mutated only inside the lock or by the one task that owns a copy.
    typealias State = RunningDigest

    private let lock: Mutex<State>

    init(_ state: State) { lock = Mutex(state) }

    var state: State { lock.withLock { $0 } }

    /// Bytes hashed so far.
    var count: Int64 { lock.withLock { $0.count } }

    func update(_ chunk: ByteBuffer) {
        lock.withLock { state in chunk.withUnsafeReadableBytes { state.update($0) } }
    }

    func finalize() -> (md5: String?, sha256: String) {
        let state = lock.withLock { $0 }
        return (state.md5Hex, state.sha256Hex)
    }
}

extension FilePath {
    /// The path's original bytes (a name that is not UTF-8 included: see `FileName`).
    init(fileSystemPath path: String) {
        self = path.withPlatformPath { FilePath(platformString: $0) }
    }
}
