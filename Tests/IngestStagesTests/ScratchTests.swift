import Foundation
import IngestStages
import Logging
import MediaIngest
import PipelineTesting
import TestSupport
import Testing

/// Small work files go to a memory-backed scratch folder when the run has one; large ones and hint-less ones to disk;
/// both are gone when the asset and the run are done, and leftovers of killed runs are cleared.
@Suite("scratch space for work files")
struct ScratchTests {
    @Test("stripped copies land in the scratch folder, which is removed after the run; stale leftovers are cleared")
    func stripsIntoScratch() async throws {
        let scratch = TemporaryDirectory(prefix: "scratch")
        // A leftover of a killed run of this pipeline, seven hours old, and a fresh one that may belong to a live run.
        let stale = scratch.file("ingest-scratchtest-20260101T000000Z-dead")
        let fresh = scratch.file("ingest-scratchtest-20260101T000000Z-1ee7")
        // Another pipeline whose name starts the same way: not this pipeline's leftover, however old.
        let other = scratch.file("ingest-scratchtest-raw-20260101T000000Z-0bad")
        for folder in [stale, fresh, other] {
            try FileManager.default.createDirectory(atPath: folder + "/1", withIntermediateDirectories: true)
        }
        for old in [stale, other] {
            try FileManager.default.setAttributes(
                [.modificationDate: Date().addingTimeInterval(-7 * 3600)], ofItemAtPath: old)
        }

        let collector = CollectingStage()
        let files = ["images/jpeg/gps_Apple_iPhone_4.jpg", "images/png/iccp.png", "images/webp/exif_orient6.webp"].map(
            Corpus.path)
        let pipeline = Pipeline.testing(
            files: files, stages: [Pipeline.Component(StripStage()), Pipeline.Component(collector)], name: "scratchtest"
        )
        let report = await PipelineRunner(pipeline: pipeline, options: RunOptions(scratch: .parent(scratch.path))).run()
        #expect(report.count(.done) == 3)
        for asset in collector.assets {
            #expect(
                asset.contentPath?.hasPrefix(scratch.path + "/ingest-scratchtest-") == true,
                "\(asset.contentPath ?? "")")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted()
        #expect(
            left == [(fresh as NSString).lastPathComponent, (other as NSString).lastPathComponent],
            "the live run's and the other pipeline's stay: \(left)")
    }

    @Test("no hint, too large or no room: the disk-backed work folder")
    func sizeRules() throws {
        let scratch = TemporaryDirectory(prefix: "scratch")
        #expect(ScratchSpace.hasRoom(at: scratch.path, for: 1 << 20, concurrency: 4))
        #expect(!ScratchSpace.hasRoom(at: scratch.path, for: ScratchSpace.maximumFileSize + 1, concurrency: 1))
        #expect(!ScratchSpace.hasRoom(at: scratch.path + "/missing", for: 1, concurrency: 1))
        let pipelineContext = PipelineContext(
            pipelineName: "t", runID: "r", logger: .init(label: "t"), workDirectory: scratch.file("work"),
            baseDirectory: "/", concurrency: 1,
            scratchDirectory: scratch.file("fast"))
        try FileManager.default.createDirectory(atPath: scratch.file("work"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch.file("fast"), withIntermediateDirectories: true)
        let context = StageContext(
            pipeline: pipelineContext, logger: .init(label: "t"), worker: 0, stageName: "s",
            assetWorkDirectory: scratch.file("work/1"))
        #expect(try context.makeWorkFile(named: "a", sizeHint: 1000).hasPrefix(scratch.file("fast/1/")))
        #expect(try context.makeWorkFile(named: "b").hasPrefix(scratch.file("work/1/")))
        #expect(try context.makeWorkFile(named: "c", sizeHint: 1 << 40).hasPrefix(scratch.file("work/1/")))
    }

    @Test("tmpfs detection reads the mount table")
    func tmpfs() {
        #expect(!ScratchSpace.isTmpfs("/proc/self"))
        let mounts = (try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? ""
        if mounts.split(separator: "\n").contains(where: {
            $0.split(separator: " ").dropFirst().first == "/dev/shm" && $0.contains(" tmpfs ")
        }) {
            #expect(ScratchSpace.isTmpfs("/dev/shm"))
            #expect(ScratchSpace.isTmpfs("/dev/shm/some/file"))
        }
    }
}
