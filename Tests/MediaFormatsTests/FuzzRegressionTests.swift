import Foundation
import TestSupport
import Testing

@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    /// Every input libFuzzer once found a bug with, and the whole corpus, go through every parser and stripper
    /// (the same `exercise` function the fuzzer drives). A crash or a hang here fails the test.
    @Test("Replays Fuzz/regressions and the corpus through the parsers without a crash")
    func replay() throws {
        let regressions = repositoryRoot + "/Fuzz/regressions"
        let inputs = try FileManager.default.contentsOfDirectory(atPath: regressions).filter { $0.hasSuffix(".bin") }
        #expect(!inputs.isEmpty, "the OOM input found on 2026-11-24 must stay in Fuzz/regressions")
        let result = try runProcess(builtProduct("fuzz-media-formats"), [regressions, Corpus.root], timeout: 120)
        #expect(result.status == 0, "replay crashed: \(result.stderr)")
        let replayed = Int(result.stdout.split(separator: " ").dropFirst().first ?? "") ?? 0
        #expect(replayed >= inputs.count + Corpus.expectations.count)
    }
}
