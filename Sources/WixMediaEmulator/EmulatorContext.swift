import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The request context: Hummingbird's core storage plus the connection, which the connection-reset fault needs.
public struct EmulatorRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP connection the request arrived on.
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// JSON API bodies are small; uploads are streamed and never decoded.
    public var maxUploadSize: Int { 4 << 20 }
}

/// Counts requests by route, method and status, for `GET /_emulator/requests` (tests use it to prove that a client
/// did not hammer a failing endpoint).
final class RequestCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    func record(_ key: String) { counts.withLock { $0[key, default: 0] += 1 } }
    var snapshot: [String: Int] { counts.withLock { $0 } }
    func reset() { counts.withLock { $0 = [:] } }
}

/// The URL clients use to reach the emulator, known once the port is bound.
final class BaseURLBox: Sendable {
    private let value: Mutex<String>
    init(_ value: String) { self.value = Mutex(value) }
    var url: String { value.withLock { $0 } }
    func set(_ url: String) { value.withLock { $0 = url } }
}

/// Applies the injected latency, server errors and 429s to Wix API and upload requests, and counts every request.
struct FaultMiddleware: RouterMiddleware {
    typealias Context = EmulatorRequestContext
    let faults: FaultInjector
    let counter: RequestCounter

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        let route = Self.routeName(path)
        let faultable = path.hasPrefix("/site-media/") || path.hasPrefix("/upload/")
        if faultable {
            let latency = await faults.latency
            if latency > .zero { try await Task.sleep(for: latency) }
            // The documented rate limit is on API calls (per app instance): upload-host requests are not counted.
            let key = path.hasPrefix("/site-media/") ? request.headers[.authorization] ?? "anonymous" : nil
            switch await faults.admit(key: key, now: Date()) {
            case .proceed:
                break
            case .serverError(let status):
                counter.record("\(request.method) \(route) \(status)")
                throw WixError(
                    status: .init(code: status),
                    message: status == 503
                        ? "Service temporarily unavailable (injected fault)" : "Internal error (injected fault)",
                    code: status == 503 ? "UNAVAILABLE" : "INTERNAL")
            case .rateLimited(let retryAfter):
                counter.record("\(request.method) \(route) 429")
                var error = WixError(
                    status: .tooManyRequests, message: "Too many requests, retry later", code: "RESOURCE_EXHAUSTED")
                if await !faults.settings.rateLimitWithoutRetryAfter {
                    error.headers[.retryAfter] = String(retryAfter)
                }
                throw error
            }
        }
        do {
            let response = try await next(request, context)
            counter.record("\(request.method) \(route) \(response.status.code)")
            return response
        } catch let error as any HTTPResponseError {
            counter.record("\(request.method) \(route) \(error.status.code)")
            throw error
        } catch let error as ConnectionResetFault {
            counter.record("\(request.method) \(route) reset")
            throw error
        }
    }

    /// The path with ids and tokens replaced, so counts group by endpoint.
    static func routeName(_ path: String) -> String {
        if path.hasPrefix("/upload/tus/") { return "/upload/tus/*" }
        if path.hasPrefix("/upload/") && path != "/upload/tus" { return "/upload/*" }
        if path.hasPrefix("/media/") || path.hasPrefix("/video/") { return "/media/*" }
        if path == "/site-media/v1/folders/search" { return path }
        if path.hasPrefix("/site-media/v1/folders/") { return "/site-media/v1/folders/*" }
        let known = [
            "generate-upload-url", "generate-resumable-upload-url", "import", "get-file-by-id", "get-files", "search",
        ]
        if path.hasPrefix("/site-media/v1/files/"),
            !known.contains(String(path.dropFirst("/site-media/v1/files/".count)))
        {
            return "/site-media/v1/files/*"
        }
        return path
    }
}

extension HTTPField.Name {
    static let tusResumable = Self("Tus-Resumable")!
    static let tusVersion = Self("Tus-Version")!
    static let tusExtension = Self("Tus-Extension")!
    static let tusMaxSize = Self("Tus-Max-Size")!
    static let uploadOffset = Self("Upload-Offset")!
    static let uploadLength = Self("Upload-Length")!
    static let uploadMetadata = Self("Upload-Metadata")!
    static let uploadDeferLength = Self("Upload-Defer-Length")!
}
