import Foundation
import MediaFormats
import MediaIngest
import PipelineTesting
import TestSupport
import Testing

@Suite("ErrorPolicy: one rule from thrown errors to outcomes")
struct ErrorPolicyTests {
    struct Damaged: AssetRejecting {
        var rejection: Rejection { Rejection(.malformed, "the header points past the end") }
    }
    struct Throttled: AssetFailureDescribing {
        var failureCode: AssetFailure.Code { "http_429" }
        var failureMessage: String { "rate limited" }
    }
    struct Revoked: RunAbortingError { var abortReason: String { "credentials refused" } }
    struct Odd: Error {}

    @Test("each kind of error maps to its outcome and a stable code")
    func table() throws {
        func failure(_ error: any Error) -> (code: String, aborts: String?)? {
            guard case .failed(let failure, let aborts) = ErrorPolicy.outcome(of: error, stage: "s") else { return nil }
            return (failure.code.rawValue, aborts)
        }
        guard case .rejected(let rejection) = ErrorPolicy.outcome(of: Damaged(), stage: "s") else {
            Issue.record("a verdict rejects")
            return
        }
        #expect(rejection.code == .malformed && rejection.stage == "s")
        #expect(failure(Throttled())?.code == "http_429")
        #expect(failure(Revoked())?.code == "aborted" && failure(Revoked())?.aborts == "credentials refused")
        #expect(failure(CancellationError())?.code == "interrupted")
        #expect(failure(IOFailure("stale NFS handle"))?.code == "io")
        #expect(failure(FileError(path: "/x", operation: "read", code: EIO))?.code == "io")
        #expect(failure(POSIXError(.EIO))?.code == "io")
        #expect(
            failure(CocoaError(.fileWriteOutOfSpace))?.code == "io",
            "a full disk while archiving is trouble, not a verdict")
        #expect(failure(Odd())?.code == "error")
    }

    @Test("the runner applies it: a verdict thrown from inside a stage rejects, trouble fails")
    func runnerUsesIt() async throws {
        struct Thrower: Stage {
            func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
                if asset.fileName.hasSuffix(".png") { throw Damaged() }
                throw IOFailure("\(asset.fileName): Input/output error")
            }
        }
        let pipeline = Pipeline.testing(
            files: [Corpus.path("images/png/iccp.png"), Corpus.path("images/jpeg/gps_minimal.jpg")],
            stages: [Pipeline.Component(Thrower() as any Stage, kind: "thrower", phase: .transform)])
        let report = await PipelineRunner(pipeline: pipeline).run()
        #expect(report.assets.map(\.status) == [.rejected, .failed])
        #expect(report.assets.map(\.code) == ["malformed", "io"])
    }

    @Test(
        "errors classify themselves: ErrorPolicy asks a ClassifiedError first, and a parser's FormatError says damage or trouble"
    )
    func selfClassified() throws {
        struct Quota: ClassifiedError {
            var classification: ErrorClassification { .abortsRun("quota", reason: "the target's quota is used up") }
        }
        guard case .failed(let failure, let aborts) = ErrorPolicy.outcome(of: Quota(), stage: "upload.x") else {
            Issue.record("a classified abort fails the asset")
            return
        }
        #expect(failure.code == "quota" && failure.stage == "upload.x" && aborts == "the target's quota is used up")
        guard case .rejected(let truncated) = ErrorPolicy.outcome(of: FormatError.truncated("ends at 12"), stage: "v")
        else {
            Issue.record("a truncated file is a verdict")
            return
        }
        #expect(truncated.code == .truncated && truncated.stage == "v")
        guard case .rejected(let loop) = ErrorPolicy.outcome(of: FormatError.loop("IFD 2 → 1"), stage: "v") else {
            Issue.record("a loop is a verdict")
            return
        }
        #expect(loop.code == .malformed)
        guard case .failed(let io, nil) = ErrorPolicy.outcome(of: FormatError.io("EIO"), stage: "v") else {
            Issue.record("a read error while parsing is trouble that may pass")
            return
        }
        #expect(io.code == .io)
    }
}
