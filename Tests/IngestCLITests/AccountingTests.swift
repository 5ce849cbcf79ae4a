import Foundation
import TestSupport
import Testing
import WixMediaEmulator

/// Every file accounted for: the places a reliability run found a file or a line disappearing without a word — names
/// that are not UTF-8, folders that cannot be listed, torn manifest lines on a full disk, control characters in JSON.
@Suite("every file accounted for", .serialized, .cleansUp)
struct AccountingTests {
    static let pipeline = #"""
        {"name": "acct", "stages": [
          {"kind": "source.directory", "with": {"path": "inbox"}},
          {"kind": "detect.mime"},
          {"kind": "strip.metadata", "when": {"mime": ["image/*"]}},
          {"kind": "validate", "with": {"profile": "wix", "quarantine": "quarantine"}},
          {"kind": "upload.library", "with": {"path": "library"}},
          {"kind": "source.archive", "with": {"mode": "move", "to": "archive"}},
          {"kind": "report.manifest", "with": {"path": "manifests/m.jsonl"}}
        ]}
        """#

    /// The bytes of `relative` under `root`, as a C path (a name that is not UTF-8 cannot pass through `String`).
    static func rawPath(_ root: String, _ relative: [UInt8]) -> [CChar] {
        (Array(root.utf8) + [UInt8(ascii: "/")] + relative + [0]).map { CChar(bitPattern: $0) }
    }

    static func writeRaw(_ root: String, _ relative: [UInt8], _ data: Data) throws {
        let descriptor = open(rawPath(root, relative), O_WRONLY | O_CREAT | O_EXCL, 0o644)
        try #require(descriptor >= 0, "cannot create the test file: errno \(errno)")
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        try #require(written == data.count)
    }

    static func existsRaw(_ root: String, _ relative: [UInt8]) -> Bool {
        var info = stat()
        return lstat(rawPath(root, relative), &info) == 0
    }

    static func lines(_ path: String) throws -> [Substring] {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false)
    }

    @Test(
        "names that are not UTF-8 (a Latin-1 café, a Latin-1 folder) are ingested, archived by their bytes, shown as \\xe9, skipped by the next run"
    )
    func namesThatAreNotUTF8() async throws {
        let project = try makeProject(files: [])
        try project.write("pipelines/acct.json", Self.pipeline)
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/jpeg/gps_minimal.jpg")))
        let inbox = project.file("inbox")
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        let cafe: [UInt8] = Array("caf".utf8) + [0xE9] + Array(".jpg".utf8)
        let folder: [UInt8] = [0x64, 0xE9, 0x6A, 0xE0]  // "déjà" in Latin-1
        #expect(mkdir(Self.rawPath(inbox, folder), 0o755) == 0)
        func corpus(_ name: String) throws -> Data {
            try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/jpeg/" + name)))
        }
        try Self.writeRaw(inbox, cafe, jpeg)
        try Self.writeRaw(inbox, folder + [UInt8(ascii: "/")] + Array("x.jpg".utf8), try corpus("Nikon_COOLPIX_P1.jpg"))
        try corpus("Canon_DIGITAL_IXUS_400.jpg").write(to: URL(fileURLWithPath: inbox + "/plain.jpg"))

        let dry = try await runProcessAsync(
            ingest, ["run", "acct", "--dry-run"], currentDirectory: project.path, timeout: 120)
        #expect(dry.stdout.contains("3 planned"), "a dry run lists them: \(dry.stdout)")
        #expect(dry.stdout.contains(#"caf\xe9.jpg"#), "shown by the display rule: \(dry.stdout)")

        let run = try await runProcessAsync(
            ingest, ["run", "acct", "--json"], currentDirectory: project.path, timeout: 120)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect((report["counts"] as? [String: Int])?["done"] == 3, "\(run.stdout)")
        // JSON writes the raw byte as its escape's surrogate pair: ASCII, valid JSON, reversible.
        #expect(run.stdout.contains(#"caf\udbff\udfe9.jpg"#), "\(run.stdout)")
        let manifest = try Self.lines(project.file("manifests/m.jsonl")).filter { !$0.isEmpty }
        #expect(manifest.count == 3)
        #expect(manifest.contains { $0.contains(#""path":"caf\udbff\udfe9.jpg""#) }, "\(manifest)")
        #expect(manifest.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } || !$0.contains("\u{10FFE9}") })
        // Archived under their own bytes, the folder's name included; nothing left in the inbox.
        #expect(Self.existsRaw(project.file("archive"), cafe))
        #expect(Self.existsRaw(project.file("archive"), folder + [UInt8(ascii: "/")] + Array("x.jpg".utf8)))
        #expect(!Self.existsRaw(inbox, cafe))
        // The library shows the name read as Latin-1.
        let library = try runProcess("/usr/bin/grep", ["-rh", "filename", project.file("library")]).stdout
        #expect(library.contains("café.jpg"), "\(library)")

        // The ledger keyed them by their bytes: put back unchanged (same size and time), it is skipped.
        #expect(rename(Self.rawPath(project.file("archive"), cafe), Self.rawPath(inbox, cafe)) == 0)
        let again = try await runProcessAsync(
            ingest, ["run", "acct", "--json"], currentDirectory: project.path, timeout: 120)
        let second = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        #expect((second["counts"] as? [String: Int])?["done"] == 0, "\(again.stdout)")
        #expect((second["counts"] as? [String: Int])?["skipped"] == 1, "\(again.stdout)")
    }

    @Test("DEL and C1 controls (U+009B, a terminal's CSI) in names are escaped in --json and the manifest")
    func controlCharactersInJSON() async throws {
        let project = try makeProject(files: [])
        try project.write("pipelines/acct.json", Self.pipeline)
        let inbox = project.file("inbox")
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        let name = "a\u{7F}b\u{9B}31mc\u{202E}.txt"
        try Data("not media".utf8).write(to: URL(fileURLWithPath: inbox + "/" + name))
        let run = try await runProcessAsync(
            ingest, ["run", "acct", "--json"], currentDirectory: project.path, timeout: 120)
        for output in [run.stdout, try String(contentsOfFile: project.file("manifests/m.jsonl"), encoding: .utf8)] {
            #expect(output.contains(#"a\u007fb\u009b31mc\u202e.txt"#), "\(output)")
            #expect(!output.unicodeScalars.contains { [0x7F, 0x9B, 0x202E].contains($0.value) })
            // Still the same text to a JSON reader.
            #expect(output.contains("{"))
        }
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let paths = (report["assets"] as? [[String: Any]])?.compactMap { $0["path"] as? String } ?? []
        #expect(paths.contains(name), "\(paths)")
    }

    /// Runs `ingest` as the unprivileged user `nobody` (root reads any folder, whatever its mode), with the project
    /// owned by it.
    static func runAsNobody(_ project: TemporaryDirectoryHandle, _ arguments: [String]) async throws -> ProcessResult {
        try await runProcessAsync(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", ingest] + arguments,
            environment: ["HOME": project.path], currentDirectory: project.path, timeout: 120)
    }

    @Test("a folder that cannot be listed fails the run (exit 1, quiet or not), every run until fixed; status shows it")
    func unreadableFolder() async throws {
        let project = try makeProject(files: ["images/jpeg/gps_minimal.jpg"])
        try project.write("pipelines/acct.json", Self.pipeline)
        try copyCorpus(["images/png/iccp.png"], into: project.file("inbox/locked"))
        _ = try runProcess("/bin/chown", ["-R", "65534:65534", project.path])
        if getuid() != 0 {
            // Not root: the test's own user owns the project; setpriv to nobody is not possible, run as ourselves.
            _ = try runProcess("/bin/chown", ["-R", "\(getuid())", project.path])
        }
        #expect(chmod(project.file("inbox/locked"), 0) == 0)
        defer { chmod(project.file("inbox/locked"), 0o755) }
        let runner = { (arguments: [String]) async throws -> ProcessResult in
            getuid() == 0
                ? try await Self.runAsNobody(project, arguments)
                : try await runProcessAsync(ingest, arguments, currentDirectory: project.path, timeout: 120)
        }
        let quiet = try await runner(["run", "acct", "--quiet"])
        #expect(quiet.status == 1, "\(quiet.stdout)\(quiet.stderr)")
        #expect((quiet.stdout + quiet.stderr).contains("locked"), "the cron line hears of it: \(quiet)")
        let json = try await runner(["run", "acct", "--json"])
        #expect(json.status == 1, "every run until it is fixed")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(report["listedEverything"] as? Bool == false)
        #expect(report["outcome"] as? String == "some_failed")
        let problems = report["problems"] as? [[String: Any]] ?? []
        #expect(problems.first?["kind"] as? String == "unlisted_folder", "\(problems)")
        #expect((problems.first?["path"] as? String)?.hasSuffix("inbox/locked") == true)
        let status = try await runner(["status", "acct"])
        #expect(status.stdout.contains("folder not listed"), "\(status.stdout)")

        #expect(chmod(project.file("inbox/locked"), 0o755) == 0)
        let fixed = try await runner(["run", "acct", "--json"])
        #expect(fixed.status == 0, "\(fixed.stdout)\(fixed.stderr)")
        let after = try #require(try JSONSerialization.jsonObject(with: Data(fixed.stdout.utf8)) as? [String: Any])
        #expect((after["counts"] as? [String: Int])?["done"] == 1, "the file inside is taken once it can be seen")
    }

    @Test(
        "in the shipped order (strip before validate) an appended ZIP, PHP in EXIF and a zTXt bomb are still rejected and quarantined; an empty file is empty"
    )
    func findingsReachTheVerdict() async throws {
        let project = try makeProject(files: [
            "adversarial/jpeg_with_appended_zip.jpg", "adversarial/php_in_exif_description.jpg",
            "adversarial/png_ztxt_decompression_dos.png", "adversarial/zero_bytes.jpg", "images/jpeg/gps_minimal.jpg",
        ])
        // The shipped demo pipeline as it is, reading the inbox.
        let demo = try String(contentsOfFile: repositoryRoot + "/pipelines/demo.json", encoding: .utf8)
            .replacingOccurrences(of: #""path": "samples""#, with: #""path": "inbox""#)
            .replacingOccurrences(of: #""$schema": "./pipeline.schema.json","#, with: "")
        try #require(demo.contains(#""path": "inbox""#))
        try project.write("pipelines/demo.json", demo)
        let run = try await runProcessAsync(
            ingest, ["run", "demo", "--json"], currentDirectory: project.path, timeout: 120)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let assets = report["assets"] as? [[String: Any]] ?? []
        func code(_ name: String) -> String? {
            assets.first { ($0["path"] as? String)?.hasSuffix(name) == true }?["code"] as? String
        }
        #expect(code("jpeg_with_appended_zip.jpg") == "polyglot", "\(assets)")
        #expect(code("php_in_exif_description.jpg") == "embedded_code")
        #expect(code("png_ztxt_decompression_dos.png") == "metadata_bomb")
        #expect(code("zero_bytes.jpg") == "empty")
        #expect(code("gps_minimal.jpg") == nil, "a clean photo is still stored")
        #expect((report["counts"] as? [String: Int])?["done"] == 1)
        // Quarantined as the source was, payload included.
        let quarantined = project.file("demo-output/quarantine/adversarial/jpeg_with_appended_zip.jpg")
        #expect(
            try sha256sum(quarantined)
                == sha256sum(Corpus.path("adversarial/jpeg_with_appended_zip.jpg")))
        // A strip stage with no "when", refusing what it cannot strip: an empty file is still "empty".
        try project.write(
            "pipelines/nowhen.json",
            #"""
            {"name": "nowhen", "stages": [
              {"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "detect.mime"},
              {"kind": "strip.metadata", "with": {"onUnsupported": "reject"}},
              {"kind": "validate", "with": {"profile": "wix"}},
              {"kind": "upload.library", "with": {"path": "library"}}
            ]}
            """#)
        let nowhen = try await runProcessAsync(
            ingest, ["run", "nowhen", "--json"], currentDirectory: project.path, timeout: 120)
        #expect(nowhen.stdout.contains(#""code" : "empty""#), "\(nowhen.stdout)")
        #expect(!nowhen.stdout.contains("strip_unsupported"), "\(nowhen.stdout)")
        let check = try runProcess(ingest, ["check", "demo"], currentDirectory: project.path)
        #expect(check.stdout.contains("source file"), "ingest check explains the order: \(check.stdout)")
    }

    @Test(
        "one SIGTERM delivered twice, as timeout(1) and process-group kills do, stops intake only: the uploads in flight finish, none is cancelled"
    )
    func sigtermDeliveredTwice() async throws {
        let emulator = try await StateTests.startEmulator { $0.faults.latencyMilliseconds = 250 }
        let project = try StateTests.wixProject(files: [], emulator: emulator, concurrency: 4)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/jpeg/gps_minimal.jpg")))
        try FileManager.default.createDirectory(atPath: project.file("inbox"), withIntermediateDirectories: true)
        for index in 0..<40 {
            try (bytes + withUnsafeBytes(of: UInt32(index).bigEndian, Array.init)).write(
                to: URL(fileURLWithPath: project.file("inbox/f\(index).jpg")))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ingest)
        process.arguments = ["run", "cron", "--json"]
        process.currentDirectoryURL = URL(fileURLWithPath: project.path)
        process.environment = ProcessInfo.processInfo.environment.merging(["WIX_API_KEY": "key"]) { _, new in new }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Once uploads are flowing (a file is stored), the others are in flight: signal then.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try await StateTests.stored(emulator).isEmpty {
            try await Task.sleep(for: .milliseconds(20))
        }
        // Back to back, as timeout(1) sends them (to the process, then its group). A gap here would measure the
        // machine's load instead: a starved process can take the second delivery more than the repeat window late.
        kill(process.processIdentifier, SIGTERM)
        kill(process.processIdentifier, SIGTERM)  // the same request, sent to the process group
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let counts = report["counts"] as? [String: Int] ?? [:]
        #expect(counts["failed"] == 0, "in-flight uploads finished instead of being cancelled: \(counts)")
        #expect((counts["done"] ?? 0) > 0)
        let failures = (report["assets"] as? [[String: Any]] ?? []).filter { $0["status"] as? String == "failed" }
        #expect(failures.isEmpty, "\(failures.map { $0["reason"] ?? "" })")
    }

    @Test("an exec stage gets a path it can open for a name that is not UTF-8")
    func execWithANameThatIsNotUTF8() async throws {
        let project = try makeProject(files: [])
        let check =
            #"if [ -f "$INGEST_FILE" ] && [ -f "$INGEST_SOURCE" ]; then echo '{"action": "continue"}'; "#
            + #"else echo '{"action": "reject", "code": "cannot_open", "reason": "cannot open the file"}'; fi"#
        try project.write(
            "pipelines/exec.json",
            """
            {"name": "exec", "stages": [
              {"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "exec", "with": {"command": ["/bin/sh", "-c", \(JSONValueText.quoted(check))]}},
              {"kind": "upload.library", "with": {"path": "library"}}
            ]}
            """)
        let inbox = project.file("inbox")
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/jpeg/gps_minimal.jpg")))
        try Self.writeRaw(inbox, Array("caf".utf8) + [0xE9] + Array(".jpg".utf8), jpeg)
        let run = try await runProcessAsync(
            ingest, ["run", "exec", "--json"], currentDirectory: project.path, timeout: 120)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains(#""done" : 1"#), "\(run.stdout)")
    }

    @Test("ingest watch takes a file whose name is not UTF-8 that arrives while it watches")
    func watchTakesANameThatIsNotUTF8() async throws {
        let project = try makeProject(files: [])
        try project.write(
            "pipelines/w.json", WatchTests.pipeline(minAge: "0s", manifest: "manifest.jsonl"))
        let inbox = project.file("inbox")
        try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: true)
        let watcher = try WatchTests.Watcher(project)
        #expect(try await watcher.waitForLog("watching"), "\(watcher.errors)")
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/jpeg/gps_minimal.jpg")))
        #expect(mkdir(Self.rawPath(inbox, [0x64, 0xE9, 0x6A, 0xE0]), 0o755) == 0)
        try Self.writeRaw(
            inbox, [0x64, 0xE9, 0x6A, 0xE0, 0x2F] + Array("caf".utf8) + [0xE9] + Array(".jpg".utf8), jpeg)
        let manifest = project.file("manifest.jsonl")
        _ = try await WatchTests.until(seconds: 60) { !WatchTests.manifest(manifest).isEmpty }
        let lines = WatchTests.manifest(manifest)
        #expect(lines.map(\.path) == ["d\u{10FFE9}j\u{10FFE0}/caf\u{10FFE9}.jpg"], "\(lines.map(\.path))")
        #expect(lines.first?.status == "done")
        #expect(try await watcher.signal(SIGTERM).status == 0)
    }
}

/// JSON string literals for pipeline text built in tests.
enum JSONValueText {
    static func quoted(_ text: String) -> String {
        String(
            decoding: try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes]),
            as: UTF8.self
        )
        .dropFirst().dropLast().description
    }
}
