import Foundation
import IngestStages
import IngestState
import Logging
import PipelineTesting
import Synchronization
import TestSupport
import Testing

@testable import IngestWatch
@testable import MediaIngest

/// What a watcher's batch settles of the rows a killed process left in flight: it lists only its own files, so it asks
/// the folders, row by row, which files are gone.
@Suite("IngestWatch: settling what a killed watcher left in flight")
struct WatchReconcileTests {
    @Test(
        "a batch settles earlier in-flight rows of files gone from either source (done when READY, else source_vanished) and leaves files still there"
    )
    func settlesVanishedRows() async throws {
        let project = TemporaryDirectory()
        try copyCorpus(["images/jpeg/gps_minimal.jpg"], into: project.file("inbox"))
        let old = Date().addingTimeInterval(-7200)
        try FileManager.default.setAttributes(
            [.modificationDate: old], ofItemAtPath: project.file("inbox/images/jpeg/gps_minimal.jpg"))
        // Written a moment ago, with a minAge of an hour: still there, not due for an hour, so not in the first batch
        // however slowly it comes.
        try FileManager.default.createDirectory(atPath: project.file("other"), withIntermediateDirectories: true)
        try Data("fresh".utf8).write(to: URL(fileURLWithPath: project.file("inbox/fresh.jpg")))
        let pipeline = try PipelineBuilder(registry: .builtins).build(
            data: Data(
                #"""
                {"name": "watched", "stages": [
                  {"kind": "source.directory", "with": {"path": "inbox", "minAge": "1h"}},
                  {"kind": "source.directory", "name": "other", "with": {"path": "other", "minAge": "1h"}},
                  {"kind": "detect.mime"}]}
                """#.utf8),
            file: project.file("pipelines/watched.json"), baseDirectory: project.path)

        // A killed watcher: four files began, one got a READY target, none was recorded; three are gone since.
        let killed = try SQLiteLedger(
            path: pipeline.state.ledgerPath, pipeline: pipeline.name, runID: "killed", maxAttempts: 3,
            dedupeByContent: false)
        for (root, key) in [
            ("inbox", "uploaded.jpg"), ("inbox", "lost.jpg"), ("inbox", "fresh.jpg"), ("other", "gone.jpg"),
        ] {
            let relative = key
            var asset = Asset(
                id: 1,
                origin: .file(
                    path: project.file("\(root)/\(relative)"), root: project.file(root), relativePath: relative),
                fileName: relative, contentPath: nil, size: 5, modificationDate: Date())
            if root == "other" { asset.ledgerKey = "other//" + relative }
            guard case .process = try await killed.begin(asset) else {
                Issue.record("a new asset is processed")
                return
            }
            if key == "uploaded.jpg" {
                asset.target = TargetRecord(target: "wix", id: "file-1", url: nil, status: "READY", confirmed: true)
                try await killed.checkpoint(asset)
            }
        }
        await killed.close()
        #expect(
            try await #require(try await SQLiteStateBackend().inspector(for: pipeline)).status().counts["in_flight"]
                == 4)

        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let service = WatchService(
            session: RunSession.Options(logger: logger, scratch: .none), state: SQLiteStateBackend())
        let control = WatchControl()
        let batches = Mutex([WatchService.Batch]())
        try await service.run(pipeline, control: control) { batch in
            batches.withLock { $0.append(batch) }
            control.stop()
        }
        #expect(batches.withLock { $0.map(\.files) } == [1], "the old file, alone")

        let summary = try await #require(try await SQLiteStateBackend().inspector(for: pipeline)).status()
        #expect(
            summary.counts["done"] == 2, "the file ingested and the one uploaded before the kill: \(summary.counts)")
        #expect(summary.counts["in_flight"] == 1, "fresh.jpg is still there, for the batch that lists it")
        #expect(summary.failures.map(\.identity) == ["lost.jpg", "other//gone.jpg"])
        #expect(summary.failures.allSatisfy { $0.code == "source_vanished" })
    }
}
