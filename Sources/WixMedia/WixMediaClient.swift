import AsyncHTTPClient
import Foundation
import Logging
import MediaIngest
import NIOCore
import NIOHTTP1
import Synchronization

/// A client for the Wix Media Manager REST API and its upload endpoints, over async-http-client: one pooled,
/// keep-alive client per site and run — shared by `upload.wix` and `wix.await-ready` — with one request pacer, one
/// retry budget and one authorizer (API key, or OAuth tokens refreshed before they expire).
///
/// What the client relies on is what Wix documents, and no more (see `docs/wix-media-api.md`): upload URLs and
/// tus tokens may be single-use, so a failed upload is never re-sent to the same URL; upload-host errors never
/// mean "credentials refused"; `hash` is not assumed to be an MD5; cursors are opaque; a tus `Location` may be
/// relative; `get-files` may refuse a batch with an unknown id.
///
/// The credentials go only into `Authorization` headers; they are never logged, and upload URLs are logged with their
/// token replaced (``redact(_:)``).
public final class WixMediaClient: Sendable, RunResource {
    /// `https://www.wixapis.com`, or the emulator's address.
    public let baseURL: String
    let http: HTTPClient
    let authorizer: WixAuthorizer
    public let retry: RetryPolicy
    public let budget: RetryBudget
    public let pacer: RequestPacer
    let requestTimeout: TimeAmount
    /// One permit per pooled connection: requests beyond them wait here, as long as it takes and cancellably, not in
    /// async-http-client's queue, which fails a request that waited longer than the connect timeout for a connection
    /// (`getConnectionFromPoolTimeout`) — a busy pool is not a failing Wix.
    let slots: AsyncSemaphore
    let logger: Logger
    /// Ids of files this run uploaded or recovered (never claimed twice by a lookup).
    let memory = ClientMemory()
    /// The folders this run found or created, by parent and name.
    let folders = FolderDirectory()

    /// Creates a client with its own connection pool; call ``shutdown()`` when done.
    /// - Parameters:
    ///   - connections: requests sent at once (the pool keeps one connection more, for token requests); more callers
    ///     wait their turn, without a time limit.
    ///   - requestTimeout: how long an answer may keep the client waiting once a request has been sent.
    ///   - connectTimeout: how long opening a connection may take.
    public init(
        baseURL: String, authorization: WixAuthorization, retry: RetryPolicy = RetryPolicy(),
        budget: RetryBudget = RetryBudget(base: 50, perAsset: 0.5),
        pacer: RequestPacer = RequestPacer(), connections: Int = 8, requestTimeout: Duration = .seconds(60),
        connectTimeout: Duration = .seconds(10), logger: Logger
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.retry = retry
        self.budget = budget
        self.pacer = pacer
        let seconds = requestTimeout.components.seconds
        self.requestTimeout = .seconds(max(1, seconds))
        slots = AsyncSemaphore(limit: max(1, connections))
        let connect = TimeAmount.milliseconds(max(1, Int64(connectTimeout / .milliseconds(1))))
        // One connection more than permits: the authorizer's token request goes outside them.
        var configuration = HTTPClient.Configuration(
            timeout: .init(connect: connect, read: .seconds(max(1, seconds))),
            connectionPool: .init(
                idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, connections) + 1),
            decompression: .disabled)
        configuration.httpVersion = .http1Only
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.http = http
        self.authorizer = WixAuthorizer(authorization, baseURL: self.baseURL, http: http)
        self.logger = logger
    }

    /// An API-key client (the common case).
    public convenience init(
        baseURL: String, apiKey: String, siteID: String, retry: RetryPolicy = RetryPolicy(),
        budget: RetryBudget = RetryBudget(base: 50, perAsset: 0.5),
        connections: Int = 8, requestTimeout: Duration = .seconds(60), connectTimeout: Duration = .seconds(10),
        logger: Logger
    ) {
        self.init(
            baseURL: baseURL, authorization: .apiKey(key: apiKey, siteID: siteID), retry: retry, budget: budget,
            connections: connections, requestTimeout: requestTimeout, connectTimeout: connectTimeout, logger: logger)
    }

    /// Closes the connection pool.
    public func shutdown() async throws { try await http.shutdown() }

    public func close() async { try? await shutdown() }

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

    // MARK: Plumbing

    static let tokenRefusedMessage = "access token refused; fetching a new one"

    /// A Wix API call: paced, authorized, JSON in and out, retried.
    /// With `retrying: false`, only a 429 or a refused access token is sent again (neither was acted on); any other
    /// failure is the caller's to resolve (a POST that is not idempotent).
    func api(_ method: HTTPMethod, _ path: String, body: JSONValue?, retrying: Bool = true) async throws -> JSONValue {
        let name = "\(method) \(path.split(separator: "?").first ?? "")"
        let refreshedToken = Mutex(false)
        return try await withRetries(describe: name, retrying: retrying) {
            try await self.pacer.acquire()
            var request = HTTPClientRequest(url: self.baseURL + path)
            request.method = method
            for (header, value) in try await self.authorizer.headers() {
                request.headers.add(name: header, value: value)
            }
            request.headers.add(name: "Accept", value: "application/json")
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: body.jsonText()))
            }
            let (status, headers, reply) = try await self.send(request, describe: name)
            if status == 401, case .oauth = self.authorizer.authorization, !refreshedToken.withLock({ $0 }) {
                // An access token can be revoked or expire early: one fresh token, then the answer stands.
                refreshedToken.withLock { $0 = true }
                await self.authorizer.invalidate()
                throw WixClientError.http(
                    status: 503, code: nil, message: Self.tokenRefusedMessage, retryAfter: 0,
                    host: .api)
            }
            try Self.check(status: status, headers: headers, body: reply, host: .api)
            return try Self.parse(reply)
        }
    }

    /// Runs `operation`, retrying what may pass with backoff until the request's attempts or the run's budget run
    /// out. A 429 with `Retry-After` slows the whole site down (the pacer) and is retried without spending either.
    public func withRetries<T: Sendable>(
        describe: String, retrying: Bool = true, _ operation: @Sendable () async throws -> T
    ) async throws -> T {
        var attempt = 1
        var pacingRetries = 0
        while true {
            do {
                return try await operation()
            } catch let error as WixClientError where error.isPacingHint && pacingRetries < 30 {
                pacingRetries += 1
                // The pacer pauses every request: for Retry-After, or for its own backoff when there is none.
                await pacer.throttled(retryAfter: error.retryAfter)
                logger.debug(
                    "throttled; pacing requests",
                    metadata: ["request": "\(describe)", "retryAfter": "\(error.retryAfter ?? 0)"])
            } catch let error as WixClientError
                where error.isRetryable && attempt < retry.maxAttempts
                && (retrying || error.message == Self.tokenRefusedMessage)
            {
                if error.code == .http && error.status == 429 { await pacer.throttled(retryAfter: nil) }
                guard budget.take(kind: error.failureCode.rawValue, detail: "\(describe): \(error)") else {
                    throw WixClientError.budgetExhausted(summary: budget.summary)
                }
                let delay = retry.delay(afterAttempt: attempt, retryAfter: error.retryAfter)
                logger.info(
                    "retrying",
                    metadata: [
                        "request": "\(describe)", "attempt": "\(attempt + 1)", "error": "\(error)", "delay": "\(delay)",
                    ])
                try await Task.sleep(for: delay)
                attempt += 1
            }
        }
    }

    /// Sends one request and reads the (small) answer; transport failures become ``WixClientError/transport(_:)``.
    func send(_ request: HTTPClientRequest, describe: String) async throws -> (Int, HTTPHeaders, ByteBuffer) {
        do {
            // The permit is held until the body is read: that is when the connection goes back to the pool.
            return try await slots.withPermit {
                let response = try await http.execute(request, deadline: .now() + .hours(24))
                let body = try await response.body.collect(upTo: 16 << 20)
                return (Int(response.status.code), response.headers, body)
            }
        } catch let error as WixClientError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw WixClientError.transport("\(describe): \(error)")
        }
    }

    static func check(status: Int, headers: HTTPHeaders, body: ByteBuffer, host: WixHost) throws {
        guard !(200..<300).contains(status) else { return }
        let json = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))
        let code = json?["details"]?["applicationError"]?["code"]?.stringValue
        var message =
            json?["message"]?.stringValue ?? String(decoding: body.readableBytesView.prefix(200), as: UTF8.self)
        if let violations = json?["details"]?["validationError"]?["fieldViolations"]?.arrayValue, !violations.isEmpty {
            message = violations.map {
                "\($0["field"]?.stringValue ?? "?"): \($0["description"]?.stringValue ?? "invalid")"
            }.joined(separator: "; ")
        }
        let retryAfter = headers.first(name: "Retry-After").flatMap { Self.retryAfterSeconds($0, now: Date()) }
        throw WixClientError.http(
            status: status, code: code, message: message.isEmpty ? "HTTP \(status)" : message, retryAfter: retryAfter,
            host: host)
    }

    /// `Retry-After` in seconds: delay-seconds, or an HTTP-date (RFC 9110 §10.2.3: IMF-fixdate, also the obsolete
    /// RFC 850 and asctime forms) counted from `now`; `nil` for anything else.
    public static func retryAfterSeconds(_ value: String, now: Date) -> Double? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(text), seconds >= 0, seconds.isFinite { return seconds }
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return max(0, date.timeIntervalSince(now)) }
        }
        return nil
    }

    static func parse(_ body: ByteBuffer) throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))
        } catch {
            throw WixClientError.malformedResponse("the answer is not JSON")
        }
    }

    /// Percent-encodes a query value: only RFC 3986's unreserved characters stay (cursors are opaque and may hold
    /// `+`, `/` and `=`).
    static func queryValue(_ text: String) -> String {
        text.addingPercentEncoding(
            withAllowedCharacters: CharacterSet(
                charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? text
    }
}
