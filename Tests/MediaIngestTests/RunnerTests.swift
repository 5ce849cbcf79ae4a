import Foundation
import MediaIngest
import PipelineTesting
import Synchronization
import TestSupport
import Testing

/// Counts how many `process` calls run at once, and which worker indices they use.
final class ConcurrencyProbe: Sendable {
    struct State {
        var running = 0
        var maximum = 0
        var activeWorkers: Set<Int> = []
        var workerClash = false
        var workersSeen: Set<Int> = []
    }
    let state = Mutex(State())

    func enter(worker: Int) {
        state.withLock { state in
            state.running += 1
            state.maximum = max(state.maximum, state.running)
            if !state.activeWorkers.insert(worker).inserted { state.workerClash = true }
            state.workersSeen.insert(worker)
        }
    }

    func leave(worker: Int) {
        state.withLock { state in
            state.running -= 1
            state.activeWorkers.remove(worker)
        }
    }
}

/// A stage that sleeps, and fails, rejects or stops the run for chosen files.
struct ScriptedStage: Stage, StageDefinition {
    static let kind = "scripted"
    static let phase = StagePhase.transform
    static let summary = "Test stage."
    static let options: [OptionSpec] = []
    init(options: OptionValues, context: StageBuildContext) throws { self.init() }

    struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
    struct Fatal: RunAbortingError { var abortReason: String { "credentials refused" } }

    var probe = ConcurrencyProbe()
    var delay: Duration = .milliseconds(20)
    var failOn: Set<String> = []
    var rejectOn: Set<String> = []
    var abortOn: Set<String> = []
    var stopAfterStarting: Int?
    let started = Counter()

    final class Counter: Sendable {
        private let value = Mutex(0)
        func increment() -> Int {
            value.withLock {
                $0 += 1
                return $0
            }
        }
        var current: Int { value.withLock { $0 } }
    }

    init() {}

    func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        probe.enter(worker: context.worker)
        defer { probe.leave(worker: context.worker) }
        let count = started.increment()
        if let stopAfterStarting, count == stopAfterStarting {
            context.pipeline.control.requestStop(reason: "test stop")
        }
        try await Task.sleep(for: delay)
        if failOn.contains(asset.fileName) { throw Boom() }
        if abortOn.contains(asset.fileName) { throw Fatal() }
        if rejectOn.contains(asset.fileName) { return .reject(asset, Rejection(.custom, "scripted rejection")) }
        var asset = asset
        asset.facts["scripted"] = true
        return .next(asset)
    }
}

/// Records every result it is told about.
/// A stage that also observes: it says so by conforming to `AssetObserver`, and only then hears of every asset.
struct RecordingStage: Stage, AssetObserver, StageDefinition {
    static let kind = "recording"
    static let phase = StagePhase.post
    static let summary = "Test stage."
    static let options: [OptionSpec] = []
    init(options: OptionValues, context: StageBuildContext) throws { self.init() }
    init() {}

    final class Box: Sendable { let results = Mutex<[AssetResult]>([]) }
    let box = Box()
    var results: [AssetResult] { box.results.withLock { $0 } }

    func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome { .next(asset) }
    func assetDidFinish(_ result: AssetResult, context: PipelineContext) async {
        box.results.withLock { $0.append(result) }
    }
}

let corpusImages: [String] = Corpus.expectations(under: "images/jpeg/").prefix(20).map(\.absolutePath)

@Suite("Pipeline runner")
struct RunnerTests {
    @Test("concurrency is bounded by the pipeline's width and worker indices are never shared")
    func boundedConcurrency() async throws {
        #expect(corpusImages.count == 20)
        let stage = ScriptedStage()
        let pipeline = Pipeline.testing(files: corpusImages, stages: [Pipeline.Component(stage)], concurrency: 3)
        let report = await PipelineRunner(pipeline: pipeline).run()
        #expect(report.count(.done) == 20)
        let state = stage.probe.state.withLock { $0 }
        #expect(state.maximum == 3)
        #expect(state.workerClash == false)
        #expect(state.workersSeen == [0, 1, 2])
        #expect(report.outcome == .success)
        #expect(report.assets.map(\.id) == Array(1...20))
    }

    @Test("one failing and one rejected asset do not stop the others")
    func isolation() async throws {
        var stage = ScriptedStage()
        let names = corpusImages.map { ($0 as NSString).lastPathComponent }
        stage.failOn = [names[2]]
        stage.rejectOn = [names[4]]
        let recorder = RecordingStage()
        let collector = CollectingStage()
        let pipeline = Pipeline.testing(
            files: corpusImages,
            stages: [Pipeline.Component(stage), Pipeline.Component(collector), Pipeline.Component(recorder)],
            concurrency: 4)
        let report = await PipelineRunner(pipeline: pipeline).run()
        #expect(report.count(.done) == 18)
        #expect(report.count(.failed) == 1)
        #expect(report.count(.rejected) == 1)
        #expect(report.outcome == .someFailed)
        let failed = try #require(report.assets.first { $0.status == .failed })
        #expect(failed.fileName == names[2])
        #expect(failed.code == "error")
        #expect(failed.reason == "boom")
        let rejected = try #require(report.assets.first { $0.status == .rejected })
        #expect(rejected.code == "rejected")
        #expect(rejected.stage == "scripted")
        #expect(collector.assets.count == 18)
        #expect(collector.assets.allSatisfy { $0.facts["scripted"] == true })
        // Every asset, whatever its outcome, is announced to every component that observes (the manifest relies on
        // it); one that does not say it observes is not called.
        #expect(recorder.results.count == 20)
    }

    @Test("a stop request drains: in-flight assets finish, no new ones start")
    func interruption() async throws {
        var stage = ScriptedStage()
        stage.stopAfterStarting = 5
        stage.delay = .milliseconds(50)
        let pipeline = Pipeline.testing(files: corpusImages, stages: [Pipeline.Component(stage)], concurrency: 2)
        let report = await PipelineRunner(pipeline: pipeline).run()
        #expect(report.interrupted == "test stop")
        #expect(report.outcome == .interrupted)
        // The 5th asset asked to stop while the 6th may already have started; both finish, nothing after them starts.
        #expect((5...6).contains(report.count(.done)))
        #expect(report.count(.failed) == 0)
        #expect(report.assets.count == report.count(.done))
    }

    @Test("cancelling the run cancels in-flight assets, which are recorded as interrupted; queued ones never start")
    func cancellation() async throws {
        var stage = ScriptedStage()
        stage.delay = .seconds(30)
        let pipeline = Pipeline.testing(
            files: Array(corpusImages.prefix(4)), stages: [Pipeline.Component(stage)], concurrency: 2)
        let task = Task { await PipelineRunner(pipeline: pipeline).run() }
        // Cancel once both workers are inside the stage (on a loaded machine that can take a while).
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(20)
        while stage.started.current < 2 && clock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(stage.started.current == 2)
        task.cancel()
        let report = await task.value
        #expect(report.count(.done) == 0)
        #expect(report.count(.failed) == 2)
        #expect(report.assets.filter { $0.status == .failed }.allSatisfy { $0.code == "interrupted" })
        // The two queued assets are not reported (and not in a ledger): a later run takes them.
        #expect(report.assets.count == 2)
        #expect(stage.started.current == 2)
    }

    @Test("a run-aborting error stops the run and marks it aborted")
    func abort() async throws {
        var stage = ScriptedStage()
        stage.abortOn = [(corpusImages[1] as NSString).lastPathComponent]
        let pipeline = Pipeline.testing(files: corpusImages, stages: [Pipeline.Component(stage)], concurrency: 1)
        let report = await PipelineRunner(pipeline: pipeline).run()
        #expect(report.aborted == "credentials refused")
        #expect(report.outcome == .aborted)
        #expect(report.count(.done) == 1)
        #expect(report.count(.failed) == 1)
    }

    @Test("a dry run stops before stages with side effects")
    func dryRun() async throws {
        let recorder = RecordingStage()
        let pipeline = Pipeline.testing(
            files: Array(corpusImages.prefix(3)),
            stages: [Pipeline.Component(ScriptedStage()), Pipeline.Component(recorder)])
        let report = await PipelineRunner(pipeline: pipeline, options: RunOptions(isDryRun: true)).run()
        #expect(report.count(.planned) == 3)
        #expect(report.dryRun)
        #expect(report.assets.allSatisfy { $0.stage == "recording" })
    }

    @Test("a stage with a when-condition only sees matching assets")
    func conditions() async throws {
        let collector = CollectingStage()
        struct Labeler: Stage {
            func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
                var asset = asset
                let png = asset.sourceExtension == "png"
                asset.mime = MediaType(
                    mime: png ? "image/png" : "image/jpeg", family: .image, extensions: [], extensionMatches: true)
                return .next(asset)
            }
        }
        let files = [
            Corpus.path("images/png/iccp.png"), Corpus.path("images/jpeg/gps_minimal.jpg"),
            Corpus.path("images/png/minimal_transparent.png"),
        ]
        let pipeline = Pipeline.testing(
            files: files,
            stages: [
                Pipeline.Component(Labeler() as any Stage, kind: "labeler", phase: .detect),
                Pipeline.Component(collector, condition: StageCondition(mime: [MIMEPattern("image/png")!])),
            ])
        let report = await PipelineRunner(pipeline: pipeline).run()
        #expect(report.count(.done) == 3)
        #expect(collector.assets.map(\.fileName).sorted() == ["iccp.png", "minimal_transparent.png"])
    }

    @Test("a source that cannot be read aborts the run with its reason")
    func sourceFailure() async throws {
        struct Broken: AssetSource {
            struct Gone: Error, CustomStringConvertible { var description: String { "mount point missing" } }
            func items(context: PipelineContext) -> AsyncThrowingStream<SourceEvent, any Error> {
                AsyncThrowingStream { $0.finish(throwing: Gone()) }
            }
        }
        let pipeline = Pipeline(
            name: "broken", concurrency: 1,
            sources: [Pipeline.Component(Broken() as any AssetSource, kind: "broken", phase: .source)], stages: [],
            baseDirectory: "/")
        let report = await PipelineRunner(pipeline: pipeline).run()
        #expect(report.aborted == #"source "broken" failed: mount point missing"#)
        #expect(report.outcome == .aborted)
    }

    @Test("an empty run is 'nothing to do' and work folders are removed")
    func emptyRun() async throws {
        let parent = TemporaryDirectory()
        let pipeline = Pipeline.testing(files: [], stages: [Pipeline.Component(ScriptedStage())])
        let report = await PipelineRunner(pipeline: pipeline, options: RunOptions(workDirectoryParent: parent.path))
            .run()
        #expect(report.outcome == .nothingToDo)
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path).isEmpty)
    }

    @Test("the JSON report round-trips")
    func reportJSON() async throws {
        let pipeline = Pipeline.testing(
            files: Array(corpusImages.prefix(2)), stages: [Pipeline.Component(ScriptedStage())])
        let report = await PipelineRunner(pipeline: pipeline).run()
        let data = try RunReport.makeEncoder(pretty: false).encode(report)
        let decoded = try RunReport.makeDecoder().decode(RunReport.self, from: data)
        #expect(decoded.assets == report.assets)
        #expect(decoded.counts == report.counts)
        let object = try JSONDecoder().decode(JSONValue.self, from: data)
        #expect(object["outcome"] == "success")
        #expect(object["runId"]?.stringValue?.count == 21)
    }
}

@Suite("the run report at scale")
struct RunReportScaleTests {
    @Test("past recordLimit, done assets are counted, not listed; every problem is listed")
    func recordLimit() async throws {
        let directory = TemporaryDirectory()
        var files: [String] = []
        for index in 0..<60 {
            let path = directory.file("f\(index).bin")
            try Data([UInt8(index)]).write(to: URL(fileURLWithPath: path))
            files.append(path)
        }
        var stage = ScriptedStage()
        stage.delay = .zero
        stage.rejectOn = ["f7.bin", "f55.bin"]
        stage.failOn = ["f58.bin"]
        var options = RunOptions()
        options.recordLimit = 10
        let report = await PipelineRunner(
            pipeline: .testing(files: files, stages: [Pipeline.Component(stage)], concurrency: 3), options: options
        ).run()
        #expect(report.count(.done) == 57 && report.count(.rejected) == 2 && report.count(.failed) == 1)
        #expect(report.bytesDone == 57)
        #expect(report.assets.filter { $0.status == .done }.count == 10)
        #expect(Set(report.assets.filter { $0.status != .done }.map(\.fileName)) == ["f7.bin", "f55.bin", "f58.bin"])
        #expect(report.assetsOmitted == 47)
        #expect(report.assets.map(\.id) == report.assets.map(\.id).sorted(), "in source order")
    }
}
