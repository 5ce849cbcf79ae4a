import Foundation
import IngestStages
import MediaIngest
import PipelineTesting
import TestSupport
import Testing

/// The run's disk-backed work folder lives in a shared folder (`/tmp` by default): what killed runs left there is
/// cleared like scratch leftovers, and nothing another user planted there is followed, used or emptied.
@Suite("work folders in a shared temporary folder")
struct WorkFolderTests {
    static let files = ["images/jpeg/gps_Apple_iPhone_4.jpg", "images/png/iccp.png"].map(Corpus.path)

    static func pipeline() -> Pipeline {
        Pipeline.testing(files: files, stages: [Pipeline.Component(StripStage())], name: "worktest")
    }

    /// A folder of someone else's with a file in it, last changed seven hours ago.
    static func victim(in folder: TemporaryDirectory) throws -> String {
        let victim = folder.file("victim")
        try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: true)
        try "keep".write(toFile: victim + "/precious.txt", atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(-7 * 3600)], ofItemAtPath: victim)
        return victim
    }

    @Test("killed runs' work folders are cleared after six hours; links named like them are never followed")
    func leftovers() async throws {
        let work = TemporaryDirectory(prefix: "work")
        let scratch = TemporaryDirectory(prefix: "scratch")
        let outside = TemporaryDirectory(prefix: "outside")
        let victim = try Self.victim(in: outside)
        let stale = work.file("ingest-worktest-20260101T000000Z-dead")
        let fresh = work.file("ingest-worktest-20260101T000000Z-1ee7")
        for folder in [stale, fresh] {
            try FileManager.default.createDirectory(atPath: folder + "/1", withIntermediateDirectories: true)
            try "work".write(toFile: folder + "/1/big.jpg", atomically: false, encoding: .utf8)
        }
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(-7 * 3600)], ofItemAtPath: stale)
        // Links another user could plant in /tmp or /dev/shm, named like stale leftovers of this pipeline.
        let planted = [
            work.file("ingest-worktest-20260101T000000Z-beef"), scratch.file("ingest-worktest-20260101T000000Z-beef"),
        ]
        for link in planted { try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: victim) }

        let report = await PipelineRunner(
            pipeline: Self.pipeline(),
            options: RunOptions(workDirectoryParent: work.path, scratch: .parent(scratch.path))
        ).run()
        #expect(report.count(.done) == 2)
        #expect(!FileManager.default.fileExists(atPath: stale), "a killed run's folder, seven hours old, is gone")
        #expect(FileManager.default.fileExists(atPath: fresh + "/1/big.jpg"), "a recent one may be a live run's")
        #expect(try FileManager.default.contentsOfDirectory(atPath: victim) == ["precious.txt"])
    }

    @Test("a folder or link already at the run's work folder name is refused, and what it points at is left alone")
    func plantedRunFolder() async throws {
        let work = TemporaryDirectory(prefix: "work")
        let outside = TemporaryDirectory(prefix: "outside")
        let victim = try Self.victim(in: outside)
        let runID = "20261201T000000Z-abcd"
        try FileManager.default.createSymbolicLink(
            atPath: work.file("ingest-worktest-\(runID)"), withDestinationPath: victim)

        let report = await PipelineRunner(
            pipeline: Self.pipeline(), options: RunOptions(workDirectoryParent: work.path, runID: runID, scratch: .none)
        ).run()
        #expect(report.aborted?.contains("ingest-worktest-\(runID)") == true, "\(report.aborted ?? "not aborted")")
        #expect(report.count(.done) == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: victim) == ["precious.txt"])

        // A normal run's folder is the user's alone and gone afterwards.
        let normal = PipelineRunner(
            pipeline: Self.pipeline(), options: RunOptions(workDirectoryParent: work.path, scratch: .none))
        #expect(await normal.run().count(.done) == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path) == ["ingest-worktest-\(runID)"])
    }
}
