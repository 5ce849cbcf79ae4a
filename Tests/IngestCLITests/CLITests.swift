import Foundation
import TestSupport
import Testing

let ingest = builtProduct("ingest")

/// A project folder with `pipelines/` and an inbox of corpus files.
func makeProject(
    files: [String] = ["images/png/iccp.png", "images/jpeg/gps_minimal.jpg", "documents/minimal.pdf"]
) throws -> TemporaryDirectoryHandle {
    let project = TemporaryDirectoryHandle()
    try FileManager.default.createDirectory(atPath: project.file("pipelines"), withIntermediateDirectories: true)
    try copyCorpus(files, into: project.file("inbox"))
    return project
}

/// A temporary folder removed on release.
final class TemporaryDirectoryHandle: Sendable {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ingest-cli-\(UUID().uuidString)").path
    init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    func file(_ name: String) -> String { path + "/" + name }
    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: file(name), atomically: true, encoding: .utf8)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

@Suite("ingest CLI", .serialized)
struct CLITests {
    @Test("`ingest check` prints every mistake with its JSON path and exits 2")
    func checkReportsAllMistakes() throws {
        let project = try makeProject()
        try project.write(
            "pipelines/broken.json",
            #"""
            {"name": "broken", "stages": [
              {"kind": "source.directory", "with": {"path": "inbox", "minAge": "soon"}},
              {"kind": "upload.libary", "with": {"path": "library"}},
              {"kind": "report.manifest", "with": {"pth": "m.jsonl"}}
            ]}
            """#)
        let result = try runProcess(ingest, ["check", "broken"], currentDirectory: project.path)
        #expect(result.status == 2)
        #expect(result.stdout.contains("broken.json: 3 errors"))
        #expect(
            result.stdout.contains(#"error: stages[0].with.minAge: expected a duration like "30s" or "5m", got "soon""#)
        )
        #expect(
            result.stdout.contains(
                #"error: stages[1].kind: unknown stage kind "upload.libary" (did you mean "upload.library"?)"#))
        #expect(result.stdout.contains(#"error: stages[2].with.pth: unknown option "pth" (did you mean "path"?)"#))

        try project.write(
            "pipelines/good.json", #"{"stages": [{"kind": "source.directory", "with": {"path": "inbox"}}]}"#)
        let good = try runProcess(ingest, ["check", "good"], currentDirectory: project.path)
        #expect(good.status == 0)
        #expect(good.stdout.contains("good.json: ok (source.directory)"))
        let all = try runProcess(ingest, ["check"], currentDirectory: project.path)
        #expect(all.status == 2, "checking every pipeline fails when one is broken")
        let missing = try runProcess(ingest, ["check", "godo"], currentDirectory: project.path)
        #expect(missing.status == 2)
        #expect(
            missing.stderr.contains(#"no pipeline named "godo""#) && missing.stderr.contains(#"did you mean "good"?"#))
    }

    @Test("`ingest stages` lists every registered kind with its options")
    func stagesCatalogue() throws {
        let result = try runProcess(ingest, ["stages", "--json"])
        #expect(result.status == 0)
        let catalogue = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        let kinds = Set(catalogue.compactMap { $0["kind"] as? String })
        #expect(kinds.isSuperset(of: ["source.directory", "source.list", "upload.library", "report.manifest"]))
        for entry in catalogue {
            let options = try #require(entry["options"] as? [[String: Any]])
            for option in options {
                #expect(option["name"] is String && option["type"] is String && option["doc"] is String)
            }
        }
        let text = try runProcess(ingest, ["stages"])
        for kind in kinds { #expect(text.stdout.contains("  \(kind)")) }
        #expect(text.stdout.contains("minAge: duration = \"0s\""))
        let one = try runProcess(ingest, ["stages", "upload.libary"])
        #expect(one.status == 2)
        #expect(one.stderr.contains(#"did you mean "upload.library"?"#))
    }

    @Test("`ingest run` stores files, prints a summary or JSON, and maps outcomes to exit codes")
    func runAndExitCodes() throws {
        let project = try makeProject()
        try project.write(
            "pipelines/lib.json",
            #"""
            {"stages": [{"kind": "source.directory", "with": {"path": "inbox"}},
                        {"kind": "upload.library", "with": {"path": "library"}},
                        {"kind": "report.manifest", "with": {"path": "manifest.jsonl"}}]}
            """#)
        let run = try runProcess(ingest, ["run", "lib"], currentDirectory: project.path)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("lib: 3 done, 0 rejected, 0 failed"))
        // The ledger remembers: a re-run skips the three files and has nothing to do.
        let json = try runProcess(ingest, ["run", "lib", "--json"], currentDirectory: project.path)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((report["counts"] as? [String: Int])?["skipped"] == 3)
        #expect(report["outcome"] as? String == "nothing_to_do")
        #expect(json.status == 0)
        #expect(try runProcess(ingest, ["run", "lib", "--error-on-idle"], currentDirectory: project.path).status == 3)

        let dry = try runProcess(ingest, ["run", "lib", "--dry-run"], currentDirectory: project.path)
        #expect(dry.status == 0)
        #expect(dry.stdout.contains("dry run of lib: 3 planned"))

        try project.write(
            "pipelines/gone.json", #"{"stages": [{"kind": "source.directory", "with": {"path": "no-such-inbox"}}]}"#)
        let gone = try runProcess(ingest, ["run", "gone"], currentDirectory: project.path)
        #expect(gone.status == 5)
        #expect(
            gone.stdout.contains(
                "aborted: source \"source.directory\" failed: cannot read \(project.path)/no-such-inbox: No such file or directory"
            ))

        try FileManager.default.createDirectory(atPath: project.file("empty"), withIntermediateDirectories: true)
        try project.write(
            "pipelines/idle.json", #"{"stages": [{"kind": "source.directory", "with": {"path": "empty"}}]}"#)
        #expect(try runProcess(ingest, ["run", "idle"], currentDirectory: project.path).status == 0)
        #expect(try runProcess(ingest, ["run", "idle", "--error-on-idle"], currentDirectory: project.path).status == 3)

        try project.write("pipelines/bad.json", #"{"stages": [{"kind": "source.directory"}]}"#)
        let bad = try runProcess(ingest, ["run", "bad"], currentDirectory: project.path)
        #expect(bad.status == 2)
        #expect(bad.stderr.contains(#"stages[0].with.path: missing required option "path""#))
        #expect(
            try runProcess(ingest, ["run", "lib", "--concurrency", "0"], currentDirectory: project.path).status == 64)

        let quiet = try runProcess(ingest, ["run", "lib", "--quiet"], currentDirectory: project.path)
        #expect(quiet.status == 0)
        #expect(quiet.stdout.isEmpty && quiet.stderr.isEmpty, "quiet runs print nothing when all is well")
    }

    @Test("SIGINT drains in-flight files, reports the interruption and exits 130")
    func interruptedBySignal() async throws {
        let project = try makeProject(files: [])
        let inbox = project.file("inbox")
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        let source = Corpus.path("images/jpeg/gps_Apple_iPhone_4.jpg")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        for index in 0..<3000 {
            var copy = bytes
            copy.append(contentsOf: withUnsafeBytes(of: UInt32(index).bigEndian, Array.init))
            try copy.write(to: URL(fileURLWithPath: inbox + "/img\(index).jpg"))
        }
        try project.write(
            "pipelines/many.json",
            #"""
            {"concurrency": 2, "stages": [{"kind": "source.directory", "with": {"path": "inbox"}},
                        {"kind": "upload.library", "with": {"path": "library"}},
                        {"kind": "report.manifest", "with": {"path": "manifest.jsonl"}}]}
            """#)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ingest)
        process.arguments = ["run", "many", "--json"]
        process.currentDirectoryURL = URL(fileURLWithPath: project.path)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Interrupt once files are flowing (the manifest has lines), however slow the machine is today.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline,
            ((try? String(contentsOfFile: project.file("manifest.jsonl"), encoding: .utf8))?.count ?? 0) == 0
        {
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(process.processIdentifier, SIGINT)
        let data = drain(output.fileHandleForReading)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((report["interrupted"] as? String)?.hasPrefix("SIGINT received") == true)
        let done = (report["counts"] as? [String: Int])?["done"] ?? -1
        #expect(done > 0 && done < 3000)
        #expect((report["counts"] as? [String: Int])?["failed"] == 0, "drained files finish instead of failing")
        let lines = try String(contentsOfFile: project.file("manifest.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == done, "every finished file has its manifest line")
    }

    @Test("every shipped pipeline passes `ingest check` and validates against `ingest schema` (python jsonschema)")
    func shippedPipelines() throws {
        let check = try runProcess(ingest, ["check", "--pipelines", repositoryRoot + "/pipelines"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let schema = try runProcess(ingest, ["schema"])
        let project = TemporaryDirectoryHandle()
        try project.write("schema.json", schema.stdout)
        let script = """
            import json, sys, glob, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            bad = {"stages": [{"kind": "source.directory", "with": {"path": "x", "nope": 1}}]}
            assert list(jsonschema.Draft202012Validator(schema).iter_errors(bad)), "schema accepts an unknown option"
            for path in sorted(glob.glob(sys.argv[2] + "/*.json")):
                if path.endswith(".schema.json"): continue
                jsonschema.validate(json.load(open(path)), schema, cls=jsonschema.Draft202012Validator)
                print("valid", path)
            """
        try project.write("validate.py", script)
        let result = try runProcess(
            "/usr/bin/env",
            ["python3", project.file("validate.py"), project.file("schema.json"), repositoryRoot + "/pipelines"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("valid \(repositoryRoot)/pipelines/demo.json"))
    }
}
