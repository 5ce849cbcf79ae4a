import Foundation
import TestSupport
import Testing

/// `source.list` names a file it cannot look at: the error decides (``ErrorPolicy``), not the source — a missing or
/// unreadable path is trouble that may pass, failed `io` and tried again, never a verdict that parks the line.
extension AccountingTests {
    @Test("a listed file that is not there yet fails (io), exit 1; the next run, once it exists, uploads it")
    func listedFileNotThereYet() async throws {
        let project = try makeProject(files: [])
        try project.write(
            "pipelines/list.json",
            #"""
            {"name": "list", "stages": [
              {"kind": "source.list", "with": {"file": "today.txt"}},
              {"kind": "detect.mime"},
              {"kind": "upload.library", "with": {"path": "library"}},
              {"kind": "report.manifest", "with": {"path": "m.jsonl"}}
            ]}
            """#)
        try project.write("today.txt", "later.jpg\n")
        func run() async throws -> (status: Int32, counts: [String: Int]) {
            let run = try await runProcessAsync(
                ingest, ["run", "list", "--json"], currentDirectory: project.path, timeout: 120)
            let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            return (run.status, report["counts"] as? [String: Int] ?? [:])
        }
        let first = try await run()
        #expect(first.status == 1, "some failed")
        #expect(first.counts["failed"] == 1 && first.counts["rejected"] == 0, "\(first.counts)")
        let line = try #require(try AccountingTests.lines(project.file("m.jsonl")).first { !$0.isEmpty })
        #expect(line.contains(#""code":"io""#) && line.contains("No such file or directory"), "\(line)")

        let again = try await run()
        #expect(again.counts["failed"] == 1, "still missing: tried again, not skipped: \(again.counts)")

        let jpeg = try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/jpeg/gps_minimal.jpg")))
        try jpeg.write(to: URL(fileURLWithPath: project.file("later.jpg")))
        let third = try await run()
        #expect(third.status == 0)
        #expect(third.counts["done"] == 1, "\(third.counts)")
    }
}
