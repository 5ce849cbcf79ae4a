import Foundation
import TestSupport
import Testing

/// `upload.library`'s `layout`: files where a person browsing the folder finds them, by date and name, a taken name
/// never overwritten, the same bytes stored once.
@Suite("upload.library layout", .cleansUp)
struct LibraryLayoutTests {
    @Test("{yyyy}/{mm}/{name}: two different a.jpg get a.jpg and a (1).jpg; the same bytes again are not stored twice")
    func layout() async throws {
        let project = try makeProject(files: [])
        for folder in ["inbox/one", "inbox/two", "inbox/three"] {
            try FileManager.default.createDirectory(atPath: project.file(folder), withIntermediateDirectories: true)
        }
        let canon = Corpus.path("images/jpeg/Canon_DIGITAL_IXUS_400.jpg")
        let nikon = Corpus.path("images/jpeg/Nikon_COOLPIX_P1.jpg")
        try FileManager.default.copyItem(atPath: canon, toPath: project.file("inbox/one/a.jpg"))
        try FileManager.default.copyItem(atPath: nikon, toPath: project.file("inbox/two/a.jpg"))
        try FileManager.default.copyItem(atPath: canon, toPath: project.file("inbox/three/a.jpg"))
        let when = ISO8601DateFormatter().date(from: "2025-03-09T10:00:00Z")!
        for folder in ["one", "two", "three"] {
            try FileManager.default.setAttributes(
                [.modificationDate: when], ofItemAtPath: project.file("inbox/\(folder)/a.jpg"))
        }
        try project.write(
            "pipelines/l.json",
            #"""
            {"name": "l", "concurrency": 1, "stages": [
              {"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "detect.mime"},
              {"kind": "upload.library", "with": {"path": "library", "layout": "{yyyy}/{mm}/{name}"}}
            ]}
            """#)
        let run = try await runProcessAsync(ingest, ["run", "l"], currentDirectory: project.path)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let month = project.file("library/2025/03")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: month)) == ["a.jpg", "a (1).jpg"])
        // The first stored (one/a.jpg, the Canon) keeps the name; the Nikon gets " (1)"; three/a.jpg is the Canon's
        // bytes again: not stored a third time.
        #expect(try sha256sum(month + "/a.jpg") == sha256sum(canon))
        #expect(try sha256sum(month + "/a (1).jpg") == sha256sum(nikon))
        let index = try FileManager.default.subpathsOfDirectory(atPath: project.file("library/files"))
        #expect(index.filter { $0.hasSuffix(".json") }.count == 2, "one descriptor per content: \(index)")

        try project.write(
            "pipelines/bad.json",
            #"{"name": "bad", "stages": [{"kind": "source.directory", "with": {"path": "inbox"}}, {"kind": "upload.library", "with": {"path": "library", "layout": "{year}/{name}"}}]}"#
        )
        let check = try await runProcessAsync(ingest, ["check", "bad"], currentDirectory: project.path)
        #expect(check.status == 2)
        #expect(check.stdout.contains("layout") || check.stderr.contains("layout"), "\(check.stdout)\(check.stderr)")
    }
}
