import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import MediaIngest
import NIOCore
import NIOFileSystem
import NIOHTTP1
import Synchronization

/// A client for the Wix Media Manager REST API and its upload endpoints, over async-http-client: one pooled,
/// keep-alive client, request bodies streamed from disk, retries with backoff and a per-run budget.
///
/// The API key goes only into `Authorization` headers; it is never logged, and upload URLs are logged with their
/// token replaced (``redact(_:)``).
public final class WixMediaClient: Sendable {
    /// `https://www.wixapis.com`, or the emulator's address.
    public let baseURL: String
    let apiKey: String
    let siteID: String
    let http: HTTPClient
    let retry: RetryPolicy
    let budget: RetryBudget
    let requestTimeout: TimeAmount
    let logger: Logger

    /// Creates a client with its own connection pool; call ``shutdown()`` when done.
    public init(
        baseURL: String, apiKey: String, siteID: String, retry: RetryPolicy = RetryPolicy(), budget: RetryBudget = RetryBudget(100),
        connections: Int = 8, requestTimeout: Duration = .seconds(60), logger: Logger
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.siteID = siteID
        self.retry = retry
        self.budget = budget
        let seconds = requestTimeout.components.seconds
        self.requestTimeout = .seconds(max(1, seconds))
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: .seconds(10), read: .seconds(max(1, seconds))),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connections)),
            decompression: .disabled)
        configuration.httpVersion = .http1Only
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.logger = logger
    }

    /// Closes the connection pool.
    public func shutdown() async throws { try await http.shutdown() }

    /// An upload URL with its signed token replaced, for logs.
    public static func redact(_ url: String) -> String {
        guard let range = url.range(of: "/upload/") else { return url }
        let rest = url[range.upperBound...]
        if rest.hasPrefix("tus") {
            let tail = rest.dropFirst(3)
            return String(url[..<range.upperBound]) + "tus" + (tail.isEmpty ? "" : "/<token>")
        }
        return String(url[..<range.upperBound]) + "<token>"
    }

    // MARK: API calls

    /// `POST /site-media/v1/files/generate-upload-url` → the signed upload URL.
    public func generateUploadURL(_ options: UploadOptions) async throws -> String {
        let reply = try await api(.POST, "/site-media/v1/files/generate-upload-url", body: options.generateBody)
        guard let url = reply["uploadUrl"]?.stringValue else { throw WixClientError.malformedResponse("generate-upload-url returned no uploadUrl") }
        return url
    }

    /// `POST /site-media/v1/files/generate-resumable-upload-url` → the tus endpoint and the single-use token.
    public func generateResumableUploadURL(_ options: UploadOptions) async throws -> (uploadURL: String, token: String) {
        var body = options.generateBody
        if case .object(var members) = body {
            members["uploadProtocol"] = "TUS"
            body = .object(members)
        }
        let reply = try await api(.POST, "/site-media/v1/files/generate-resumable-upload-url", body: body)
        guard let url = reply["uploadUrl"]?.stringValue, let token = reply["uploadToken"]?.stringValue else {
            throw WixClientError.malformedResponse("generate-resumable-upload-url returned no uploadUrl/uploadToken")
        }
        return (url, token)
    }

    /// `POST /site-media/v1/files/import`: Wix fetches `url` itself.
    public func importFile(url: String, options: UploadOptions) async throws -> FileDescriptor {
        guard case .object(var body) = options.generateBody else { throw WixClientError.malformedResponse("request") }
        body["url"] = .string(url)
        body["displayName"] = body.removeValue(forKey: "fileName")
        body.removeValue(forKey: "sizeInBytes")
        let reply = try await api(.POST, "/site-media/v1/files/import", body: .object(body))
        return try Self.descriptor(in: reply)
    }

    /// `GET /site-media/v1/files/get-file-by-id?fileId=…`.
    public func file(id: String) async throws -> FileDescriptor {
        let escaped = id.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(["&", "+", "=", "#"])) ?? id
        return try Self.descriptor(in: try await api(.GET, "/site-media/v1/files/get-file-by-id?fileId=\(escaped)", body: nil))
    }

    /// `POST /site-media/v1/files/get-files` for up to 100 ids; files not found are left out.
    public func files(ids: [String]) async throws -> [FileDescriptor] {
        let reply = try await api(.POST, "/site-media/v1/files/get-files", body: ["fileIds": .array(ids.map { .string($0) })])
        return try (reply["files"]?.arrayValue ?? []).map { try FileDescriptor(json: $0) }
    }

    /// `GET /site-media/v1/files` for one folder, newest first, one page.
    public func listFiles(parentFolderId: String = "media-root", limit: Int = 100, cursor: String? = nil) async throws -> (files: [FileDescriptor], next: String?) {
        var path = "/site-media/v1/files?parentFolderId=\(parentFolderId)&paging.limit=\(limit)&sort.fieldName=updatedDate&sort.order=DESC"
        if let cursor { path += "&paging.cursor=\(cursor)" }
        let reply = try await api(.GET, path, body: nil)
        let files = try (reply["files"]?.arrayValue ?? []).map { try FileDescriptor(json: $0) }
        return (files, reply["nextCursor"]?["cursors"]?["next"]?.stringValue)
    }

    static func descriptor(in reply: JSONValue) throws -> FileDescriptor {
        guard let file = reply["file"] else { throw WixClientError.malformedResponse("no file in the answer") }
        return try FileDescriptor(json: file)
    }

    // MARK: Uploads

    /// PUTs a file to a signed upload URL, streamed from disk (`?filename=` sanitised). One attempt; the caller
    /// retries (it may need a fresh URL).
    public func put(file path: String, size: Int64, to uploadURL: String, mimeType: String, fileName: String) async throws -> FileDescriptor {
        try await putHashing(file: path, size: size, to: uploadURL, mimeType: mimeType, fileName: fileName).descriptor
    }

    /// Like ``put(file:size:to:mimeType:fileName:)``, and also returns the hex MD5 of the bytes sent, computed while
    /// they stream (what Wix's `hash` is checked against), so the file is read once.
    public func putHashing(file path: String, size: Int64, to uploadURL: String, mimeType: String, fileName: String) async throws -> (
        descriptor: FileDescriptor, md5: String
    ) {
        let separator = uploadURL.contains("?") ? "&" : "?"
        let name = UploadOptions.sanitizedFileName(fileName).addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(["&", "+", "=", "#"])) ?? "file"
        var request = HTTPClientRequest(url: uploadURL + separator + "filename=" + name)
        request.method = .PUT
        request.headers.add(name: "Content-Type", value: mimeType)
        let hasher = StreamingMD5()
        return try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
            let chunks = handle.readChunks(in: 0..<size, chunkLength: .kibibytes(256)).map { chunk -> ByteBuffer in
                hasher.update(chunk)
                return chunk
            }
            request.body = .stream(chunks, length: .known(size))
            let (status, headers, body) = try await send(request, describe: "PUT " + Self.redact(uploadURL))
            try Self.check(status: status, headers: headers, body: body)
            return (try Self.descriptor(in: try Self.parse(body)), hasher.finalize())
        }
    }

    /// Uploads a file with tus 1.0.0 (creation, then PATCH in chunks, resuming from the server's offset after a
    /// broken connection), then finalizes with `PUT {uploadUrl}/{uploadToken}`.
    public func tusUpload(
        file path: String, size: Int64, uploadURL: String, token: String, mimeType: String, fileName: String, chunkSize: Int64
    ) async throws -> FileDescriptor {
        let name = UploadOptions.sanitizedFileName(fileName)
        let metadata = [("filename", name), ("contentType", mimeType), ("token", token)]
            .map { "\($0.0) \(Data($0.1.utf8).base64EncodedString())" }.joined(separator: ",")
        let location = try await withRetries(describe: "tus create") {
            var request = HTTPClientRequest(url: uploadURL)
            request.method = .POST
            request.headers.add(name: "Tus-Resumable", value: "1.0.0")
            request.headers.add(name: "Upload-Length", value: String(size))
            request.headers.add(name: "Upload-Metadata", value: metadata)
            let (status, headers, body) = try await send(request, describe: "tus create")
            try Self.check(status: status, headers: headers, body: body)
            guard let location = headers.first(name: "Location") else { throw WixClientError.malformedResponse("tus creation without Location") }
            return location.hasPrefix("http") ? location : Self.origin(of: uploadURL) + location
        }
        var offset: Int64 = 0
        var failures = 0
        while offset < size {
            let end = min(size, offset + chunkSize)
            do {
                offset = try await patch(location: location, file: path, range: offset..<end)
                failures = 0
            } catch let error as WixClientError where error.isRetryable {
                failures += 1
                guard failures < retry.maxAttempts, budget.take() else { throw failures < retry.maxAttempts ? WixClientError.budgetExhausted(last: error.description) : error }
                logger.info("tus chunk interrupted; resuming", metadata: ["offset": "\(offset)", "error": "\(error)"])
                try await Task.sleep(for: retry.delay(afterAttempt: failures, retryAfter: error.retryAfter))
                offset = try await withRetries(describe: "tus HEAD") { try await self.tusOffset(location: location) }
            }
        }
        let finalizeURL = uploadURL + "/" + token + "?filename=" + (name.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(["&", "+", "=", "#"])) ?? "file")
        return try await withRetries(describe: "tus finalize") {
            var request = HTTPClientRequest(url: finalizeURL)
            request.method = .PUT
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: "{}"))
            let (status, headers, body) = try await send(request, describe: "PUT " + Self.redact(finalizeURL))
            try Self.check(status: status, headers: headers, body: body)
            return try Self.descriptor(in: try Self.parse(body))
        }
    }

    func patch(location: String, file path: String, range: Range<Int64>) async throws -> Int64 {
        var request = HTTPClientRequest(url: location)
        request.method = .PATCH
        request.headers.add(name: "Tus-Resumable", value: "1.0.0")
        request.headers.add(name: "Upload-Offset", value: String(range.lowerBound))
        request.headers.add(name: "Content-Type", value: "application/offset+octet-stream")
        return try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
            request.body = .stream(handle.readChunks(in: range, chunkLength: .kibibytes(256)), length: .known(Int64(range.count)))
            let (status, headers, body) = try await send(request, describe: "tus PATCH")
            try Self.check(status: status, headers: headers, body: body)
            guard let offset = headers.first(name: "Upload-Offset").flatMap({ Int64($0) }) else {
                throw WixClientError.malformedResponse("tus PATCH without Upload-Offset")
            }
            return offset
        }
    }

    func tusOffset(location: String) async throws -> Int64 {
        var request = HTTPClientRequest(url: location)
        request.method = .HEAD
        request.headers.add(name: "Tus-Resumable", value: "1.0.0")
        let (status, headers, body) = try await send(request, describe: "tus HEAD")
        try Self.check(status: status, headers: headers, body: body)
        guard let offset = headers.first(name: "Upload-Offset").flatMap({ Int64($0) }) else { throw WixClientError.malformedResponse("tus HEAD without Upload-Offset") }
        return offset
    }

    // MARK: Plumbing

    /// A Wix API call with authentication, JSON body and retries.
    func api(_ method: HTTPMethod, _ path: String, body: JSONValue?) async throws -> JSONValue {
        try await withRetries(describe: "\(method) \(path.split(separator: "?").first ?? "")") {
            var request = HTTPClientRequest(url: self.baseURL + path)
            request.method = method
            request.headers.add(name: "Authorization", value: self.apiKey)
            request.headers.add(name: "wix-site-id", value: self.siteID)
            request.headers.add(name: "Accept", value: "application/json")
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: body.jsonText()))
            }
            let (status, headers, reply) = try await self.send(request, describe: "\(method) \(path)")
            try Self.check(status: status, headers: headers, body: reply)
            return try Self.parse(reply)
        }
    }

    /// Runs `operation`, retrying retryable errors with backoff until the attempts or the run's budget run out.
    public func withRetries<T: Sendable>(describe: String, _ operation: @Sendable () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await operation()
            } catch let error as WixClientError where error.isRetryable && attempt < retry.maxAttempts {
                guard budget.take() else { throw WixClientError.budgetExhausted(last: "\(describe): \(error)") }
                let delay = retry.delay(afterAttempt: attempt, retryAfter: error.retryAfter)
                logger.info("retrying", metadata: ["request": "\(describe)", "attempt": "\(attempt + 1)", "error": "\(error)", "delay": "\(delay)"])
                try await Task.sleep(for: delay)
                attempt += 1
            }
        }
    }

    /// Sends one request and reads the (small) answer; transport failures become ``WixClientError/transport(_:)``.
    func send(_ request: HTTPClientRequest, describe: String) async throws -> (Int, HTTPHeaders, ByteBuffer) {
        do {
            let response = try await http.execute(request, deadline: .now() + .hours(24))
            let body = try await response.body.collect(upTo: 16 << 20)
            return (Int(response.status.code), response.headers, body)
        } catch let error as WixClientError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw WixClientError.transport("\(describe): \(error)")
        }
    }

    static func check(status: Int, headers: HTTPHeaders, body: ByteBuffer) throws {
        guard !(200..<300).contains(status) else { return }
        let json = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))
        let code = json?["details"]?["applicationError"]?["code"]?.stringValue
        var message = json?["message"]?.stringValue ?? String(decoding: body.readableBytesView.prefix(200), as: UTF8.self)
        if let violations = json?["details"]?["validationError"]?["fieldViolations"]?.arrayValue, !violations.isEmpty {
            message = violations.map { "\($0["field"]?.stringValue ?? "?"): \($0["description"]?.stringValue ?? "invalid")" }.joined(separator: "; ")
        }
        let retryAfter = headers.first(name: "Retry-After").flatMap { Double($0) }
        throw WixClientError.http(status: status, code: code, message: message.isEmpty ? "HTTP \(status)" : message, retryAfter: retryAfter)
    }

    static func parse(_ body: ByteBuffer) throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))
        } catch {
            throw WixClientError.malformedResponse("the answer is not JSON")
        }
    }

    static func origin(of url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return "" }
        return "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")"
    }
}

extension WixClientError {
    var retryAfter: Double? {
        if case .http(_, _, _, let retryAfter) = self { return retryAfter }
        return nil
    }
}

/// MD5 of a request body as AsyncHTTPClient pulls it, chunk by chunk, in order (one stream, one consumer).
final class StreamingMD5: Sendable {
    private let state = Mutex(Insecure.MD5())

    func update(_ chunk: ByteBuffer) {
        state.withLock { md5 in chunk.withUnsafeReadableBytes { md5.update(bufferPointer: $0) } }
    }

    func finalize() -> String {
        let digest = state.withLock { $0.finalize() }
        return digest.map { String(format: "%02x", $0) }.joined()
    }
}
