import Foundation
import MediaIngest

/// Which server answered: the REST API (`www.wixapis.com`) or the upload host (`upload.wixmp.com`, signed URLs and
/// tus). Only the API host can refuse credentials: upload URLs carry their own token, and Wix documents no error body
/// for them.
public enum WixHost: String, Sendable, Hashable {
    case api, upload
}

/// What went wrong talking to Wix. Carries what the caller needs to decide: retry, reject the asset, or stop the run.
public enum WixClientError: Error, Sendable, CustomStringConvertible, AssetFailureDescribing {
    /// Wix answered with an error status (body in Wix's error shape when it could be read).
    case http(status: Int, code: String?, message: String, retryAfter: Double?, host: WixHost)
    /// The connection failed or broke (refused, reset, timed out) — on an upload, the bytes may or may not have landed.
    case transport(String)
    /// The answer could not be understood.
    case malformedResponse(String)
    /// The retry budget of the run is spent: the endpoint keeps failing.
    case budgetExhausted(summary: String)
    /// What Wix reports does not match what was sent.
    case verificationFailed(String)

    /// 408, 429, 5xx and transport errors may pass when the same request is sent again.
    public var isRetryable: Bool {
        switch self {
        case .http(let status, _, _, _, _): return status == 429 || status == 408 || status >= 500
        case .transport: return true
        case .malformedResponse, .budgetExhausted, .verificationFailed: return false
        }
    }

    /// Credentials refused on an API call (401, or 403: missing permission or site id): no asset can succeed.
    /// Never for the upload host, where a 403 means an expired or used URL.
    public var isAuthenticationFailure: Bool {
        if case .http(let status, _, _, _, .api) = self { return status == 401 || status == 403 }
        return false
    }

    /// The upload host refused the URL or token (expired, used once already, unknown: 401, 403, 404, 409, 410, 429):
    /// the bytes may still have landed before; ask Wix, then start over with a fresh URL.
    public var isUnusableUploadURL: Bool {
        if case .http(let status, _, _, _, .upload) = self { return [401, 403, 404, 409, 410, 429].contains(status) }
        return false
    }

    /// A 429 that says when to come back: pacing, not a failure.
    public var isPacingHint: Bool {
        if case .http(429, _, _, let retryAfter?, _) = self { return retryAfter >= 0 }
        return false
    }

    public var description: String {
        switch self {
        case .http(let status, let code, let message, _, let host):
            return
                "Wix \(host == .upload ? "upload host " : "")answered \(status)\(code.map { " \($0)" } ?? ""): \(message)"
        case .transport(let reason): return "connection to Wix failed: \(reason)"
        case .malformedResponse(let reason): return "unexpected answer from Wix: \(reason)"
        case .budgetExhausted(let summary): return "retry budget exhausted: \(summary)"
        case .verificationFailed(let reason): return "verification failed: \(reason)"
        }
    }

    public var failureCode: String {
        switch self {
        case .http(let status, _, _, _, _): return "http_\(status)"
        case .transport: return "connection"
        case .malformedResponse: return "bad_response"
        case .budgetExhausted: return "retry_budget"
        case .verificationFailed: return "verify_mismatch"
        }
    }

    public var failureMessage: String { description }

    var retryAfter: Double? {
        if case .http(_, _, _, let retryAfter, _) = self { return retryAfter }
        return nil
    }
}

/// Stops the run: credentials rejected, or a dead endpoint ate the retry budget.
public struct WixRunAbort: RunAbortingError, CustomStringConvertible, AssetFailureDescribing {
    public var abortReason: String
    public var underlying: WixClientError
    public init(abortReason: String, underlying: WixClientError) {
        self.abortReason = abortReason
        self.underlying = underlying
    }
    public var description: String { abortReason }
    public var failureCode: String { underlying.failureCode }
    public var failureMessage: String { abortReason }
}
