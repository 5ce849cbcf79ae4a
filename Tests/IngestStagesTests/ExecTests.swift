import Foundation
import Glibc
import IngestStages
import MediaIngest
import PipelineTesting
import TestSupport
import Testing

/// The `exec` stage runs real Python scripts (python3 is a CI package) over corpus files.
@Suite("exec: external commands per asset")
struct ExecTests {
    static let files = [
        "images/jpeg/gps_Apple_iPhone_4.jpg", "images/png/iccp.png", "documents/minimal.pdf",
        "images/jpeg/Canon_DIGITAL_IXUS_400.jpg",
    ]

    /// A project with the files in `inbox/` and `script` at `scripts/check.py`.
    func project(script: String, files: [String] = ExecTests.files) throws -> TemporaryDirectory {
        let project = TemporaryDirectory()
        try copyCorpus(files, into: project.file("inbox"))
        try FileManager.default.createDirectory(atPath: project.file("scripts"), withIntermediateDirectories: true)
        try script.write(toFile: project.file("scripts/check.py"), atomically: true, encoding: .utf8)
        return project
    }

    func run(
        _ project: TemporaryDirectory, exec: String, when: String? = nil, concurrency: Int = 2
    ) async throws -> RunReport {
        let pipeline = try buildPipeline(
            """
            {"name": "exec", "concurrency": \(concurrency), "stages": [
              {"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "detect.mime"},
              {"kind": "exec", "name": "check", \(when.map { "\"when\": \($0), " } ?? "")"with": \(exec)}
            ]}
            """, base: project.path)
        return await PipelineRunner(pipeline: pipeline).run()
    }

    func record(_ report: RunReport, _ suffix: String) throws -> AssetRecord {
        try #require(report.assets.first { $0.path.hasSuffix(suffix) }, "\(suffix) not in the report")
    }

    static let threshold = #"""
        import datetime, json, os, sys
        asset = json.load(sys.stdin)
        limit = int(sys.argv[1])
        modified = datetime.datetime.fromisoformat(asset["modified"].replace("Z", "+00:00"))
        if asset["size"] > limit:
            print(json.dumps({"action": "reject", "code": "too_big", "reason": f'{asset["fileName"]} is {asset["size"]} bytes, over {limit}'}))
        else:
            print(json.dumps({"facts": {"checked": True, "mime": os.environ["INGEST_MIME"], "stdinMime": asset.get("mime"),
                                        "file": os.environ["INGEST_FILE"], "pipeline": os.environ["INGEST_PIPELINE"],
                                        "modified": asset["modified"], "modifiedEpoch": int(modified.timestamp())}}))
        """#

    @Test("a Python script rejects files over a threshold; the others continue with the facts it returned")
    func threshold() async throws {
        let project = try project(script: Self.threshold)
        let report = try await run(project, exec: #"{"command": ["python3", "scripts/check.py", "100000"]}"#)
        #expect(report.count(.rejected) + report.count(.done) == 4)
        for file in Self.files {
            let size = try #require(try FileManager.default.attributesOfItem(atPath: Corpus.path(file))[.size] as? Int)
            let asset = try record(report, (file as NSString).lastPathComponent)
            if size > 100_000 {
                #expect(asset.status == .rejected, "\(file)")
                #expect(asset.code == "too_big")
                #expect(asset.reason == "\((file as NSString).lastPathComponent) is \(size) bytes, over 100000")
                #expect(asset.stage == "check")
            } else {
                #expect(asset.status == .done, "\(file)")
                #expect(asset.facts?["check"]?["checked"] == true)
                #expect(asset.facts?["check"]?["mime"] == asset.mime.map { .string($0) })
                #expect(asset.facts?["check"]?["stdinMime"] == asset.mime.map { .string($0) })
                #expect(asset.facts?["check"]?["pipeline"] == "exec")
                // `modified` is ISO 8601 in UTC to the second, the file's own modification time.
                let attributes = try FileManager.default.attributesOfItem(atPath: project.file("inbox/" + file))
                let mtime = try #require(attributes[.modificationDate] as? Date).timeIntervalSince1970
                let modified = try #require(asset.facts?["check"]?["modified"]?.stringValue)
                #expect(modified.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/) != nil, "\(modified)")
                #expect(asset.facts?["check"]?["modifiedEpoch"]?.intValue == Int64(mtime.rounded(.down)))
                #expect(
                    asset.facts?["check"]?["file"]?.stringValue?.hasSuffix((file as NSString).lastPathComponent) == true
                )
            }
        }
        #expect(report.count(.rejected) >= 1 && report.count(.done) >= 1, "the threshold splits the sample")
    }

    @Test(
        "a command that overruns its timeout is stopped with everything it started; the asset is rejected, the run goes on"
    )
    func timeout() async throws {
        let project = try project(
            script: #"""
                import json, os, subprocess, sys, time
                asset = json.load(sys.stdin)
                if asset["fileName"].endswith(".pdf"):
                    child = subprocess.Popen(["sleep", "600"])
                    open(os.environ["PID_FILE"], "w").write(str(child.pid))
                    sys.stderr.write("thinking hard\n"); sys.stderr.flush()
                    time.sleep(600)
                print("{}")
                """#)
        let pidFile = project.file("child.pid")
        let clock = ContinuousClock()
        let start = clock.now
        // Only the PDF goes through the command: under the parallel test suites, other tests block the cooperative
        // threads for seconds (synchronous exiftool runs), which can delay any run past a short timeout.
        let report = try await run(
            project,
            exec:
                #"{"command": ["python3", "scripts/check.py"], "timeout": "10s", "environment": {"PID_FILE": "\#(pidFile)"}}"#,
            when: #"{"mime": ["application/pdf"]}"#)
        let elapsed = clock.now - start
        // Far from both numbers: a loaded machine can delay a 10 s timer by tens of seconds, never by ten minutes.
        #expect(elapsed < .seconds(300), "the run took \(elapsed), not the 600 s the script sleeps")
        let pdf = try record(report, "minimal.pdf")
        #expect(pdf.status == .rejected)
        #expect(pdf.code == "exec_timeout")
        // The last stderr line comes with the reason (unless a loaded machine kept Python from writing it in 10 s).
        #expect(
            pdf.reason?.hasPrefix("python3 scripts/check.py: did not finish within 10s") == true, "\(pdf.reason ?? "")")
        #expect(report.count(.done) == 3, "\(report.assets.map { "\($0.path): \($0.status) \($0.reason ?? "")" })")
        // The grandchild shared the process group and was stopped too.
        let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8)))
        var gone = false
        for _ in 0..<50 {
            if kill(pid, 0) != 0 && errno == ESRCH {
                gone = true
                break
            }
            // A zombie still answers kill(0): check its state.
            if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                stat.split(separator: " ").dropFirst(2).first == "Z"
            {
                gone = true
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(gone, "sleep 60 (pid \(pid)) outlived the timeout")
    }

    @Test("malformed replies, crashes and non-zero exits reject the asset with a clear reason; the run continues")
    func malformed() async throws {
        let project = try project(
            script: #"""
                import json, sys
                name = json.load(sys.stdin)["fileName"]
                if name.endswith(".pdf"):
                    print("OK, looks fine to me")
                elif name == "iccp.png":
                    print(json.dumps({"action": "explode"}))
                elif name.startswith("gps_"):
                    sys.stderr.write("Traceback: something broke\n"); sys.exit(3)
                else:
                    print(json.dumps({"action": "reject", "code": "Bad Code!"}))
                """#)
        let report = try await run(project, exec: #"{"command": ["python3", "scripts/check.py"]}"#)
        #expect(report.count(.rejected) == 4)
        let pdf = try record(report, "minimal.pdf")
        #expect(pdf.code == "exec_bad_reply")
        #expect(
            pdf.reason
                == #"python3 scripts/check.py: malformed reply: standard output is not JSON: "OK, looks fine to me""#)
        #expect(
            try record(report, "iccp.png").reason
                == #"python3 scripts/check.py: malformed reply: action must be "continue" or "reject", got "explode""#)
        let crashed = try record(report, "gps_Apple_iPhone_4.jpg")
        #expect(crashed.code == "exec_failed")
        #expect(crashed.reason == "python3 scripts/check.py: exited with status 3: Traceback: something broke")
        #expect(
            try record(report, "Canon_DIGITAL_IXUS_400.jpg").reason?.contains(
                #"code "Bad Code!" must be lower_snake_case"#) == true)
    }

    @Test("oversized output, unknown keys and a non-zero exit carrying a rejection")
    func edgeReplies() async throws {
        let project = try project(
            script: #"""
                import json, sys
                name = json.load(sys.stdin)["fileName"]
                if name.endswith(".pdf"):
                    sys.stdout.write("x" * 5000)
                elif name == "iccp.png":
                    print(json.dumps({"fileName": "a.png", "colour": "blue"}))
                elif name.startswith("gps_"):
                    print(json.dumps({"action": "reject", "code": "has_gps", "reason": "location present"})); sys.exit(1)
                """#)
        let report = try await run(
            project, exec: #"{"command": ["python3", "scripts/check.py"], "maxReplyBytes": "1KiB"}"#)
        #expect(
            try record(report, "minimal.pdf").reason
                == "python3 scripts/check.py: the reply is larger than maxReplyBytes (1024 bytes)")
        #expect(try record(report, "iccp.png").reason?.contains(#"unknown key "colour""#) == true)
        let gps = try record(report, "gps_Apple_iPhone_4.jpg")
        #expect(gps.code == "has_gps")
        #expect(gps.reason == "location present")
        // Empty output, exit 0: unchanged.
        #expect(try record(report, "Canon_DIGITAL_IXUS_400.jpg").status == .done)
    }

    @Test("onError: fail marks the asset failed (retried by a later run) instead of rejecting it")
    func failPolicy() async throws {
        let project = try project(script: "import sys\nsys.exit(2)\n", files: ["images/png/iccp.png"])
        let report = try await run(project, exec: #"{"command": ["python3", "scripts/check.py"], "onError": "fail"}"#)
        let asset = try record(report, "iccp.png")
        #expect(asset.status == .failed)
        #expect(asset.code == "exec_failed")
    }

    @Test("a reply renames the file, points at a new work file and sets the placement")
    func changes() async throws {
        let project = try project(
            script: #"""
                import json, os, shutil, sys
                asset = json.load(sys.stdin)
                out = os.path.join(os.environ["INGEST_WORK_DIR"], "copy.bin")
                assert os.path.isdir(os.environ["INGEST_WORK_DIR"])
                with open(out, "wb") as f: f.write(b"changed bytes")
                print(json.dumps({"fileName": "renamed-" + asset["fileName"], "path": out, "placement": {"path": "/scripts"}}))
                """#, files: ["images/png/iccp.png"])
        let pipeline = try buildPipeline(
            #"""
            {"name": "exec", "stages": [
              {"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "detect.mime"},
              {"kind": "exec", "with": {"command": ["python3", "scripts/check.py"]}},
              {"kind": "upload.library", "with": {"path": "library"}}
            ]}
            """#, base: project.path)
        let report = await PipelineRunner(pipeline: pipeline).run()
        let asset = try record(report, "iccp.png")
        #expect(asset.status == .done)
        #expect(asset.fileName == "renamed-iccp.png")
        #expect(asset.storedSize == 13)
        #expect(asset.target?.descriptor?["displayName"] == "renamed-iccp.png")
        // The source is untouched.
        #expect(
            try sha256sum(project.file("inbox/images/png/iccp.png"))
                == (try sha256sum(Corpus.path("images/png/iccp.png"))))
    }

    @Test("no shell: arguments arrive literally; with shell: true, asset values come through the environment")
    func noShell() async throws {
        let project = try project(
            script: #"""
                import json, sys
                json.load(sys.stdin)
                print(json.dumps({"facts": {"argv": sys.argv[1:]}}))
                """#, files: ["images/png/iccp.png"])
        let report = try await run(
            project, exec: #"{"command": ["python3", "scripts/check.py", "$(touch pwned)", "; rm -rf /", "*"]}"#)
        #expect(try record(report, "iccp.png").facts?["check"]?["argv"] == ["$(touch pwned)", "; rm -rf /", "*"])
        #expect(!FileManager.default.fileExists(atPath: project.file("pwned")))

        let shell = try await run(
            project, exec: #"{"command": "printf '{\"fileName\": \"%s\"}' \"sh-$INGEST_FILE_NAME\"", "shell": true}"#)
        #expect(try record(shell, "iccp.png").fileName == "sh-iccp.png")
    }

    @Test("commands that cannot run are configuration errors naming the option")
    func configuration() throws {
        let base = TemporaryDirectory()
        try "#!/bin/sh\n".write(toFile: base.file("not-executable.sh"), atomically: true, encoding: .utf8)
        func errors(_ with: String) -> String {
            do {
                _ = try buildPipeline(
                    #"{"stages": [{"kind": "source.directory", "with": {"path": "inbox"}}, {"kind": "exec", "with": \#(with)}]}"#,
                    base: base.path)
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(
            errors(#"{"command": ["no-such-program-xyz"]}"#).contains(
                #"stages[1].with.command: "no-such-program-xyz" is not found in PATH"#))
        #expect(
            errors(#"{"command": ["./not-executable.sh"]}"#).contains("not-executable.sh is not an executable file"))
        #expect(
            errors(#"{"command": ["echo", "hi"], "shell": true}"#).contains(
                "with \"shell\": true, command is one string"))
        #expect(errors(#"{"command": ["true"], "timeout": "0s"}"#).contains("stages[1].with.timeout"))
        #expect(errors(#"{"command": []}"#).contains("stages[1].with.command: expected the program and its arguments"))
    }
}
