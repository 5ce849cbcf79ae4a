import Foundation
import MediaIngest

/// What went wrong talking to Wix. Carries what the caller needs to decide: retry, reject the asset, or stop the run.
public enum WixClientError: Error, Sendable, CustomStringConvertible, AssetFailureDescribing {
    /// Wix answered with an error status (body in Wix's error shape when it could be read).
    case http(status: Int, code: String?, message: String, retryAfter: Double?)
    /// The connection failed or broke (refused, reset, timed out).
    case transport(String)
    /// The answer could not be understood.
    case malformedResponse(String)
    /// The retry budget of the run is spent: the endpoint keeps failing.
    case budgetExhausted(last: String)
    /// What Wix reports does not match what was sent.
    case verificationFailed(String)

    /// 429, 5xx and transport errors may pass.
    public var isRetryable: Bool {
        switch self {
        case .http(let status, _, _, _): return status == 429 || status == 408 || status >= 500
        case .transport: return true
        case .malformedResponse, .budgetExhausted, .verificationFailed: return false
        }
    }

    /// Bad credentials or missing permissions on an API call: no asset can succeed.
    public var isAuthenticationFailure: Bool {
        if case .http(let status, let code, _, _) = self {
            return status == 401 || (status == 403 && code != "UPLOAD_URL_EXPIRED" && code != "INVALID_UPLOAD_TOKEN")
        }
        return false
    }

    /// The signed upload URL expired: generate a new one.
    public var isExpiredUploadURL: Bool {
        if case .http(let status, let code, _, _) = self { return status == 403 && (code == "UPLOAD_URL_EXPIRED" || code == "INVALID_UPLOAD_TOKEN") || status == 410 }
        return false
    }

    public var description: String {
        switch self {
        case .http(let status, let code, let message, _): return "Wix answered \(status)\(code.map { " \($0)" } ?? ""): \(message)"
        case .transport(let reason): return "connection to Wix failed: \(reason)"
        case .malformedResponse(let reason): return "unexpected answer from Wix: \(reason)"
        case .budgetExhausted(let last): return "retry budget exhausted (last error: \(last))"
        case .verificationFailed(let reason): return "verification failed: \(reason)"
        }
    }

    public var failureCode: String {
        switch self {
        case .http(let status, _, _, _): return "http_\(status)"
        case .transport: return "connection"
        case .malformedResponse: return "bad_response"
        case .budgetExhausted: return "retry_budget"
        case .verificationFailed: return "verify_mismatch"
        }
    }

    public var failureMessage: String { description }
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
