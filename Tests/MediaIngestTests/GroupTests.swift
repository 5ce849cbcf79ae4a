import Foundation
import MediaIngest
import PipelineTesting
import Synchronization
import TestSupport
import Testing

/// A source that sends its files as groups of two (a still and a video, as Live Photos), then one alone.
struct PairSource: AssetSource, StageDefinition {
    static let kind = "test.pairs"
    static let phase = StagePhase.source
    static let summary = "Test source."
    static let options: [OptionSpec] = []
    init(options: OptionValues, context: StageBuildContext) throws { files = [] }
    init(files: [String]) { self.files = files }

    let files: [String]

    func items(context: PipelineContext) -> AsyncThrowingStream<SourceEvent, any Error> {
        let files = files
        return AsyncThrowingStream { continuation in
            func item(_ path: String, role: String?) -> SourceItem {
                let name = (path as NSString).lastPathComponent
                var item = SourceItem(origin: .file(path: path, root: "/", relativePath: name))
                item.group = role.map { AssetGroup(kind: "livePhoto", role: $0, pairedBy: "contentIdentifier") }
                return item
            }
            var index = 0
            while index + 1 < files.count {
                continuation.yield(.group([item(files[index], role: "still"), item(files[index + 1], role: "video")]))
                index += 2
            }
            if index < files.count { continuation.yield(.item(item(files[index], role: nil))) }
            continuation.finish()
        }
    }
}

/// A target stage that gives each asset a target id, and a post stage that counts what it was called for.
struct TargetStage: Stage, StageDefinition {
    static let kind = "test.target"
    static let phase = StagePhase.upload
    static let summary = "Test stage."
    static let options: [OptionSpec] = []
    init(options: OptionValues, context: StageBuildContext) throws {}
    init() {}

    func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        var asset = asset
        asset.target = TargetRecord(
            target: "test", id: "id-" + asset.fileName, url: nil, status: "READY", confirmed: true)
        return .next(asset)
    }
}

struct PostStage: Stage, StageDefinition {
    static let kind = "test.post"
    static let phase = StagePhase.post
    static let summary = "Test stage."
    static let options: [OptionSpec] = []
    init(options: OptionValues, context: StageBuildContext) throws {}
    init() {}

    final class Seen: Sendable { let names = Mutex<[String]>([]) }
    let seen = Seen()

    func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        seen.names.withLock { $0.append(asset.fileName) }
        return .next(asset)
    }
}

@Suite("Groups (Live Photos) in the runner")
struct GroupTests {
    let files = Array(corpusImages.prefix(5))

    func run(failOn: Set<String> = [], rejectOn: Set<String> = []) async -> (RunReport, PostStage) {
        var scripted = ScriptedStage()
        scripted.delay = .milliseconds(1)
        scripted.failOn = failOn
        scripted.rejectOn = rejectOn
        let post = PostStage()
        let pipeline = Pipeline(
            name: "groups", concurrency: 1, sources: [Pipeline.Component(PairSource(files: files))],
            stages: [Pipeline.Component(TargetStage()), Pipeline.Component(scripted), Pipeline.Component(post)],
            baseDirectory: FileManager.default.currentDirectoryPath)
        return (await PipelineRunner(pipeline: pipeline).run(), post)
    }

    var names: [String] { files.map { ($0 as NSString).lastPathComponent } }

    func record(_ report: RunReport, _ name: String) throws -> AssetRecord {
        try #require(report.assets.first { $0.fileName == name })
    }

    @Test("both halves done: each links to the other's target id, in one worker (concurrency 1 does not deadlock)")
    func linked() async throws {
        let (report, post) = await run()
        #expect(report.count(.done) == 5)
        let still = try record(report, names[0])
        #expect(still.facts?["livePhoto"]?["pair"] == .string("id-" + names[1]))
        #expect(still.facts?["livePhoto"]?["role"] == "still")
        #expect(still.facts?["livePhoto"]?["complete"] == true)
        #expect(try record(report, names[1]).facts?["livePhoto"]?["pair"] == .string("id-" + names[0]))
        #expect(try record(report, names[4]).facts?["livePhoto"] == nil)
        #expect(post.seen.names.withLock { $0.count } == 5)
    }

    @Test("one half fails: the other fails pair_incomplete and is not post-processed; the rest go on")
    func incomplete() async throws {
        let (report, post) = await run(failOn: [names[1]])
        #expect(report.count(.failed) == 2)
        #expect(report.count(.done) == 3)
        let still = try record(report, names[0])
        #expect(still.status == .failed)
        #expect(still.code == "pair_incomplete")
        #expect(still.reason?.contains(names[1]) == true)
        #expect(still.facts?["livePhoto"]?["complete"] == false)
        let seen = post.seen.names.withLock { $0 }
        #expect(!seen.contains(names[0]) && !seen.contains(names[1]))
        #expect(seen.contains(names[2]))
    }

    @Test("one half rejected: the other is done, marked incomplete, with the partner's reason")
    func rejectedHalf() async throws {
        let (report, _) = await run(rejectOn: [names[3]])
        let still = try record(report, names[2])
        #expect(still.status == .done)
        #expect(still.facts?["livePhoto"]?["complete"] == false)
        #expect(still.facts?["livePhoto"]?["members"]?.arrayValue?.first?["status"] == "rejected")
        #expect(report.count(.rejected) == 1)
    }
}
