import Foundation
import TestSupport
import Testing

/// A full disk, met the way a careful user meets one: a small file system mounted for the run's outputs (tmpfs in a
/// mount namespace of the run's own, `unshare -rm`), so a write fails in the middle of a line.
@Suite("a full disk", .serialized)
struct FullDiskTests {
    static let pipeline = AccountingTests.pipeline

    @Test(
        "a full disk: a manifest line that cannot be written is taken back whole and counted (exit 1); the next run appends whole lines"
    )
    func tornManifestLines() async throws {
        let project = try makeProject(files: [
            "images/jpeg/gps_minimal.jpg", "images/png/iccp.png", "images/png/minimal_transparent.png",
        ])
        try project.write("pipelines/acct.json", Self.pipeline)
        try FileManager.default.createDirectory(
            atPath: project.file("manifests"), withIntermediateDirectories: true)
        // A 8 KiB file system, in a mount namespace of its own, filled to a few hundred bytes of the manifest's
        // second page; the manifest is copied out after each run.
        let script = #"""
            set -u
            mount -t tmpfs -o size=${SIZE:-8k} tmpfs "$1/manifests" || exit 99
            if [ -f "$1/saved.jsonl" ]; then cp "$1/saved.jsonl" "$1/manifests/m.jsonl"; fi
            head -c 4096 /dev/zero > "$1/manifests/filler"
            if [ ! -f "$1/manifests/m.jsonl" ]; then
              i=0; while [ $i -lt 40 ]; do
                printf '{"earlier":"line %02d of an earlier run ..........................................."}\n' $i
                i=$((i+1)); done > "$1/manifests/m.jsonl"
            fi
            "$2" run acct --json > "$1/out.json"; code=$?
            cp "$1/manifests/m.jsonl" "$1/saved.jsonl"
            exit $code
            """#
        try project.write("full.sh", script)
        let first = try await runProcessAsync(
            "/usr/bin/unshare", ["-rm", "/bin/sh", project.file("full.sh"), project.path, ingest],
            currentDirectory: project.path, timeout: 120)
        try #require(first.status != 99, "cannot mount a tmpfs here: \(first.stderr)")
        #expect(first.status == 1, "lines lost are in the exit code: \(first.stdout)\(first.stderr)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: project.file("out.json"))))
                as? [String: Any])
        let problems = report["problems"] as? [[String: Any]] ?? []
        let lost = try #require(problems.first { $0["kind"] as? String == "lines_lost" }, "\(problems)")
        let lostCount = lost["count"] as? Int ?? 0
        #expect(lostCount >= 1)
        let saved = try AccountingTests.lines(project.file("saved.jsonl"))
        #expect(saved.last == "", "the manifest ends on a whole line")
        for line in saved.dropLast() {
            #expect(
                (try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "a line that never parses: \(line)")
        }
        #expect(saved.count - 1 == 40 + 3 - lostCount, "\(saved.count - 1) lines")

        // A manifest a crash left ending in half a line is cut back to its last whole line before the next append.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: project.file("saved.jsonl")))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"torn": "half a li"#.utf8))
        try handle.close()
        try copyCorpus(["images/gif/plain.gif"], into: project.file("inbox"))
        let second = try await runProcessAsync(
            "/usr/bin/unshare", ["-rm", "/bin/sh", project.file("full.sh"), project.path, ingest],
            environment: ["SIZE": "256k"], currentDirectory: project.path, timeout: 120)
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        let repaired = try AccountingTests.lines(project.file("saved.jsonl"))
        #expect(repaired.last == "")
        #expect(repaired.count - 1 == saved.count - 1 + 1, "the torn fragment cut, the new line whole")
        for line in repaired.dropLast() {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "\(line)")
        }
    }

    @Test("a metrics file that cannot be written is in the exit code; a ledger on a full disk says so")
    func outputsOnAFullDisk() async throws {
        let project = try makeProject(files: ["images/jpeg/gps_minimal.jpg"])
        try project.write("pipelines/acct.json", Self.pipeline)
        let metrics = try await runProcessAsync(
            ingest, ["run", "acct", "--json", "--metrics-file", "/proc/ingest-test/m.prom"],
            currentDirectory: project.path, timeout: 120)
        #expect(metrics.status == 1, "\(metrics.stdout)\(metrics.stderr)")
        #expect(metrics.stdout.contains("output_not_written"), "\(metrics.stdout)")

        // The ledger's folder on a file system that is full: the error names the cause.
        try copyCorpus(["images/png/iccp.png"], into: project.file("inbox"))
        let script = #"""
            mount -t tmpfs -o size=64k tmpfs "$1/.ingest" || exit 99
            cp "$1/saved.sqlite" "$1/.ingest/acct.sqlite"
            head -c 1048576 /dev/zero > "$1/.ingest/filler" 2>/dev/null
            "$2" run acct
            """#
        try project.write("full.sh", script)
        try FileManager.default.copyItem(
            atPath: project.file(".ingest/acct.sqlite"), toPath: project.file("saved.sqlite"))
        let full = try await runProcessAsync(
            "/usr/bin/unshare", ["-rm", "/bin/sh", project.file("full.sh"), project.path, ingest],
            currentDirectory: project.path, timeout: 120)
        try #require(full.status != 99, "cannot mount a tmpfs here: \(full.stderr)")
        #expect(full.status != 0)
        #expect((full.stdout + full.stderr).contains("no space left on its disk"), "\(full.stdout)\(full.stderr)")
        #expect(!(full.stdout + full.stderr).contains("cannot read the ledger"))
    }

}
