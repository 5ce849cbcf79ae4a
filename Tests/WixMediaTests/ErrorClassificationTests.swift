import Foundation
import MediaIngest
import Testing
import WixMedia

/// What Wix's answers mean for the asset, decided by the error itself (it used to be mapped by each Wix stage).
@Suite("WixClientError classifies itself")
struct ErrorClassificationTests {
    static func outcome(_ error: WixClientError) -> ErrorPolicy.Outcome {
        ErrorPolicy.outcome(of: error, stage: "upload.wix")
    }

    @Test(
        "credentials and a spent budget stop the run; Wix's verdict on the file rejects; the rest fails and is retried")
    func table() {
        let revoked = WixClientError.http(status: 401, code: nil, message: "bad key", retryAfter: nil, host: .api)
        guard case .failed(let failure, let abort?) = Self.outcome(revoked) else {
            Issue.record("a refused key stops the run")
            return
        }
        #expect(failure.code == "http_401" && abort.contains("Wix rejected the credentials"), "\(abort)")

        let spent = WixClientError.budgetExhausted(summary: "40 retries: 38 http_503")
        guard case .failed(let budget, let stop?) = Self.outcome(spent) else {
            Issue.record("a spent budget stops the run")
            return
        }
        #expect(budget.code == "retry_budget" && stop.contains("40 retries: 38 http_503"), "\(stop)")

        let refused = WixClientError.http(
            status: 400, code: "INVALID_MIME", message: "not supported", retryAfter: nil, host: .api)
        guard case .rejected(let rejection) = Self.outcome(refused) else {
            Issue.record("Wix's 400 about the file is a verdict")
            return
        }
        #expect(rejection.code == .targetRejected && rejection.stage == "upload.wix")
        #expect(rejection.reason.contains("400 INVALID_MIME not supported"), "\(rejection.reason)")

        // The upload host's 403 is an expired or used URL, not the key; a 503 and a broken connection may pass.
        for (error, code) in [
            (
                WixClientError.http(status: 403, code: nil, message: "expired", retryAfter: nil, host: .upload),
                "http_403"
            ),
            (WixClientError.http(status: 503, code: nil, message: "busy", retryAfter: nil, host: .api), "http_503"),
            (WixClientError.transport("connection reset"), "connection"),
            (
                WixClientError.http(status: 429, code: nil, message: "slow down", retryAfter: nil, host: .api),
                "http_429"
            ),
        ] {
            guard case .failed(let failed, nil) = Self.outcome(error) else {
                Issue.record("\(error) fails the asset without stopping the run")
                continue
            }
            #expect(failed.code.rawValue == code)
        }
    }
}
