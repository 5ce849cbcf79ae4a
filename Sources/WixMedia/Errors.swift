import Foundation
import MediaIngest

/// Which server answered: the REST API (`www.wixapis.com`) or the upload host (`upload.wixmp.com`, signed URLs and
/// tus). Only the API host can refuse credentials: upload URLs carry their own token, and Wix documents no error body
/// for them.
public enum WixHost: String, Sendable, Hashable {
    case api, upload
}

/// What went wrong talking to Wix. It classifies itself (``classification``): the client retries what may pass, and a
/// stage lets the rest propagate — the run's ``ErrorPolicy`` rejects, fails or stops by what the error says.
///
/// A struct with an extensible ``Code`` (as swift-nio's `FileSystemError`): new kinds of trouble can be added without
/// breaking code that checks the codes it knows; the questions callers ask (``isRetryable``,
/// ``isAuthenticationFailure``, ``isUnusableUploadURL``, ``isPacingHint``) answer for every code.
public struct WixClientError: Error, Sendable, CustomStringConvertible, ClassifiedError {
    /// The kind of trouble.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case http, transport, malformedResponse, budgetExhausted, verificationFailed
        }
        private let value: Value

        /// Wix answered with an error status (see ``WixClientError/status``).
        public static let http = Code(value: .http)
        /// The connection failed or broke (refused, reset, timed out): on an upload, the bytes may or may not have
        /// landed.
        public static let transport = Code(value: .transport)
        /// The answer could not be understood.
        public static let malformedResponse = Code(value: .malformedResponse)
        /// The retry budget of the run is spent: the endpoint keeps failing.
        public static let budgetExhausted = Code(value: .budgetExhausted)
        /// What Wix reports does not match what was sent.
        public static let verificationFailed = Code(value: .verificationFailed)

        public var description: String { value.rawValue }
    }

    /// The kind of trouble.
    public var code: Code
    /// For ``Code/http``: the HTTP status.
    public var status: Int?
    /// For ``Code/http``: Wix's application code from the error body, when there was one.
    public var wixCode: String?
    /// What happened, in words (Wix's message, the transport's reason…).
    public var message: String
    /// For ``Code/http``: the `Retry-After` header, in seconds.
    public var retryAfter: Double?
    /// For ``Code/http``: which host answered.
    public var host: WixHost?
    /// For an upload: the attempt ended before every byte was handed over (a PUT body cut short, a tus upload never
    /// finalized), so no file can have come of it and no lookup is needed before sending again.
    public var isIncompleteUpload = false

    /// Wix answered with an error status (body in Wix's error shape when it could be read).
    public static func http(
        status: Int, code: String?, message: String, retryAfter: Double?, host: WixHost
    ) -> WixClientError {
        WixClientError(code: .http, status: status, wixCode: code, message: message, retryAfter: retryAfter, host: host)
    }

    /// The connection failed or broke.
    public static func transport(_ reason: String) -> WixClientError {
        WixClientError(code: .transport, message: reason)
    }

    /// The answer could not be understood.
    public static func malformedResponse(_ reason: String) -> WixClientError {
        WixClientError(code: .malformedResponse, message: reason)
    }

    /// The retry budget of the run is spent.
    public static func budgetExhausted(summary: String) -> WixClientError {
        WixClientError(code: .budgetExhausted, message: summary)
    }

    /// What Wix reports does not match what was sent.
    public static func verificationFailed(_ reason: String) -> WixClientError {
        WixClientError(code: .verificationFailed, message: reason)
    }

    /// 408, 429, 5xx and transport errors may pass when the same request is sent again.
    public var isRetryable: Bool {
        if code == .transport { return true }
        guard code == .http, let status else { return false }
        return status == 429 || status == 408 || status >= 500
    }

    /// Credentials refused on an API call (401, or 403: missing permission or site id): no asset can succeed.
    /// Never for the upload host, where a 403 means an expired or used URL.
    public var isAuthenticationFailure: Bool { code == .http && host == .api && (status == 401 || status == 403) }

    /// The upload host refused the URL or token (expired, used once already, unknown: 401, 403, 404, 409, 410, 429):
    /// the bytes may still have landed before; ask Wix, then start over with a fresh URL.
    public var isUnusableUploadURL: Bool {
        guard code == .http, host == .upload, let status else { return false }
        return [401, 403, 404, 409, 410, 429].contains(status)
    }

    /// The upload host answered a tus PATCH with 409 Conflict: the `Upload-Offset` sent is not the server's (tus 1.0.0
    /// §PATCH). The upload goes on from the offset `HEAD` reports.
    public var isOffsetMismatch: Bool { code == .http && host == .upload && status == 409 }

    /// A 429, with or without `Retry-After` (Wix documents neither): pacing, not a failure — it slows the site's
    /// pacer and spends no retry.
    public var isPacingHint: Bool { code == .http && status == 429 }

    public var description: String {
        switch code {
        case .http:
            return
                "Wix \(host == .upload ? "upload host " : "")answered \(status ?? 0)\(wixCode.map { " \($0)" } ?? ""): \(message)"
        case .transport: return "connection to Wix failed: \(message)"
        case .malformedResponse: return "unexpected answer from Wix: \(message)"
        case .budgetExhausted: return "retry budget exhausted: \(message)"
        case .verificationFailed: return "verification failed: \(message)"
        default: return "Wix: \(message)"
        }
    }

    /// The failure code of this trouble (`http_503`, `connection`…); the retry budget counts by it too.
    public var failureCode: AssetFailure.Code {
        switch code {
        case .http: return AssetFailure.Code("http_\(status ?? 0)")
        case .transport: return "connection"
        case .malformedResponse: return "bad_response"
        case .budgetExhausted: return "retry_budget"
        case .verificationFailed: return "verify_mismatch"
        default: return AssetFailure.Code(code.description)
        }
    }

    /// By one rule: credentials refused, or a retry budget spent on an endpoint that keeps failing, stop the run; a
    /// verdict about the file from Wix (a 4xx that is not about credentials, pacing or a used upload URL) rejects the
    /// asset (`target_rejected`); everything else fails it for a later run to retry.
    public var classification: ErrorClassification {
        if isAuthenticationFailure {
            return .abortsRun(
                failureCode,
                reason: "Wix rejected the credentials: \(self) — check the apiKey and siteId (or auth)")
        }
        if code == .budgetExhausted {
            return .abortsRun(failureCode, reason: "stopping: the Wix endpoint keeps failing — \(message)")
        }
        if code == .http, let status, (400..<500).contains(status), !isRetryable, !isUnusableUploadURL {
            return .rejection(
                Rejection(.targetRejected, "Wix refused it: \(status)\(wixCode.map { " \($0)" } ?? "") \(message)"))
        }
        return .failure(failureCode, description)
    }
}
