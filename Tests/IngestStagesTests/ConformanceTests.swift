import Foundation
import IngestStages
import Logging
import MediaIngest
import PipelineTesting
import Synchronization
import TestSupport
import Testing

@Suite("PipelineTesting: the stage contract, captured logs, the harness's work folder")
struct ConformanceTests {
    static let files = [
        "images/jpeg/gps_minimal.jpg", "images/png/iccp.png", "images/heic/gps_iphone_IMG_5195.HEIC", "video/plain.mp4",
        "documents/minimal.pdf",
    ].map(Corpus.path)

    @Test("detect.mime, strip.metadata and validate keep the contract over corpus files")
    func builtinsConform() async throws {
        let context = StageHarness<StripStage>.buildContext()
        let strip = try StripStage(options: .decode([:], specs: StripStage.options), context: context)
        let stripProblems = try await StageConformance.check(strip, files: Self.files, after: [DetectStage()])
        #expect(stripProblems == [], "\(stripProblems)")
        let detectProblems = try await StageConformance.check(DetectStage(), files: Self.files)
        #expect(detectProblems == [], "\(detectProblems)")
        let validate = try ValidateStage(
            options: .decode(["profile": "wix"], specs: ValidateStage.options), context: context)
        let validateProblems = try await StageConformance.check(validate, files: Self.files, after: [DetectStage()])
        #expect(validateProblems == [], "\(validateProblems)")
    }

    @Test(
        "a stage that breaks the contract is caught: facts everywhere, a work file outside the work folder, a codeless error, shared state"
    )
    func catchesBreakage() async throws {
        let outside = TemporaryDirectory()
        struct Careless: Stage {
            let outside: String
            let calls = Counter()
            final class Counter: Sendable {
                let value = Mutex(0)
                func next() -> Int {
                    value.withLock {
                        $0 += 1
                        return $0
                    }
                }
            }
            struct Oops: Error {}
            func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
                if asset.fileName.hasSuffix(".pdf") { throw Oops() }
                var asset = asset
                asset.facts["a"] = 1
                asset.facts["b"] = 2
                if asset.fileName.hasSuffix(".png") {
                    let path = outside + "/copy.png"
                    try Data(contentsOf: URL(fileURLWithPath: asset.contentPath!)).write(to: URL(fileURLWithPath: path))
                    asset.contentPath = path
                }
                // Rejects every third call: the answer depends on the order of calls, not on the file.
                if calls.next() % 3 == 0 { return .reject(asset, Rejection("Bad Code", "")) }
                return .next(asset)
            }
        }
        let problems = try await StageConformance.check(
            Careless(outside: outside.path), files: Self.files)
        let rules = Set(problems.map(\.rule))
        #expect(rules.contains { $0.hasPrefix("facts added under several keys") })
        #expect(rules.contains { $0.contains("is outside the work folder") })
        #expect(rules.contains { $0.hasPrefix("threw an error without a failure code") })
        #expect(rules.contains { $0.contains("is not lower_snake_case") })
        #expect(rules.contains { $0.hasPrefix("a rejection without a reason") })
    }

    @Test("the harness removes its work folder when it goes; InMemoryLogHandler keeps what the stage logged")
    func harnessCleansUpAndCapturesLogs() async throws {
        let logs = InMemoryLogHandler.Store()
        var workFolder = ""
        var output: String?
        do {
            let strip = try StripStage(
                options: .decode([:], specs: StripStage.options), context: StageHarness<StripStage>.buildContext())
            let harness = StageHarness(strip, logger: logs.logger())
            workFolder = harness.context.workDirectory
            let outcome = try await harness.process(
                file: Corpus.path("images/jpeg/gps_Apple_iPhone_4.jpg"), after: DetectStage())
            output = outcome.asset?.contentPath
            #expect(output?.hasPrefix(workFolder + "/") == true, "\(String(describing: output))")
            #expect(FileManager.default.fileExists(atPath: try #require(output)))
        }
        #expect(!FileManager.default.fileExists(atPath: workFolder), "the work folder went with the harness")
        let stripped = try #require(logs.entries.first { $0.message == "stripped" })
        #expect(stripped.level == .debug)
        #expect(stripped.metadata["gps"] == "true", "\(stripped.metadata)")
    }

    @Test("an outcome keeps the work folder: its files stay readable after the harness goes, and go with the outcome")
    func outcomeOutlivesHarness() async throws {
        func stripOne() async throws -> HarnessOutcome {
            let strip = try StripStage(
                options: .decode([:], specs: StripStage.options), context: StageHarness<StripStage>.buildContext())
            return try await StageHarness(strip).process(
                file: Corpus.path("images/jpeg/gps_Apple_iPhone_4.jpg"), after: DetectStage())
        }
        var outcome: HarnessOutcome? = try await stripOne()
        let output = try #require(outcome?.asset?.contentPath)
        let folder = (output as NSString).deletingLastPathComponent
        let tags = try await exiftoolTags([output])
        #expect(tags[output]?["File:FileType"] as? String == "JPEG", "exiftool reads the output the outcome points at")
        #expect(outcome?.rejection == nil)
        outcome = nil
        #expect(!FileManager.default.fileExists(atPath: folder), "the work folder went with the last outcome")
    }
}
