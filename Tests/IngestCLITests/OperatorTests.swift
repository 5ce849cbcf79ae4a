import Foundation
import TestSupport
import Testing
import WixMediaEmulator

/// The operator's first hour, through the `ingest` executable: `init`, `doctor`, `report --html`, and a bandwidth limit.
@Suite("the operator's first hour: init, doctor, report, bandwidth", .serialized, .cleansUp)
struct OperatorTests {
    @Test(
        "init --non-interactive writes a pipeline `ingest check` accepts, with secrets as environment references only")
    func initFromFlags() throws {
        let project = try makeProject(files: [])
        let result = try runProcess(
            ingest,
            [
                "init", "photos", "--non-interactive", "--inbox", "inbox", "--target", "wix", "--api-key-env",
                "MY_WIX_KEY", "--site-id-env", "MY_SITE", "--archive", "archive", "--sidecars", "attach",
            ],
            environment: ["MY_WIX_KEY": "sk-live-SECRET-VALUE-123"], currentDirectory: project.path)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("ingest doctor photos"))
        let text = try String(contentsOfFile: project.file("pipelines/photos.json"), encoding: .utf8)
        #expect(text.contains(#""apiKey": {"env": "MY_WIX_KEY"}"#) && text.contains("${MY_SITE}"))
        #expect(!text.contains("SECRET-VALUE"))
        #expect(FileManager.default.fileExists(atPath: project.file("pipelines/pipeline.schema.json")))
        let check = try runProcess(ingest, ["check", "photos"], currentDirectory: project.path)
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        // An existing pipeline is not replaced without --force.
        let again = try runProcess(ingest, ["init", "photos", "--non-interactive"], currentDirectory: project.path)
        #expect(again.status == 2 && again.stderr.contains("--force"))
    }

    @Test(
        "init asks, reading answers from standard input; a key typed where its variable's name is asked for is refused")
    func initInteractive() throws {
        let project = try makeProject(files: [])
        let answers = project.file("answers.txt")
        try "inbox\nwix\nWIX_SITE_ID\nIST.eyJraWQiOiJQb3pIX2FDMiIs.secret\n".write(
            toFile: answers, atomically: true, encoding: .utf8)
        let refused = try runProcess(
            "/bin/sh", ["-c", "\(ingest) init pasted < answers.txt"], currentDirectory: project.path)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("not an environment variable's name"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: project.file("pipelines/pasted.json")))

        try "camera-inbox\nlibrary\nmy-library\nnone\nskip\n".write(toFile: answers, atomically: true, encoding: .utf8)
        let written = try runProcess(
            "/bin/sh", ["-c", "\(ingest) init local < answers.txt"], currentDirectory: project.path)
        #expect(written.status == 0, "\(written.stderr)")
        let text = try String(contentsOfFile: project.file("pipelines/local.json"), encoding: .utf8)
        #expect(text.contains(#""path": "camera-inbox""#) && text.contains(#""kind": "upload.library""#))
        #expect(!text.contains("source.archive"))
    }

    @Test(
        "doctor: every check passes for a good library pipeline; a missing inbox and a held lock are said, with fixes")
    func doctorLocal() async throws {
        let project = try makeProject()
        try project.write(
            "pipelines/local.json",
            #"{"stages": [{"kind": "source.directory", "with": {"path": "inbox"}}, {"kind": "detect.mime"}, {"kind": "upload.library", "with": {"path": "library"}}, {"kind": "source.archive", "with": {"to": "archive"}}]}"#
        )
        let good = try runProcess(ingest, ["doctor", "local"], currentDirectory: project.path)
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        for check in ["libmagic", "libexif", "ffmpeg", "pipeline", "ledger", "lock", "inbox", "library", "archive"] {
            #expect(good.stdout.contains("PASS  \(check)"), "\(check): \(good.stdout)")
        }
        #expect(good.stdout.contains("libexif.so"))

        // A run holding the lock (flock, as ingest takes it, with an owner line), and the inbox gone.
        try FileManager.default.createDirectory(atPath: project.file(".ingest"), withIntermediateDirectories: true)
        try "pid 4242 since 2026-12-03T10:00:00Z\n".write(
            toFile: project.file(".ingest/local.lock"), atomically: false, encoding: .utf8)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = [
            "python3", "-c",
            "import fcntl,sys,time; f=open(sys.argv[1],'r+'); fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)",
            project.file(".ingest/local.lock"),
        ]
        let pipe = Pipe()
        holder.standardOutput = pipe
        try holder.run()
        defer { holder.terminate() }
        _ = pipe.fileHandleForReading.availableData  // "held"
        try FileManager.default.removeItem(atPath: project.file("inbox"))
        let bad = try runProcess(ingest, ["doctor", "local", "--json"], currentDirectory: project.path)
        #expect(bad.status == 1)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(bad.stdout.utf8)) as? [String: Any])
        let checks = report["checks"] as? [[String: Any]] ?? []
        func check(_ name: String) -> [String: Any]? { checks.first { $0["check"] as? String == name } }
        #expect(report["ok"] as? Bool == false)
        #expect(check("inbox")?["status"] as? String == "fail")
        #expect((check("inbox")?["fix"] as? String)?.contains("mkdir") == true)
        #expect(check("lock")?["status"] as? String == "warn")
        #expect((check("lock")?["detail"] as? String)?.contains("pid 4242") == true)
    }

    @Test("doctor against Wix: a refused key is explained (401), a good one passes with the clock checked")
    func doctorWix() async throws {
        let rig = try await LibraryRig.start()
        try rig.project.write(
            "pipelines/wix.json",
            """
            {"stages": [{"kind": "source.directory", "with": {"path": "inbox"}}, {"kind": "detect.mime"},
              {"kind": "upload.wix", "with": {\(rig.connection)}}]}
            """)
        try FileManager.default.createDirectory(atPath: rig.project.file("inbox"), withIntermediateDirectories: true)
        let environment = ["WIX_BASE_URL": rig.emulator.baseURL]
        let refused = try await runProcessAsync(
            ingest, ["doctor", "wix"], environment: environment.merging(["WIX_API_KEY": "not-the-key"]) { $1 },
            currentDirectory: rig.project.path)
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("FAIL  wix credentials") && refused.stdout.contains("401"))
        #expect(refused.stdout.contains("fix: the API key"))
        #expect(!refused.stdout.contains("not-the-key"), "the secret is never printed")
        let accepted = try await runProcessAsync(
            ingest, ["doctor", "wix"], environment: environment.merging(["WIX_API_KEY": LibraryRig.apiKey]) { $1 },
            currentDirectory: rig.project.path)
        #expect(accepted.status == 0, "\(accepted.stdout)")
        #expect(accepted.stdout.contains("PASS  wix credentials") && accepted.stdout.contains("PASS  clock"))
        let folders = try rig.folders()
        #expect(rig.uploads == 0 && folders.isEmpty, "doctor changes nothing at Wix")
        // A missing secret is said before anything is called.
        let unset = try await runProcessAsync(
            ingest, ["doctor", "wix"], environment: environment.merging(["WIX_API_KEY": ""]) { $1 },
            currentDirectory: rig.project.path)
        #expect(unset.status == 1 && unset.stdout.contains("FAIL  pipeline"))
    }

    @Test(
        "report --html: one self-contained page whose figures are the ledger's, with a file named <script> shown as text"
    )
    func htmlReport() async throws {
        let project = try makeProject(files: [
            "images/jpeg/gps_minimal.jpg", "images/png/iccp.png", "documents/minimal.pdf",
        ])
        try FileManager.default.copyItem(
            atPath: Corpus.path("images/jpeg/orientation_landscape_6.jpg"),
            toPath: project.file("inbox/<script>alert(1)<.jpg"))
        try project.write(
            "pipelines/rep.json",
            #"{"stages": [{"kind": "source.directory", "with": {"path": "inbox"}}, {"kind": "detect.mime"}, {"kind": "validate", "with": {"allow": ["image/*"]}}, {"kind": "upload.library", "with": {"path": "library", "maxBytesPerSecond": "200kB"}}]}"#
        )
        let run = try runProcess(ingest, ["run", "rep"], currentDirectory: project.path)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let written = try runProcess(
            ingest, ["report", "rep", "--html", "report.html"], currentDirectory: project.path)
        #expect(written.status == 0, "\(written.stderr)")
        let page = try String(contentsOfFile: project.file("report.html"), encoding: .utf8)
        #expect(page.contains("&lt;script&gt;alert(1)&lt;.jpg"))
        let script = """
            import html.parser, json, sqlite3, sys
            class Page(html.parser.HTMLParser):
                def __init__(self):
                    super().__init__(); self.tags = []; self.attrs = []; self.text = []
                def handle_starttag(self, tag, attrs):
                    self.tags.append(tag); self.attrs.append(dict(attrs))
                def handle_data(self, data): self.text.append(data)
            page = Page(); page.feed(open(sys.argv[1]).read())
            counts = {a["id"][6:]: int(a["data-count"]) for a in page.attrs if a.get("id", "").startswith("count-")}
            problems = {a["data-code"]: int(a["data-count"]) for a in page.attrs if "data-code" in a}
            db = sqlite3.connect(sys.argv[2])
            run, report = db.execute("select counts, report from run order by startedAt desc limit 1").fetchone()
            ledger = {s: n for s, n in db.execute("select status, count(*) from asset group by status")}
            rejected = {c: n for c, n in db.execute("select errorCode, count(*) from asset where status = 'rejected' group by errorCode")}
            external = [a for a in page.attrs for k in ("src", "href") if k in a]
            print(json.dumps({"counts": counts, "runCounts": json.loads(run), "ledger": ledger, "problems": problems,
                "rejected": rejected, "scripts": page.tags.count("script"), "external": len(external),
                "svg": page.tags.count("svg"), "text": "".join(page.text)}))
            """
        try project.write("check.py", script)
        let parsed = try runProcess(
            "/usr/bin/env", ["python3", "check.py", "report.html", ".ingest/rep.sqlite"], currentDirectory: project.path
        )
        #expect(parsed.status == 0, "\(parsed.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(parsed.stdout.utf8)) as? [String: Any])
        let counts = result["counts"] as? [String: Int] ?? [:]
        let ledger = result["ledger"] as? [String: Int] ?? [:]
        #expect(counts["done"] == 3 && counts["done"] == ledger["done"])
        #expect(counts["rejected"] == 1 && counts["rejected"] == ledger["rejected"])
        #expect(counts["done"] == (result["runCounts"] as? [String: Int])?["done"])
        #expect(result["problems"] as? [String: Int] == result["rejected"] as? [String: Int])
        #expect(result["scripts"] as? Int == 0, "no script element, whatever the file names")
        #expect(result["external"] as? Int == 0, "nothing fetched")
        #expect(result["svg"] as? Int == 1)
        #expect((result["text"] as? String)?.contains("<script>alert(1)<.jpg") == true)
        // JSON too; an unknown run is exit 3.
        let json = try runProcess(ingest, ["report", "rep", "--json"], currentDirectory: project.path)
        #expect(json.status == 0 && json.stdout.contains("\"timeline\""))
        let missing = try runProcess(
            ingest, ["report", "rep", "--run", "nope", "--html", "x.html"], currentDirectory: project.path)
        #expect(missing.status == 3)
    }

    @Test("maxBytesPerSecond on upload.wix: the files arrive whole, the limit is in the report")
    func bandwidthWix() async throws {
        let rig = try await LibraryRig.start()
        try copyCorpus(["images/jpeg/gps_minimal.jpg", "images/png/iccp.png"], into: rig.project.file("inbox"))
        try rig.project.write(
            "pipelines/slow.json",
            """
            {"stages": [{"kind": "source.directory", "with": {"path": "inbox"}}, {"kind": "detect.mime"},
              {"kind": "upload.wix", "with": {\(rig.connection), "maxBytesPerSecond": "1MB"}}]}
            """)
        let result = try await rig.run("slow")
        #expect(result.status == 0, "\(result.stderr)")
        let stored = try await rig.stored()
        #expect(
            Set(stored.compactMap { $0["sha256"] as? String })
                == Set(
                    try ["images/jpeg/gps_minimal.jpg", "images/png/iccp.png"].map { try sha256sum(Corpus.path($0)) }))
        #expect(
            result.stdout.contains(#""maxBytesPerSecond" : 1000000"#)
                || result.stdout.contains(#""maxBytesPerSecond":1000000"#))
        let check = try runProcess(
            ingest, ["check", "slow"], environment: ["WIX_API_KEY": "x"], currentDirectory: rig.project.path)
        #expect(check.status == 0)
        try rig.project.write(
            "pipelines/tiny.json",
            #"{"stages": [{"kind": "source.directory", "with": {"path": "inbox"}}, {"kind": "upload.library", "with": {"path": "l", "maxBytesPerSecond": "1kB"}}]}"#
        )
        let tiny = try runProcess(ingest, ["check", "tiny"], currentDirectory: rig.project.path)
        #expect(tiny.status == 2 && tiny.stdout.contains("maxBytesPerSecond: expected at least 16kB"))
    }

    @Test("retries by kind reach the kept report and its page (a flaky Wix: 5xx answers)")
    func retriesInReport() async throws {
        var faults = emulatorFaults()
        faults.serverErrorRate = 0.5
        let rig = try await LibraryRig.start(faults: faults)
        try copyCorpus(
            ["images/jpeg/gps_minimal.jpg", "images/png/iccp.png", "images/jpeg/Canon_DIGITAL_IXUS_400.jpg"],
            into: rig.project.file("inbox"))
        try rig.project.write(
            "pipelines/flaky.json",
            """
            {"stages": [{"kind": "source.directory", "with": {"path": "inbox"}}, {"kind": "detect.mime"},
              {"kind": "upload.wix", "with": {\(rig.connection)}}, \(rig.awaitReady)]}
            """)
        let result = try await rig.run("flaky")
        #expect(result.status == 0, "\(result.stderr)")
        let json = try runProcess(ingest, ["report", "flaky", "--json"], currentDirectory: rig.project.path)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let retries = report[path: "summary", "retries"] as? [String: Int] ?? [:]
        #expect(!retries.isEmpty && retries.keys.allSatisfy { $0.hasPrefix("http_5") }, "\(retries)")
        _ = try runProcess(ingest, ["report", "flaky", "--html", "r.html"], currentDirectory: rig.project.path)
        let page = try String(contentsOfFile: rig.project.file("r.html"), encoding: .utf8)
        for (kind, count) in retries { #expect(page.contains(#"data-kind="\#(kind)" data-count="\#(count)""#)) }
    }
}
