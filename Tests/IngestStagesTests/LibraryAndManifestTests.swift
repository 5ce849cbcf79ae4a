import Foundation
import IngestStages
import MediaIngest
import PipelineTesting
import TestSupport
import Testing

/// Builds a pipeline from JSON with the built-in stages, relative to `base`.
func buildPipeline(_ json: String, base: String, environment: [String: String] = [:]) throws -> Pipeline {
    try PipelineBuilder(registry: .builtins, environment: environment).build(
        data: Data(json.utf8), file: base + "/pipelines/test.json", baseDirectory: base)
}

func readJSONLines(_ path: String) throws -> [JSONValue] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
        try JSONDecoder().decode(JSONValue.self, from: Data($0.utf8))
    }
}

@Suite("upload.library and report.manifest over the corpus")
struct LibraryAndManifestTests {
    static let sample = [
        "images/jpeg/gps_Apple_iPhone_4.jpg", "images/jpeg/icc_9_segments.jpg", "images/png/exif_chunk_after_idat.png",
        "images/webp/exif_gps_icc_HTC_Desire.webp", "images/gif/plain.gif", "images/heic/plain_hopper.heif",
        "images/tiff/plain.tif",
        "documents/minimal.pdf", "documents/issue311.docx", "documents/global-temp.csv", "video/plain.mp4",
        "adversarial/zero_bytes.jpg",
    ]

    @Test("every file is stored once, content-addressed, with a Wix-shaped descriptor; sources are untouched")
    func storesCorpus() async throws {
        let project = TemporaryDirectory()
        try copyCorpus(Self.sample, into: project.file("inbox"))
        // A second copy of one file under another name: stored once.
        try FileManager.default.copyItem(
            atPath: project.file("inbox/images/gif/plain.gif"), toPath: project.file("inbox/copy-of-plain.gif"))
        var before: [String: String] = [:]
        for relative in Self.sample + ["copy-of-plain.gif"] {
            before[relative] = try sha256sum(project.file("inbox/" + relative))
        }

        let pipeline = try buildPipeline(
            #"""
            {"name": "lib", "concurrency": 3, "stages": [
              {"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "upload.library", "with": {"path": "library", "labels": ["test"]}},
              {"kind": "report.manifest", "with": {"path": "out/{pipeline}.jsonl"}}
            ]}
            """#, base: project.path)
        let report = await PipelineRunner(pipeline: pipeline).run()
        #expect(report.count(.done) == 13)
        #expect(report.outcome == .success)

        // Sources are unchanged.
        for (relative, digest) in before {
            #expect(try sha256sum(project.file("inbox/" + relative)) == digest, "\(relative) changed")
        }

        // One stored file + one descriptor per distinct content.
        let stored = try FileManager.default.subpathsOfDirectory(atPath: project.file("library/files")).filter {
            !$0.hasSuffix(".json") && $0.contains("/")
        }
        #expect(stored.count == Set(before.values).count)
        for relative in stored {
            let path = project.file("library/files/" + relative)
            let name = ((relative as NSString).lastPathComponent as NSString).deletingPathExtension
            #expect(try sha256sum(path) == name, "stored file name is its SHA-256")
            let descriptorData = try Data(
                contentsOf: URL(fileURLWithPath: (path as NSString).deletingPathExtension + ".json"))
            let descriptor = try JSONDecoder().decode(JSONValue.self, from: descriptorData)
            let md5 = try await runProcessAsync("/usr/bin/md5sum", [path]).stdout.prefix(32)
            #expect(descriptor["hash"]?.stringValue == String(md5))
            #expect(descriptor["sha256"]?.stringValue == name)
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
            #expect(descriptor["sizeInBytes"]?.stringValue == size.map(String.init))
            #expect(descriptor["operationStatus"] == "READY")
            #expect(descriptor["labels"] == ["test"])
            for key in [
                "id", "displayName", "url", "parentFolderId", "mimeType", "mediaType", "createdDate", "updatedDate",
                "state", "private",
            ] {
                #expect(descriptor[key] != nil, "descriptor lacks \(key)")
            }
        }

        // Image dimensions in descriptors agree with exiftool.
        let lines = try readJSONLines(project.file("out/lib.jsonl"))
        #expect(lines.count == 13)
        for line in lines {
            #expect(line["status"] == "done")
            #expect(line["run"]?.stringValue == report.runID)
            let source = try #require(line["source"]?.stringValue)
            #expect(line["sha256"]?.stringValue == before[String(source.dropFirst(project.file("inbox/").count))])
            #expect(line["target"]?["id"]?.stringValue?.isEmpty == false)
        }
        let gps = try #require(lines.first { $0["path"] == "images/jpeg/gps_Apple_iPhone_4.jpg" })
        let descriptorPath = try #require(gps["facts"]?["library"]?["path"]?.stringValue)
        let descriptor = try JSONDecoder().decode(
            JSONValue.self,
            from: Data(contentsOf: URL(fileURLWithPath: (descriptorPath as NSString).deletingPathExtension + ".json")))
        #expect(descriptor["media"]?["image"]?["image"]?["width"] == 1296)
        #expect(descriptor["media"]?["image"]?["image"]?["height"] == 968)
        #expect(descriptor["mediaType"] == "IMAGE")
        let duplicates = lines.filter { $0["facts"]?["library"]?["duplicate"] == true }
        #expect(duplicates.count == 1)

        // A second run stores nothing new.
        let again = await PipelineRunner(pipeline: pipeline).run()
        #expect(again.count(.done) == 13)
        let storedAgain = try FileManager.default.subpathsOfDirectory(atPath: project.file("library/files")).filter {
            !$0.hasSuffix(".json") && $0.contains("/")
        }
        #expect(storedAgain.count == stored.count)
        #expect(try readJSONLines(project.file("out/lib.jsonl")).count == 26)
    }

    @Test("a manifest line is written for rejected and failed assets too")
    func manifestCoversProblems() async throws {
        let project = TemporaryDirectory()
        try copyCorpus(["images/png/iccp.png", "images/gif/plain.gif"], into: project.file("inbox"))
        struct RejectGIF: Stage {
            func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
                asset.sourceExtension == "gif"
                    ? .reject(asset, Rejection(.typeNotAllowed, "no GIFs here")) : .next(asset)
            }
        }
        let manifest = ManifestStage(path: project.file("m.jsonl"))
        let pipeline = Pipeline(
            name: "m", concurrency: 2, sources: [Pipeline.Component(try DirectorySource(root: project.file("inbox")))],
            stages: [Pipeline.Component(RejectGIF() as any Stage, kind: "reject-gif", phase: .validate)],
            observers: [Pipeline.Component(manifest)],
            baseDirectory: project.path)
        let report = await PipelineRunner(pipeline: pipeline).run()
        #expect(report.count(.rejected) == 1)
        let lines = try readJSONLines(project.file("m.jsonl"))
        let rejected = try #require(lines.first { $0["status"] == "rejected" })
        #expect(rejected["code"] == "type_not_allowed")
        #expect(rejected["reason"] == "no GIFs here")
        #expect(rejected["stage"] == "reject-gif")
        #expect(rejected["sha256"]?.stringValue == (try sha256sum(project.file("inbox/images/gif/plain.gif"))))
        #expect(lines.count == 2)
    }

    @Test("a dry run writes no manifest and stores nothing")
    func dryRunWritesNothing() async throws {
        let project = TemporaryDirectory()
        try copyCorpus(["images/png/iccp.png"], into: project.file("inbox"))
        let pipeline = try buildPipeline(
            #"""
            {"stages": [{"kind": "source.directory", "with": {"path": "inbox"}},
                        {"kind": "upload.library", "with": {"path": "library"}},
                        {"kind": "report.manifest", "with": {"path": "m.jsonl"}}]}
            """#, base: project.path)
        let report = await PipelineRunner(pipeline: pipeline, options: RunOptions(isDryRun: true)).run()
        #expect(report.count(.planned) == 1)
        #expect(!FileManager.default.fileExists(atPath: project.file("m.jsonl")))
        #expect(!FileManager.default.fileExists(atPath: project.file("library/files")))
    }
}
