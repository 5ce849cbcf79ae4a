import Foundation
import IngestStages
import MediaIngest
import PipelineTesting
import TestSupport
import Testing

@Suite("source.list and validate's quarantine move")
struct SourcesAndQuarantineTests {
    @Test(
        "source.list: relative and absolute paths, comments and blanks skipped; a FIFO, a URL when URLs are off and a bad URL are rejected with their codes, a missing file fails (io)"
    )
    func listSource() async throws {
        let project = TemporaryDirectory()
        // Paths are relative to the list's folder.
        try copyCorpus(["images/jpeg/gps_minimal.jpg", "images/png/iccp.png"], into: project.file("lists/media"))
        #expect(mkfifo(project.file("lists/media/pipe.jpg"), 0o644) == 0)
        try """
        # photos to send
        media/images/jpeg/gps_minimal.jpg

        \(project.file("lists/media/images/png/iccp.png"))
        media/pipe.jpg
        media/missing.jpg
        https://example.com/photo.jpg
        """.write(toFile: project.file("lists/today.txt"), atomically: true, encoding: .utf8)
        let pipeline = try buildPipeline(
            #"""
            {"name": "list", "state": {"enabled": false}, "stages": [
              {"kind": "source.list", "with": {"file": "lists/today.txt", "allowURLs": false}},
              {"kind": "detect.mime"}]}
            """#, base: project.path)
        let report = await PipelineRunner(
            pipeline: pipeline, options: RunOptions(workDirectoryParent: project.file("work"))
        ).run()
        let byPath = Dictionary(uniqueKeysWithValues: report.assets.map { ($0.path, $0) })
        #expect(report.assets.count == 5, "\(report.assets.map(\.path))")
        #expect(byPath["media/images/jpeg/gps_minimal.jpg"]?.status == .done)
        #expect(byPath["media/images/jpeg/gps_minimal.jpg"]?.mime == "image/jpeg")
        #expect(byPath[project.file("lists/media/images/png/iccp.png")]?.status == .done)
        #expect(byPath["media/pipe.jpg"]?.code == "not_regular_file")
        // A failed look is trouble that may pass (the list may name a file still to come): failed `io`, retried.
        #expect(byPath["media/missing.jpg"]?.status == .failed)
        #expect(byPath["media/missing.jpg"]?.code == "io")
        #expect(byPath["media/missing.jpg"]?.reason?.contains("No such file or directory") == true)
        #expect(byPath["https://example.com/photo.jpg"]?.code == "type_not_allowed")
    }

    @Test(
        "quarantine move: a rejected file leaves the inbox for the quarantine folder with its reason; a passing one stays"
    )
    func quarantineMove() async throws {
        let project = TemporaryDirectory()
        try copyCorpus(["adversarial/png_named_photo.jpg", "images/jpeg/gps_minimal.jpg"], into: project.file("inbox"))
        let pipeline = try buildPipeline(
            #"""
            {"name": "q", "state": {"enabled": false}, "stages": [
              {"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "detect.mime"},
              {"kind": "validate", "with": {"quarantine": "quarantine", "quarantineMode": "move"}}]}
            """#, base: project.path)
        let report = await PipelineRunner(
            pipeline: pipeline, options: RunOptions(workDirectoryParent: project.file("work"))
        ).run()
        #expect(report.count(.rejected) == 1 && report.count(.done) == 1)
        let moved = project.file("quarantine/adversarial/png_named_photo.jpg")
        #expect(FileManager.default.fileExists(atPath: moved))
        #expect(!FileManager.default.fileExists(atPath: project.file("inbox/adversarial/png_named_photo.jpg")))
        #expect(
            try sha256sum(moved) == (try sha256sum(Corpus.path("adversarial/png_named_photo.jpg"))),
            "moved, not changed")
        let reason = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: moved + ".reason.json")))
                as? [String: Any])
        #expect(reason["code"] as? String == "extension_mismatch")
        #expect(reason["method"] as? String == "move" && reason["mode"] as? String == "move")
        #expect(FileManager.default.fileExists(atPath: project.file("inbox/images/jpeg/gps_minimal.jpg")))
        // Under --dry-run nothing moves.
        try copyCorpus(["adversarial/png_named_photo.jpg"], into: project.file("inbox2"))
        let dry = try buildPipeline(
            #"""
            {"name": "q2", "state": {"enabled": false}, "stages": [
              {"kind": "source.directory", "with": {"path": "inbox2"}},
              {"kind": "detect.mime"},
              {"kind": "validate", "with": {"quarantine": "quarantine2", "quarantineMode": "move"}}]}
            """#, base: project.path)
        _ = await PipelineRunner(
            pipeline: dry, options: RunOptions(isDryRun: true, workDirectoryParent: project.file("work"))
        ).run()
        #expect(FileManager.default.fileExists(atPath: project.file("inbox2/adversarial/png_named_photo.jpg")))
        #expect(!FileManager.default.fileExists(atPath: project.file("quarantine2")))
    }
}
