import Foundation
import IngestState
import MediaIngest
import TestSupport
import Testing

/// Plays an upload the target confirmed (READY), as upload.wix + wix.await-ready would.
struct ConfirmedUploadStage: Stage, StageDefinition {
    static let kind = "test.confirmed-upload"
    static let phase = StagePhase.upload
    static let summary = "Records a confirmed upload."
    static let options: [OptionSpec] = []

    init(options: OptionValues, context: StageBuildContext) throws {}

    func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        var asset = asset
        asset.target = TargetRecord(
            target: "test", id: "file-\(asset.fileName)", url: nil, status: "READY", confirmed: true)
        return .next(asset)
    }
}

/// Moves the source into `archive/` (as source.archive does after READY), then fails as a later step might.
struct ArchiveThenFailStage: Stage, StageDefinition {
    static let kind = "test.archive-then-fail"
    static let phase = StagePhase.post
    static let summary = "Archives the source, then fails."
    static let archive = StageOption<String>("archive", doc: "The archive folder.")
    static let options: [OptionSpec] = [archive.spec]
    let folder: String

    init(options: OptionValues, context: StageBuildContext) throws { folder = try options[Self.archive] }

    func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileSystem.rename(asset.origin.path ?? "", to: folder + "/" + asset.fileName)
        throw IOFailure("the step after the archive could not finish")
    }
}

@Suite("what the ledger records")
struct LedgerRecordingTests {
    @Test(
        "a failure after the confirmed upload archived the file records it done: put back, it is not uploaded again")
    func archivedThenFailed() async throws {
        let project = try StateProject()
        defer { project.remove() }
        try project.copy("images/jpeg/gps_minimal.jpg", to: "inbox/a.jpg")
        let pipeline = try project.pipeline(
            """
            {"name": "archived", "stages": [{"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "test.confirmed-upload"},
              {"kind": "test.archive-then-fail", "with": {"archive": "\(project.path("archive"))"}}]}
            """)
        let first = try await project.run(pipeline)
        #expect(first.report.count(.failed) == 1)
        #expect(try await project.summary(pipeline).counts == ["done": 1], "uploaded and archived is done")

        // Someone moves the archived file back (same bytes, same modification time): nothing to upload.
        try FileSystem.rename(project.path("archive/a.jpg"), to: project.path("inbox/a.jpg"))
        let second = try await project.run(pipeline)
        #expect(second.report.count(.skipped) == 1, "\(second.report.counts)")
    }

    @Test("a failure whose file is gone without a confirmed upload records it vanished; it comes back as a new file")
    func vanishedWithoutUpload() async throws {
        let project = try StateProject()
        defer { project.remove() }
        try project.copy("images/jpeg/gps_minimal.jpg", to: "inbox/a.jpg")
        let pipeline = try project.pipeline(
            """
            {"name": "gone", "stages": [{"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "test.archive-then-fail", "with": {"archive": "\(project.path("elsewhere"))"}}]}
            """)
        #expect(try await project.run(pipeline).report.count(.failed) == 1)
        #expect(try await project.summary(pipeline).counts == ["vanished": 1])
    }
}
