import Foundation
import TestSupport
import Testing
import WixMediaEmulator

/// `state.dedupe: "target"`: what Wix (or the library) already holds is not uploaded again — and nothing that is not
/// there is ever taken for a duplicate, under either reading of Wix's `hash`.
@Suite("state.dedupe target", .serialized, .cleansUp)
struct DedupeTargetTests {
    /// Six distinct JPEGs (the corpus's, their bytes as they are).
    static let sources = Array(Corpus.expectations(under: "images/jpeg/").map(\.absolutePath).prefix(6))

    static func write(_ sources: some Sequence<String>, into folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for source in sources {
            try FileManager.default.copyItem(
                atPath: source, toPath: folder + "/" + (source as NSString).lastPathComponent)
        }
    }

    /// A pipeline uploading `inbox` without stripping (the bytes sent are the files'), with dedupe off or on target.
    static func pipeline(_ rig: LibraryRig, name: String, inbox: String, dedupe: Bool, extraState: String = "") throws {
        try rig.project.write(
            "pipelines/\(name).json",
            """
            {"name": "\(name)", "concurrency": 3, "state": {"dedupe": "\(dedupe ? "target" : "off")"\(extraState)},
             "stages": [
              {"kind": "source.directory", "with": {"path": "\(inbox)"}},
              {"kind": "detect.mime"},
              {"kind": "upload.wix", "with": {\(rig.connection), "filePath": "/photos"}},
              \(rig.awaitReady),
              {"kind": "report.manifest", "with": {"path": "\(name).jsonl"}}
            ]}
            """)
    }

    static var strict: Bool { ProcessInfo.processInfo.environment["WIX_EMULATOR_STRICT"] == "1" }

    @Test(
        "what another tool put at Wix is found by its MD5 (never an impostor of the same name and size); an opaque hash uploads"
    )
    func otherLedger() async throws {
        let rig = try await LibraryRig.start()
        try Self.write(Self.sources.prefix(3), into: rig.project.file("first"))
        try Self.pipeline(rig, name: "first", inbox: "first", dedupe: false)
        #expect(try await rig.run("first").status == 0)
        #expect(rig.uploads == 3)

        // All six, and an impostor: the name and size of an uploaded one, other bytes.
        try Self.write(Self.sources, into: rig.project.file("second/real"))
        let victim = (Self.sources[0] as NSString).lastPathComponent
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.sources[0]))
        bytes[bytes.count / 2] ^= 0xFF
        try FileManager.default.createDirectory(
            atPath: rig.project.file("second/fake"), withIntermediateDirectories: true)
        try bytes.write(to: URL(fileURLWithPath: rig.project.file("second/fake/" + victim)))
        try Self.pipeline(rig, name: "second", inbox: "second", dedupe: true)
        let result = try await rig.run("second")
        #expect(result.status == 0, "\(result.stdout.suffix(1500))\n\(result.stderr)")
        let lines = try rig.manifest("second.jsonl")
        let skipped = lines.filter { $0["status"] as? String == "skipped" }
        let firstIDs = Set(try rig.manifest("first.jsonl").compactMap { $0[path: "target", "id"] as? String })
        if Self.strict {
            // Wix's hash is not the MD5 and no ledger knows these files: nothing can be proven, everything goes.
            #expect(skipped.isEmpty)
            #expect(rig.uploads == 3 + 7)
        } else {
            #expect(skipped.count == 3)
            #expect(Set(skipped.compactMap { $0[path: "facts", "duplicateOf"] as? String }) == firstIDs)
            #expect(skipped.allSatisfy { $0[path: "facts", "wix", "matchedBy"] as? String == "md5" })
            #expect(rig.uploads == 3 + 4)
        }
        let fake = try #require(lines.first { ($0["path"] as? String) == "fake/" + victim })
        #expect(fake["status"] as? String == "done", "the impostor is uploaded")
    }

    @Test("the same ledger: files moved to other folders, and two copies in one run, are uploaded once (either hash)")
    func sameLedger() async throws {
        let rig = try await LibraryRig.start()
        try Self.write(Self.sources.prefix(3), into: rig.project.file("inbox/2019"))
        try Self.pipeline(rig, name: "photos", inbox: "inbox", dedupe: true)
        #expect(try await rig.run("photos").status == 0)
        #expect(rig.uploads == 3)
        // Moved (new ledger keys), plus two copies of a new one.
        try FileManager.default.moveItem(
            atPath: rig.project.file("inbox/2019"), toPath: rig.project.file("inbox/sorted"))
        try Self.write([Self.sources[3]], into: rig.project.file("inbox/copy-a"))
        try Self.write([Self.sources[3]], into: rig.project.file("inbox/copy-b"))
        let result = try await rig.run("photos")
        #expect(result.status == 0, "\(result.stdout.suffix(1500))\n\(result.stderr)")
        #expect(rig.uploads == 4)
        let lines = try rig.manifest("photos.jsonl").suffix(5)
        let skipped = lines.filter { $0["status"] as? String == "skipped" }
        #expect(skipped.count == 4)
        let evidence = Set(skipped.compactMap { $0[path: "facts", "wix", "matchedBy"] as? String })
        #expect(evidence.isSubset(of: ["md5", "ledger", "run"]) && evidence.contains("run"))
        if Self.strict { #expect(evidence == ["ledger", "run"]) }
        // A third run has nothing to do: the duplicates were recorded done.
        let again = try await rig.run("photos")
        #expect(again.status == 0)
        #expect(rig.uploads == 4)
    }

    @Test("the local library: its content index makes a second pipeline's copies skipped, with the stored path")
    func library() async throws {
        let rig = try await LibraryRig.start()
        try Self.write(Self.sources.prefix(3), into: rig.project.file("a"))
        try Self.write(Self.sources.prefix(4), into: rig.project.file("b"))
        for name in ["a", "b"] {
            try rig.project.write(
                "pipelines/\(name).json",
                """
                {"name": "\(name)", "state": {"dedupe": "target"}, "stages": [
                  {"kind": "source.directory", "with": {"path": "\(name)"}},
                  {"kind": "upload.library", "with": {"path": "library"}},
                  {"kind": "report.manifest", "with": {"path": "\(name).jsonl"}}]}
                """)
            #expect(try await rig.run(name).status == 0)
        }
        let lines = try rig.manifest("b.jsonl")
        let skipped = lines.filter { $0["status"] as? String == "skipped" }
        #expect(skipped.count == 3)
        for line in skipped {
            let stored = try #require(line[path: "facts", "duplicateOf"] as? String)
            #expect(
                stored.hasPrefix(rig.project.file("library/files/")) && FileManager.default.fileExists(atPath: stored))
        }
        let blobs = try FileManager.default.subpathsOfDirectory(atPath: rig.project.file("library/files"))
            .filter { !$0.hasSuffix(".json") && $0.contains(".") }
        #expect(blobs.count == 4)
    }
}

/// A second machine sharing the PostgreSQL ledger finds what the first uploaded, even when Wix's hash proves nothing.
@Suite(
    "state.dedupe target across hosts", .serialized, .cleansUp,
    .enabled(if: PostgresTestServer.isAvailable, Comment(rawValue: PostgresTestServer.skipReason)))
struct DedupeAcrossHostsTests {
    @Test("host B, other folders, opaque hash: uploads nothing host A uploaded")
    func secondMachine() async throws {
        var strict = FaultSettings()
        strict.makeStrict()
        let rig = try await LibraryRig.start(faults: strict)
        let database = try await PostgresTestServer.makeDatabase()
        try DedupeTargetTests.write(DedupeTargetTests.sources, into: rig.project.file("host-a/camera"))
        try DedupeTargetTests.write(DedupeTargetTests.sources, into: rig.project.file("host-b/backup/old"))
        for host in ["host-a", "host-b"] {
            try rig.project.write(
                "pipelines/\(host).json",
                """
                {"name": "shared", "concurrency": 3, "state": {"dedupe": "target", "ledger": "${LEDGER}"}, "stages": [
                  {"kind": "source.directory", "with": {"path": "\(host)"}},
                  {"kind": "detect.mime"},
                  {"kind": "upload.wix", "with": {\(rig.connection), "filePath": "/photos"}},
                  \(rig.awaitReady),
                  {"kind": "report.manifest", "with": {"path": "\(host).jsonl"}}]}
                """)
        }
        let environment = PostgresTestServer.childEnvironment.merging(["LEDGER": database]) { $1 }
        let first = try await rig.run("host-a", environment: environment.merging(["INGEST_HOST": "a"]) { $1 })
        #expect(first.status == 0, "\(first.stderr)")
        #expect(rig.uploads == 6)
        let second = try await rig.run("host-b", environment: environment.merging(["INGEST_HOST": "b"]) { $1 })
        #expect(second.status == 0, "\(second.stdout.suffix(1500))\n\(second.stderr)")
        #expect(rig.uploads == 6, "host B uploaded nothing")
        let lines = try rig.manifest("host-b.jsonl")
        #expect(lines.count == 6)
        #expect(
            lines.allSatisfy {
                $0["status"] as? String == "skipped" && $0[path: "facts", "wix", "matchedBy"] as? String == "ledger"
            })
        // The shared ledger keeps each host's report: the latest run is host b's.
        let report = try await runProcessAsync(
            ingest, ["report", "host-b", "--html", "b.html"], environment: environment,
            currentDirectory: rig.project.path)
        #expect(report.status == 0, "\(report.stderr)")
        let page = try String(contentsOfFile: rig.project.file("b.html"), encoding: .utf8)
        #expect(page.contains(#"id="count-skipped" data-count="6""#) && page.contains("<dd>b</dd>"))
    }
}
