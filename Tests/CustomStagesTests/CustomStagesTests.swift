import Foundation
import IngestStages
import MediaIngest
import PipelineTesting
import TestSupport
import Testing

@testable import CustomStages

/// Builds a pipeline from JSON with the built-in and the in-repo custom stages, relative to `base`.
func buildPipeline(_ json: String, base: String) throws -> Pipeline {
    var registry = StageRegistry.builtins
    registry.registerCustomStages()
    return try PipelineBuilder(registry: registry, environment: [:]).build(
        data: Data(json.utf8), file: base + "/pipelines/test.json", baseDirectory: base)
}

/// The configuration errors building `json` raises, as `path: message` lines.
func configErrors(_ json: String) -> [String] {
    do {
        _ = try buildPipeline(json, base: FileManager.default.temporaryDirectory.path)
        return []
    } catch let error as PipelineConfigurationError {
        return error.errors.map(\.description)
    } catch {
        return ["\(error)"]
    }
}

/// The date exiftool (an independent reader) gives for a file, by the same preference as ``EXIFReader``:
/// EXIF DateTimeOriginal, then CreateDate (DateTimeDigitized), then ModifyDate (IFD0 DateTime).
func exiftoolDateTaken(_ path: String) async throws -> String? {
    let result = try await runProcessAsync(
        "/usr/bin/exiftool",
        ["-s3", "-d", "%Y-%m-%dT%H:%M:%S", "-EXIF:DateTimeOriginal", "-EXIF:CreateDate", "-EXIF:ModifyDate", path])
    return result.stdout.split(separator: "\n").map(String.init).first {
        $0.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$"#, options: .regularExpression) != nil
    }
}

@Suite("EXIF date taken, read with libexif")
struct EXIFReaderTests {
    @Test("agrees with exiftool on every JPEG, PNG and WebP in the corpus")
    func agreesWithExiftool() async throws {
        let files = Corpus.expectations.filter {
            ["image/jpeg", "image/png", "image/webp"].contains($0.mime) && !$0.path.hasPrefix("adversarial/")
        }
        #expect(files.count > 50)
        // Where libexif and exiftool read the same bytes differently (checked by hand with `exiftool -v3`):
        let knownDifferences: [String: (libexif: String?, exiftool: String?)] = [
            // IFD0's ExifOffset has the wrong type (string); exiftool refuses to follow it, libexif follows it and finds
            // DateTimeOriginal — the same moment XMP's exif:DateTimeOriginal records, so libexif's answer is the right one.
            "images/jpeg/broken_exif_typeerror.jpg": ("2010-07-11T13:53:00", "2010-08-15T13:58:09"),
            // A fuzzed file whose Exif IFD is full of out-of-range values: libexif discards the whole IFD (it then holds
            // only the tags libexif adds itself), so its DateTimeOriginal is lost; exiftool reads the tag.
            "images/jpeg/gps_minimal.jpg": (nil, "2099-09-29T10:10:10"),
        ]
        var withDates = 0
        for file in files {
            let ours = (try? EXIFReader.facts(ofFileAt: file.absolutePath))??.dateTaken.map {
                String($0.description.prefix(19))
            }
            let theirs = try await exiftoolDateTaken(file.absolutePath)
            if let known = knownDifferences[file.path] {
                #expect(
                    ours == known.libexif && theirs == known.exiftool,
                    "\(file.path): libexif \(ours ?? "none"), exiftool \(theirs ?? "none")")
            } else {
                #expect(ours == theirs, "\(file.path): libexif \(ours ?? "none"), exiftool \(theirs ?? "none")")
            }
            if ours != nil { withDates += 1 }
        }
        #expect(withDates >= 15, "the corpus has at least 15 dated photos; found \(withDates)")
    }

    @Test("orientation agrees with exiftool's EXIF:Orientation (expected.tsv's may come from XMP)")
    func orientation() async throws {
        var compared = 0
        for file in Corpus.expectations
        where ["image/jpeg", "image/webp", "image/png"].contains(file.mime) && file.orientation != nil {
            let ours = try EXIFReader.facts(ofFileAt: file.absolutePath)?.orientation
            let theirs = try await runProcessAsync(
                "/usr/bin/exiftool", ["-s3", "-n", "-EXIF:Orientation", file.absolutePath]
            ).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(
                ours.map(String.init) ?? "" == theirs,
                "\(file.path): libexif \(String(describing: ours)), exiftool \(theirs)")
            compared += 1
        }
        #expect(compared >= 10)
    }

    @Test("parses EXIF date strings and refuses blanks")
    func parsing() {
        #expect(EXIFDateTime(exif: "2004:08:27 13:52:55")?.description == "2004-08-27T13:52:55")
        #expect(EXIFDateTime(exif: "2004-08-27 13:52:55\0")?.description == "2004-08-27T13:52:55")
        #expect(EXIFDateTime(exif: "0000:00:00 00:00:00") == nil)
        #expect(EXIFDateTime(exif: "    :  :     :  :  ") == nil)
        #expect(EXIFDateTime(exif: "2004:13:27 13:52:55") == nil)
    }
}

@Suite("rename.template")
struct RenameTemplateTests {
    static let files = [
        "images/jpeg/Canon_DIGITAL_IXUS_400.jpg", "images/jpeg/gps_Apple_iPhone_4.jpg",
        "images/webp/exif_gps_icc_HTC_Desire.webp",
        "images/jpeg/no_app_segments_beach.jpg", "adversarial/png_named_photo.jpg", "documents/minimal.pdf",
    ]

    func run(
        _ with: String, files: [String] = RenameTemplateTests.files, strip: Bool = true
    ) async throws -> (RunReport, TemporaryDirectory) {
        let project = TemporaryDirectory()
        try copyCorpus(files, into: project.file("inbox"))
        // A fixed modification time for the fallback.
        for file in files {
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: 1_700_000_000)],
                ofItemAtPath: project.file("inbox/" + file))
        }
        let pipeline = try buildPipeline(
            """
            {"name": "rename", "concurrency": 2, "stages": [
              {"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "detect.mime"},
              \(strip ? #"{"kind": "strip.metadata", "with": {"onUnsupported": "pass"}},"# : "")
              {"kind": "rename.template", "with": \(with)}
            ]}
            """, base: project.path)
        return (await PipelineRunner(pipeline: pipeline).run(), project)
    }

    func record(_ report: RunReport, _ name: String) throws -> AssetRecord {
        try #require(report.assets.first { $0.path.hasSuffix(name) }, "\(name) not in the report")
    }

    @Test(
        "EXIF date taken (read from the source, after strip removed it from the work copy), mtime fallback, detected extension"
    )
    func renamesFromEXIF() async throws {
        let (report, _) = try await run(#"{"template": "{date}_{time}_{camera}_{name}.{ext}"}"#)
        #expect(report.count(.done) == 6)
        #expect(
            try record(report, "Canon_DIGITAL_IXUS_400.jpg").fileName
                == "2004-08-27_135255_Canon-DIGITAL-IXUS-400_Canon_DIGITAL_IXUS_400.jpg")
        #expect(
            try record(report, "gps_Apple_iPhone_4.jpg").fileName == "2011-01-13_143339_iPhone-4_gps_Apple_iPhone_4.jpg"
        )
        #expect(try record(report, "exif_gps_icc_HTC_Desire.webp").fileName.hasPrefix("2011-05-06_095948_"))
        // No EXIF: the modification time (UTC), and no camera.
        let beach = try record(report, "no_app_segments_beach.jpg")
        #expect(beach.fileName == "2023-11-14_221320_unknown-camera_no_app_segments_beach.jpg")
        #expect(beach.facts?["rename"]?["dateSource"] == "mtime")
        // A PNG named .jpg keeps its name but gets the extension of its content.
        #expect(try record(report, "png_named_photo.jpg").fileName.hasSuffix("_png_named_photo.png"))
        #expect(try record(report, "Canon_DIGITAL_IXUS_400.jpg").facts?["rename"]?["dateSource"] == "DateTimeOriginal")
        #expect(
            try record(report, "Canon_DIGITAL_IXUS_400.jpg").facts?["rename"]?["from"] == "Canon_DIGITAL_IXUS_400.jpg")
    }

    @Test("fallback reject and keep; {sha8} is the content hash")
    func fallbacks() async throws {
        let (report, project) = try await run(#"{"template": "{yyyy}{mm}{dd}-{sha8}.{ext}", "fallback": "reject"}"#)
        let beach = try record(report, "no_app_segments_beach.jpg")
        #expect(beach.status == .rejected)
        #expect(beach.code == "no_date_taken")
        let canon = try record(report, "Canon_DIGITAL_IXUS_400.jpg")
        let digest = try sha256sum(project.file("inbox/images/jpeg/Canon_DIGITAL_IXUS_400.jpg"))
        #expect(canon.fileName == "20040827-\(digest.prefix(8)).jpg")

        let (kept, _) = try await run(
            #"{"template": "{date}.{ext}", "fallback": "keep"}"#, files: ["images/jpeg/no_app_segments_beach.jpg"])
        #expect(try record(kept, "no_app_segments_beach.jpg").fileName == "no_app_segments_beach.jpg")
        #expect(try record(kept, "no_app_segments_beach.jpg").status == .done)
    }

    @Test("template mistakes are configuration errors at their JSON path")
    func configuration() {
        let stage = #"{"kind": "source.directory", "with": {"path": "inbox"}}"#
        #expect(
            configErrors(
                #"{"stages": [\#(stage), {"kind": "rename.template", "with": {"template": "{date}_{nmae}.{ext}"}}]}"#
            )
            .contains { $0.hasPrefix("stages[1].with.template: unknown placeholder {nmae}") })
        #expect(
            configErrors(
                #"{"stages": [\#(stage), {"kind": "rename.template", "with": {"template": "{yyyy}/{name}"}}]}"#
            )
            .contains { $0.hasPrefix("stages[1].with.template: a file name cannot contain \"/\"") })
        #expect(
            configErrors(
                #"{"stages": [\#(stage), {"kind": "rename.template", "with": {"template": "{name}", "timeZone": "Mars/Olympus"}}]}"#
            )
            .contains { $0.hasPrefix("stages[1].with.timeZone: unknown time zone") })
        #expect(
            configErrors(#"{"stages": [\#(stage), {"kind": "rename.template"}]}"#).contains { $0.contains("template") })
    }

    @Test("names are sanitised and limited")
    func sanitising() {
        #expect(RenameTemplateStage.sanitizedWord("Canon EOS 5D Mark IV") == "Canon-EOS-5D-Mark-IV")
        #expect(RenameTemplateStage.sanitizedFileName("..a\u{7}b\\c") == "a_b_c")
        let long = String(repeating: "x", count: 300) + ".jpeg"
        #expect(RenameTemplateStage.limited(long, to: 100).count == 100)
        #expect(RenameTemplateStage.limited(long, to: 100).hasSuffix("x.jpeg"))
    }
}

@Suite("route.by-type")
struct RouteByTypeTests {
    static let files = [
        "images/jpeg/gps_minimal.jpg", "images/png/iccp.png", "images/svg/minimal.svg", "video/plain.mp4",
        "documents/minimal.pdf",
        "documents/issue311.docx", "documents/global-temp.csv",
    ]
    static let routes = #"""
        [{"match": "image/*", "path": "/photos/{yyyy}"},
         {"match": ["video", "audio/*"], "folderId": "media-videos"},
         {"match": ["application/pdf", "document"], "path": "/documents", "folderId": "docs-root"}]
        """#

    func run(otherwise: String) async throws -> RunReport {
        let project = TemporaryDirectory()
        try copyCorpus(Self.files, into: project.file("inbox"))
        let pipeline = try buildPipeline(
            """
            {"name": "route", "stages": [
              {"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "detect.mime"},
              {"kind": "route.by-type", "with": {"routes": \(Self.routes), "otherwise": "\(otherwise)"}},
              {"kind": "upload.library", "with": {"path": "library"}}
            ]}
            """, base: project.path)
        return await PipelineRunner(pipeline: pipeline).run()
    }

    @Test("first matching route sets the placement; upload.library records its folder")
    func routes() async throws {
        let report = try await run(otherwise: "pass")
        #expect(report.count(.done) == 7)
        func asset(_ name: String) throws -> AssetRecord {
            try #require(report.assets.first { $0.path.hasSuffix(name) })
        }
        #expect(try asset("gps_minimal.jpg").facts?["route"]?["path"] == "/photos/{yyyy}")
        #expect(try asset("iccp.png").facts?["route"]?["route"] == 0)
        // SVG is image/svg+xml: the first route takes it.
        #expect(try asset("minimal.svg").facts?["route"]?["route"] == 0)
        #expect(try asset("plain.mp4").target?.descriptor?["parentFolderId"] == "media-videos")
        #expect(try asset("minimal.pdf").target?.descriptor?["parentFolderId"] == "docs-root")
        // docx is a document by family.
        #expect(try asset("issue311.docx").facts?["route"]?["route"] == 2)
        // CSV is text/csv, family document too.
        let csv = try asset("global-temp.csv")
        #expect(csv.family == "document" ? csv.facts?["route"]?["route"] == 2 : csv.facts?["route"] == nil)
        // Unrouted images keep the upload stage's folder.
        #expect(try asset("gps_minimal.jpg").target?.descriptor?["parentFolderId"] == "media-root")
    }

    @Test("otherwise: reject turns unrouted files away with no_route")
    func rejectsUnrouted() async throws {
        let project = TemporaryDirectory()
        try copyCorpus(["images/gif/plain.gif", "documents/minimal.pdf"], into: project.file("inbox"))
        let pipeline = try buildPipeline(
            #"""
            {"name": "route", "stages": [
              {"kind": "source.directory", "with": {"path": "inbox"}},
              {"kind": "detect.mime"},
              {"kind": "route.by-type", "with": {"routes": [{"match": "application/pdf", "path": "/docs"}], "otherwise": "reject"}}
            ]}
            """#, base: project.path)
        let report = await PipelineRunner(pipeline: pipeline).run()
        let gif = try #require(report.assets.first { $0.path.hasSuffix("plain.gif") })
        #expect(gif.status == .rejected)
        #expect(gif.code == "no_route")
        #expect(gif.reason?.contains("image/gif") == true)
        #expect(report.assets.first { $0.path.hasSuffix("minimal.pdf") }?.status == .done)
    }

    @Test("route mistakes are configuration errors at their JSON path")
    func configuration() {
        func errors(_ routes: String) -> [String] {
            configErrors(
                #"{"stages": [{"kind": "source.directory", "with": {"path": "inbox"}}, {"kind": "route.by-type", "with": {"routes": \#(routes)}}]}"#
            )
        }
        #expect(
            errors(#"[{"match": "image/*", "path": "/p"}, {"match": ["video/*", "imgae"], "path": "/v"}]"#)
                .contains { $0.hasPrefix("stages[1].with.routes[1].match[1]: expected a MIME pattern") })
        #expect(
            errors(#"[{"match": "image/*"}]"#).contains {
                $0.hasPrefix("stages[1].with.routes[0]: a route needs \"folderId\", \"path\" or both")
            })
        #expect(
            errors(#"[{"match": "image/*", "path": "/p/{month}"}]"#).contains {
                $0.hasPrefix("stages[1].with.routes[0].path: unknown placeholder {month}")
            })
        #expect(
            errors(#"[{"match": "image/*", "folder": "x"}]"#).contains {
                $0.hasPrefix("stages[1].with.routes[0].folder: unknown key")
            })
        #expect(errors("[]").contains { $0.hasPrefix("stages[1].with.routes: expected at least one route") })
    }
}
