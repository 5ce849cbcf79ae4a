import Foundation
import MediaIngest
import Testing
import WixMedia

@testable import IngestStages
@testable import WixStages

@Suite("Wix client helpers")
struct WixHelpersTests {
    @Test("upload URLs are logged without their token")
    func redaction() {
        #expect(
            WixMediaClient.redact("https://upload.wixmp.com/upload/eyJhbGciOi.eyJ.sig")
                == "https://upload.wixmp.com/upload/<token>")
        #expect(
            WixMediaClient.redact("http://127.0.0.1:8787/upload/tus/eyJhbG.x.y?filename=a.mp4")
                == "http://127.0.0.1:8787/upload/tus/<token>")
        #expect(WixMediaClient.redact("http://127.0.0.1:8787/upload/tus") == "http://127.0.0.1:8787/upload/tus")
        #expect(
            WixMediaClient.redact("https://www.wixapis.com/site-media/v1/files")
                == "https://www.wixapis.com/site-media/v1/files")
    }

    @Test("file names sent to Wix lose folders and control characters, keep their extension when shortened")
    func sanitizedNames() {
        #expect(UploadOptions.sanitizedFileName("../../etc/passwd") == "passwd")
        #expect(UploadOptions.sanitizedFileName("a\u{0}b\u{7}\nc.jpg") == "abc.jpg")
        #expect(UploadOptions.sanitizedFileName("dir\\win.png") == "win.png")
        #expect(UploadOptions.sanitizedFileName("") == "file")
        let long = UploadOptions.sanitizedFileName(String(repeating: "x", count: 300) + ".jpeg")
        #expect(long.count == 200 && long.hasSuffix(".jpeg"))
    }

    @Test("filePath templates render dates and families, and reject unknown placeholders")
    func templates() throws {
        let template = try PathTemplate("/ingest/{yyyy}/{mm}/{dd}/{family}-{ext}")
        var asset = Asset(
            id: 1, origin: .file(path: "/x/IMG.JPG", root: "/x", relativePath: "IMG.JPG"), fileName: "IMG.JPG",
            contentPath: "/x/IMG.JPG")
        asset.modificationDate = Date(timeIntervalSince1970: 1_700_000_000)
        asset.mime = MediaType(mime: "image/jpeg", family: .image, extensions: ["jpg"], extensionMatches: true)
        #expect(template.render(asset, pipeline: "p") == "/ingest/2023/11/14/image-jpg")
        #expect(throws: PathTemplate.Problem.self) { try PathTemplate("/x/{year}") }
        #expect(throws: PathTemplate.Problem.self) { try PathTemplate("/x/{yyyy") }
    }

    @Test("backoff grows, is capped, jittered within [ceiling/2, ceiling], and honours Retry-After")
    func backoff() {
        let policy = RetryPolicy(maxAttempts: 6, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        for attempt in 1...8 {
            let ceiling = min(Duration.milliseconds(100) * (1 << (attempt - 1)), .seconds(1))
            let delay = policy.delay(afterAttempt: attempt, retryAfter: nil)
            #expect(delay <= ceiling && delay >= ceiling / 2 - .milliseconds(1))
        }
        #expect(policy.delay(afterAttempt: 1, retryAfter: 0.5) == .milliseconds(500))
        #expect(policy.delay(afterAttempt: 1, retryAfter: 60) == .seconds(1))
        let budget = RetryBudget(2)
        #expect(budget.take(kind: "http_503") && budget.take(kind: "http_503") && !budget.take(kind: "connection"))
        // The message that stops a run says what it was spent on, and what the retry it refused was for.
        #expect(RetryBudget(0).take(kind: "connection", detail: "PUT a.jpg: reset") == false)
        let refused = RetryBudget(0)
        _ = refused.take(kind: "connection", detail: "PUT a.jpg: connection reset")
        #expect(refused.summary == "0 retries spent (budget 0 for 0 assets); last: PUT a.jpg: connection reset")
        #expect(budget.summary == "2 retries spent (budget 2 for 0 assets): http_503 ×2")
    }
}
