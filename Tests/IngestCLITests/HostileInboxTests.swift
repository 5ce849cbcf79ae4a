import Foundation
import TestSupport
import Testing

/// The defects a reliability run found in a hostile inbox, each reproduced with real files made here: a symlink to
/// `/dev/zero`, a FIFO, sparse 2 GiB files, file names that forge log lines, broken pipeline files.
@Suite("a hostile inbox", .serialized)
struct HostileInboxTests {
    static let pipeline = #"""
        {"name": "hostile", "stages": [
          {"kind": "source.directory", "with": {"path": "inbox"}},
          {"kind": "detect.mime"},
          {"kind": "validate", "with": {"profile": "wix", "quarantine": "quarantine"}},
          {"kind": "upload.library", "with": {"path": "library"}},
          {"kind": "report.manifest", "with": {"path": "manifest.jsonl"}}
        ]}
        """#

    static func manifest(_ project: TemporaryDirectoryHandle) throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: project.file("manifest.jsonl"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    @Test(
        "a link to /dev/zero and one to /etc/passwd: rejected, never read (no hang, no hash), skipped quietly next run")
    func linksLeavingTheRoot() async throws {
        let project = try makeProject(files: ["images/png/iccp.png"])
        try project.write("pipelines/hostile.json", Self.pipeline)
        try FileManager.default.createSymbolicLink(
            atPath: project.file("inbox/z.jpg"), withDestinationPath: "/dev/zero")
        try FileManager.default.createSymbolicLink(
            atPath: project.file("inbox/passwd.jpg"), withDestinationPath: "/etc/passwd")
        let started = Date()
        let result = try await runProcessAsync(ingest, ["run", "hostile"], currentDirectory: project.path, timeout: 60)
        #expect(Date().timeIntervalSince(started) < 30, "the run ended instead of reading /dev/zero for ever")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let lines = try Self.manifest(project)
        for name in ["z.jpg", "passwd.jpg"] {
            let line = try #require(lines.first { $0["path"] as? String == name })
            #expect(line["code"] as? String == "outside_root")
            #expect(line["sha256"] == nil, "\(name): nothing is read through a rejected link")
        }
        // The verdict is remembered: the next run does not reject (or report) them again.
        let again = try await runProcessAsync(
            ingest, ["run", "hostile", "--json"], currentDirectory: project.path, timeout: 60)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        #expect((report["counts"] as? [String: Int])?["rejected"] == 0, "\(again.stdout)")
        #expect((report["counts"] as? [String: Int])?["skipped"] == 3)
    }

    @Test("a FIFO, and a link to a FIFO inside the inbox: rejected as not_regular_file, never opened")
    func fifo() async throws {
        let project = try makeProject(files: ["images/png/iccp.png"])
        try project.write("pipelines/hostile.json", Self.pipeline)
        #expect(mkfifo(project.file("inbox/pipe.jpg"), 0o644) == 0)
        try FileManager.default.createSymbolicLink(
            atPath: project.file("inbox/to-pipe.png"), withDestinationPath: project.file("inbox/pipe.jpg"))
        let result = try await runProcessAsync(ingest, ["run", "hostile"], currentDirectory: project.path, timeout: 60)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let lines = try Self.manifest(project)
        for name in ["pipe.jpg", "to-pipe.png"] {
            let line = try #require(lines.first { $0["path"] as? String == name }, "\(name) is in the report")
            #expect(line["code"] as? String == "not_regular_file")
            #expect((line["reason"] as? String)?.contains("FIFO") == true, "\(line)")
        }
        #expect(result.stdout.contains("pipe.jpg — not_regular_file: a FIFO (named pipe): only regular files are read"))
    }

    @Test("two sparse 2 GiB files rejected as too_large: quarantined without 4 GB of disk")
    func sparseQuarantine() async throws {
        let project = try makeProject(files: [])
        try project.write("pipelines/hostile.json", Self.pipeline)
        try FileManager.default.createDirectory(atPath: project.file("inbox"), withIntermediateDirectories: true)
        for name in ["huge1.jpg", "huge2.jpg"] {
            let path = project.file("inbox/" + name)
            try Data(try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/jpeg/gps_minimal.jpg")))).write(
                to: URL(fileURLWithPath: path))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.truncate(atOffset: 2 << 30)
            try handle.close()
        }
        let result = try await runProcessAsync(
            ingest, ["run", "hostile"], currentDirectory: project.path, timeout: 120)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let usage =
            try runProcess("/usr/bin/du", ["-sk", project.file("quarantine")]).stdout.split(separator: "\t").first
            .flatMap { Int($0) } ?? .max
        #expect(usage < 10_000, "quarantine uses \(usage) KiB of disk")
        for name in ["huge1.jpg", "huge2.jpg"] {
            let reason = try #require(
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: project.file("quarantine/\(name).reason.json"))))
                    as? [String: Any])
            #expect(reason["code"] as? String == "too_large")
            #expect(["reflink", "hard-link", "sparse-copy"].contains(reason["method"] as? String ?? ""), "\(reason)")
            #expect(
                (try FileManager.default.attributesOfItem(atPath: project.file("quarantine/" + name))[.size] as? Int)
                    == 2 << 30)
        }
        // The sources are where they were, unchanged.
        #expect(
            (try FileManager.default.attributesOfItem(atPath: project.file("inbox/huge1.jpg"))[.size] as? Int) == 2
                << 30)
    }

    @Test(
        "file names with newlines and escape sequences cannot forge log lines or reach the terminal; JSON keeps them exact"
    )
    func forgedNames() async throws {
        let project = try makeProject(files: [])
        try project.write("pipelines/hostile.json", Self.pipeline)
        let forged = "a.jpg\n2026-12-01T00:00:00.000Z info [asset=evil.jpg] uploaded"
        let coloured = "\u{1B}[31mred\u{1B}[0m.jpg"
        let reversed = "photo\u{202E}gpj.exe"
        try FileManager.default.createDirectory(atPath: project.file("inbox"), withIntermediateDirectories: true)
        for name in [forged, coloured, reversed] {
            try Data("not an image".utf8).write(to: URL(fileURLWithPath: project.file("inbox/" + name)))
        }
        let result = try await runProcessAsync(
            ingest, ["run", "hostile", "--verbose", "--log-file", project.file("ingest.log")],
            currentDirectory: project.path, timeout: 60)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let log = try String(contentsOfFile: project.file("ingest.log"), encoding: .utf8)
        for output in [result.stdout, result.stderr, log] {
            #expect(!output.contains("\u{1B}"), "an escape sequence got through")
            #expect(!output.contains("\u{202E}"), "a bidi override got through")
            #expect(
                !output.split(separator: "\n").contains { $0.hasPrefix("2026-12-01T00:00:00.000Z") },
                "a forged line got through")
        }
        #expect(result.stdout.contains(#"a.jpg\n2026-12-01T00:00:00.000Z info [asset=evil.jpg] uploaded"#))
        #expect(result.stdout.contains(#"\x1b[31mred\x1b[0m.jpg"#))
        #expect(log.split(separator: "\n").allSatisfy { $0.hasPrefix("20") }, "every log line is one of ours")
        // The JSON outputs keep the exact names.
        let names = Set(try Self.manifest(project).compactMap { $0["path"] as? String })
        #expect(names == [forged, coloured, reversed])
    }

    @Test(
        "broken pipeline files: a cut-off file names line and column, a duplicate key its path, negative limits are refused"
    )
    func brokenPipelineFiles() throws {
        let project = try makeProject()
        try project.write(
            "pipelines/cut.json",
            "{\"name\": \"cut\",\n  \"stages\": [\n    {\"kind\": \"source.directory\", \"with\": {\"path\": \"in")
        let cut = try runProcess(ingest, ["check", "cut"], currentDirectory: project.path)
        #expect(cut.status == 2)
        #expect(cut.stdout.contains("line 3, column"), "\(cut.stdout)")
        try project.write(
            "pipelines/twice.json",
            #"""
            {"stages": [{"kind": "source.directory", "with": {"path": "inbox", "path": "elsewhere"}}]}
            """#)
        let twice = try runProcess(ingest, ["check", "twice"], currentDirectory: project.path)
        #expect(twice.status == 2)
        #expect(
            twice.stdout.contains(#"stages[0].with.path: not valid JSON at line 1, column 68: duplicate key "path""#),
            "\(twice.stdout)")
        try project.write(
            "pipelines/negative.json",
            #"""
            {"stages": [{"kind": "source.directory", "with": {"path": "inbox", "maxDepth": -1}},
                        {"kind": "validate", "with": {"maxWidth": -5}}]}
            """#)
        let negative = try runProcess(ingest, ["check", "negative"], currentDirectory: project.path)
        #expect(negative.status == 2)
        #expect(negative.stdout.contains("stages[0].with.maxDepth: expected 0 or more, got -1"), "\(negative.stdout)")
        #expect(negative.stdout.contains("stages[1].with.maxWidth"), "\(negative.stdout)")
    }

    @Test("ingest status reads the ledger without the pipeline's secrets")
    func statusWithoutSecrets() throws {
        let project = try makeProject()
        try project.write(
            "pipelines/wix.json",
            #"""
            {"stages": [{"kind": "source.directory", "with": {"path": "inbox"}},
                        {"kind": "upload.wix", "with": {"siteId": "s", "apiKey": {"env": "NO_SUCH_KEY_VAR"}}},
                        {"kind": "upload.wix", "name": "second", "with": {"siteId": "s", "apiKey": {"file": "no/such/key/file"}}}]}
            """#)
        let status = try runProcess(
            ingest, ["status", "wix"], environment: ["NO_SUCH_KEY_VAR": ""], currentDirectory: project.path)
        #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
        #expect(status.stdout.contains("no runs yet"))
    }

    @Test("two pipelines archiving from one inbox: files the other one moved are not failures for ever")
    func sharedInbox() async throws {
        let files = Corpus.expectations(under: "images/jpeg/orientation_").map(\.path)
        let project = try makeProject(files: files)
        for name in ["first", "second"] {
            try project.write(
                "pipelines/\(name).json",
                """
                {"name": "\(name)", "concurrency": 1, "stages": [
                  {"kind": "source.directory", "with": {"path": "inbox"}},
                  {"kind": "exec", "with": {"command": ["sleep", "0.2"]}},
                  {"kind": "strip.metadata"},
                  {"kind": "upload.library", "with": {"path": "library-\(name)"}},
                  {"kind": "source.archive", "with": {"to": "archive-\(name)"}}
                ]}
                """)
        }
        async let first = runProcessAsync(ingest, ["run", "first"], currentDirectory: project.path, timeout: 120)
        async let second = runProcessAsync(ingest, ["run", "second"], currentDirectory: project.path, timeout: 120)
        _ = try await (first, second)
        // Which files each run saw depends on when it listed the inbox (the other may have archived some already), so
        // the contract is: every row a run kept is done or vanished, none failed, and each file was archived once.
        for name in ["first", "second"] {
            let status = try runProcess(ingest, ["status", name, "--json"], currentDirectory: project.path)
            let summary = try #require(
                try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
            let counts = summary["counts"] as? [String: Int] ?? [:]
            #expect(counts["failed"] == nil, "\(name): \(status.stdout)")
            let settled = (counts["done"] ?? 0) + (counts["vanished"] ?? 0)
            #expect(settled == counts.values.reduce(0, +), "\(name): \(counts)")
            #expect(settled <= files.count, "\(name): \(counts)")
        }
        // A run that lost every race to the other archived nothing, so its folder may never have been made.
        let archived = try ["archive-first", "archive-second"].flatMap { folder in
            let path = project.path + "/" + folder
            guard FileManager.default.fileExists(atPath: path) else { return [String]() }
            return try FileManager.default.subpathsOfDirectory(atPath: path)
                .filter { $0.hasSuffix(".jpg") }.map { ($0 as NSString).lastPathComponent }
        }
        #expect(archived.count == files.count, "\(archived)")
        #expect(Set(archived).count == files.count, "\(archived)")
        let remaining = try FileManager.default.contentsOfDirectory(atPath: project.path + "/inbox")
        #expect(remaining.filter { $0.hasSuffix(".jpg") }.isEmpty, "\(remaining)")
    }
}
