import Foundation
import IngestStages
import MediaFormats
import MediaIngest
import PipelineTesting
import TestSupport
import Testing

/// Runs exiftool once over many files: `-j -G0:1 -a -n`, plus the binary ICC profile. Keyed by path. (Seconds of
/// Perl over the corpus: never on a thread of the Swift concurrency pool, which timing-sensitive suites share.)
func exiftoolTags(_ paths: [String], extra: [String] = []) async throws -> [String: [String: Any]] {
    guard !paths.isEmpty else { return [:] }
    let result = try await runProcessAsync(
        "/usr/bin/exiftool", ["-j", "-G0:1", "-a", "-n", "-b", "-ICC_Profile", "-all"] + extra + paths)
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
    var byPath: [String: [String: Any]] = [:]
    for row in rows { if let file = row["SourceFile"] as? String { byPath[file] = row } }
    return byPath
}

/// Tags that reveal privacy metadata left behind: GPS anywhere, maker notes, XMP, IPTC, Photoshop blocks, comments.
func leftovers(_ tags: [String: Any]) -> [String] {
    tags.keys.filter { key in
        let lowered = key.lowercased()
        return lowered.contains("gps") || key.hasPrefix("MakerNotes:") || key.hasPrefix("XMP") || key.hasPrefix("IPTC:")
            || key.hasPrefix("Photoshop:") || lowered.hasSuffix(":comment") || key.hasPrefix("File:Comment")
            || key.hasSuffix(":SerialNumber") || key.hasSuffix(":ImageDescription") || key.hasSuffix(":Make")
            || key.hasSuffix(":Model")
    }.sorted()
}

/// The decoded pixels of an image, by an independent decoder: djpeg for JPEG, dwebp for WebP; for PNG (whose
/// chunks we never change) the IHDR, PLTE, tRNS and concatenated IDAT data, read by Python.
func decodedPixels(_ path: String, format: ImageFormat) throws -> String {
    switch format {
    case .jpeg:
        let directory = TemporaryDirectory()
        _ = try runProcess("/usr/bin/djpeg", ["-pnm", "-outfile", directory.file("out.pnm"), path])
        guard FileManager.default.fileExists(atPath: directory.file("out.pnm")) else { return "undecodable" }
        return try sha256sum(directory.file("out.pnm"))
    case .webp:
        let directory = TemporaryDirectory()
        let result = try runProcess("/usr/bin/dwebp", ["-quiet", "-pam", path, "-o", directory.file("out.pam")])
        guard result.status == 0 else { return "undecodable" }
        return try sha256sum(directory.file("out.pam"))
    default:
        let script = """
            import sys, struct, hashlib
            data = open(sys.argv[1], 'rb').read(); i = 8; h = hashlib.sha256()
            while i + 8 <= len(data):
                n, t = struct.unpack('>I4s', data[i:i+8])
                if t in (b'IHDR', b'PLTE', b'tRNS', b'IDAT', b'acTL', b'fcTL', b'fdAT'): h.update(t + data[i+8:i+8+n])
                i += 12 + n
            print(h.hexdigest())
            """
        return try runProcess("/usr/bin/env", ["python3", "-c", script, path]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
    }
}

@Suite("strip.metadata", .serialized)
struct StripTests {
    /// Every corpus file whose content is JPEG, PNG or WebP (adversarial ones included).
    static let strippable = Corpus.expectations.filter { ["image/jpeg", "image/png", "image/webp"].contains($0.mime) }

    struct Stripped {
        var file: Corpus.Expectation
        var outcome: HarnessOutcome
        var output: String?
    }

    static func stripAll(_ stage: StripStage, files: [Corpus.Expectation]) async throws -> [Stripped] {
        let harness = StageHarness(stage)
        var results: [Stripped] = []
        for file in files {
            let outcome = try await harness.process(file: file.absolutePath)
            results.append(Stripped(file: file, outcome: outcome, output: outcome.asset?.contentPath))
        }
        return results
    }

    @Test("JPEG, PNG and WebP lose GPS, XMP, maker notes, IPTC and comments; orientation, ICC and pixels survive")
    func stripsCorpus() async throws {
        let results = try await Self.stripAll(StripStage(), files: Self.strippable)
        // Rejected: only files with nothing to keep (the file ends inside its EXIF) or no PNG header.
        let rejected = Dictionary(
            uniqueKeysWithValues: results.compactMap { result in
                result.outcome.rejection.map { (result.file.path, $0.code) }
            })
        #expect(rejected == ["adversarial/truncated_inside_exif.jpg": .truncated])
        let stripped = results.filter { $0.output != nil }
        let before = try await exiftoolTags(stripped.map(\.file.absolutePath))
        let after = try await exiftoolTags(stripped.compactMap(\.output))
        for result in stripped {
            let output = try #require(result.output)
            let tags = try #require(after[output], "exiftool read \(output)")
            let original = before[result.file.absolutePath] ?? [:]
            #expect(leftovers(tags).isEmpty, "\(result.file.path) keeps \(leftovers(tags))")
            // Orientation as expected.tsv says (exiftool 12.57 on the original).
            let orientation = tags["EXIF:IFD0:Orientation"] as? Int
            #expect(
                orientation == result.file.orientation,
                "\(result.file.path): orientation \(String(describing: orientation))")
            // The ICC profile is byte-identical when the original had one.
            #expect(
                tags["ICC_Profile:ICC_Profile"] as? String == original["ICC_Profile:ICC_Profile"] as? String,
                "\(result.file.path): ICC changed")
            // Pixels: decoded by an independent decoder, identical.
            let format = try #require(
                ImageHeaders.sniff(Array(try Data(contentsOf: URL(fileURLWithPath: output)).prefix(16))))
            #expect(
                try decodedPixels(output, format: format)
                    == (try decodedPixels(result.file.absolutePath, format: format)),
                "\(result.file.path): pixels differ")
            // The source is untouched and its SHA-256 was computed while streaming.
            #expect(result.outcome.asset?.sourceSHA256 == (try sha256sum(result.file.absolutePath)))
        }
        // What was removed is recorded for the manifest.
        let iphone = try #require(
            stripped.first { $0.file.path == "images/jpeg/gps_Apple_iPhone_4.jpg" }?.outcome.asset)
        #expect(iphone.facts["strip"]?["gps"] == true)
        #expect(iphone.facts["strip"]?["removed"]?["exif"] == 1)
        #expect(iphone.facts["strip"]?["orientation"] == 1)
        let samsung = try #require(
            stripped.first { $0.file.path == "images/jpeg/gps_orient6_Samsung_GT-I9000.jpg" }?.outcome.asset)
        #expect(samsung.facts["strip"]?["makerNote"] == true)
        let polyglot = try #require(
            stripped.first { $0.file.path == "adversarial/jpeg_with_appended_zip.jpg" }?.outcome.asset)
        #expect(polyglot.facts["strip"]?["trailingBytesRemoved"] == 3770)
        let truncated = try #require(
            stripped.first { $0.file.path == "adversarial/truncated_after_exif_gps.jpg" }?.outcome.asset)
        #expect(truncated.facts["strip"]?["gps"] == true)
        #expect(truncated.facts["strip"]?["truncated"] != nil)
    }

    @Test("the SHA-256 recorded while writing (contentDigest) is the SHA-256 of the work file, for every format")
    func contentDigest() async throws {
        let results = try await Self.stripAll(StripStage(), files: Self.strippable)
        var digests = 0
        for result in results {
            guard let asset = result.outcome.asset, let output = result.output, output != result.file.absolutePath
            else { continue }
            guard let digest = asset.contentDigest else { continue }
            #expect(digest.path == output, "\(result.file)")
            #expect(digest.size == asset.size, "\(result.file)")
            #expect(digest.sha256 == (try sha256sum(output)), "\(result.file)")
            digests += 1
        }
        #expect(digests >= 60, "most stripped files carry a digest; \(digests) did")
        // A 300 KB WebP: its RIFF length is patched after the first 256 KiB went to the file, so no stream digest.
        let big = TemporaryDirectory()
        let webp = try #require(Corpus.expectations.first { $0.path == "images/webp/exif_gps_icc_HTC_Desire.webp" })
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: webp.absolutePath)))
        let padding = 300_000
        // An unknown chunk after the image: copied by the stripper, and big enough to push the length patch past a flush.
        bytes +=
            Array("JUNK".utf8) + withUnsafeBytes(of: UInt32(padding).littleEndian, Array.init)
            + [UInt8](repeating: 7, count: padding)
        let riff = UInt32(bytes.count - 8).littleEndian
        withUnsafeBytes(of: riff) { bytes.replaceSubrange(4..<8, with: $0) }
        try Data(bytes).write(to: URL(fileURLWithPath: big.file("big.webp")))
        let outcome = try await StageHarness(StripStage()).process(file: big.file("big.webp"))
        let asset = try #require(outcome.asset, "\(String(describing: outcome.rejection))")
        if let digest = asset.contentDigest {
            #expect(digest.sha256 == (try sha256sum(try #require(asset.contentPath))))
        }
    }

    @Test("the source is hashed while stripping when a ledger or a later stage can use it, not otherwise")
    func sourceHashWhenUsed() async throws {
        let project = TemporaryDirectory()
        try copyCorpus(["images/jpeg/gps_minimal.jpg"], into: project.file("inbox"))
        let expected = try sha256sum(project.file("inbox/images/jpeg/gps_minimal.jpg"))
        func run(state: Bool, after: String) async throws -> String? {
            let pipeline = try buildPipeline(
                """
                {"name": "s", "state": {"enabled": \(state)},
                 "stages": [{"kind": "source.directory", "with": {"path": "inbox"}}, {"kind": "detect.mime"}, {"kind": "strip.metadata"}\(after)]}
                """, base: project.path)
            let report = await PipelineRunner(
                pipeline: pipeline, options: RunOptions(workDirectoryParent: project.file("work"))
            ).run()
            #expect(report.count(.done) == 1)
            return report.assets.first?.sha256
        }
        #expect(try await run(state: false, after: "") == nil, "nobody reads it: not computed")
        #expect(try await run(state: false, after: #", {"kind": "validate", "with": {"profile": "wix"}}"#) == expected)
        #expect(try await run(state: true, after: "") == expected, "the ledger stores it")
    }

    @Test("keep: [] drops orientation too; keep copyright writes it into the minimal EXIF")
    func keepOptions() async throws {
        let none = try StripStage(
            options: .decode(["keep": []], specs: StripStage.options), context: StageHarness<StripStage>.buildContext())
        let portrait = Corpus.path("images/jpeg/orientation_portrait_6.jpg")
        let plainOutcome = try await StageHarness(none).process(file: portrait)
        let plain = try #require(plainOutcome.asset?.contentPath)
        let tags = try await exiftoolTags([plain])[plain] ?? [:]
        #expect(tags["EXIF:IFD0:Orientation"] == nil)
        #expect(tags["ICC_Profile:ICC_Profile"] == nil, "icc not kept")

        // A copy of a corpus JPEG with a copyright, written by exiftool (an independent writer).
        let directory = TemporaryDirectory()
        let source = directory.file("copyright.jpg")
        _ = try await runProcessAsync(
            "/usr/bin/exiftool",
            [
                "-q", "-o", source, "-Copyright=© Jane Doe", "-Artist=Jane Doe",
                Corpus.path("images/jpeg/gps_orient6_Samsung_GT-I9000.jpg"),
            ])
        let keep = try StripStage(
            options: .decode(["keep": ["orientation", "copyright"]], specs: StripStage.options),
            context: StageHarness<StripStage>.buildContext())
        let keptOutcome = try await StageHarness(keep).process(file: source)
        let output = try #require(keptOutcome.asset?.contentPath)
        let kept = try await exiftoolTags([output])[output] ?? [:]
        #expect(kept["EXIF:IFD0:Copyright"] as? String == "© Jane Doe")
        #expect(kept["EXIF:IFD0:Artist"] as? String == "Jane Doe")
        #expect(kept["EXIF:IFD0:Orientation"] as? Int == 6)
        #expect(leftovers(kept).isEmpty)
        #expect(
            kept.keys.filter { $0.hasPrefix("EXIF:") }.sorted() == [
                "EXIF:IFD0:Artist", "EXIF:IFD0:Copyright", "EXIF:IFD0:Orientation",
            ])
    }

    @Test("gps-only removes location and keeps the rest")
    func gpsOnly() async throws {
        let stage = try StripStage(
            options: .decode(["mode": "gps-only"], specs: StripStage.options),
            context: StageHarness<StripStage>.buildContext())
        let files = [
            "images/jpeg/gps_Apple_iPhone_4.jpg", "images/jpeg/gps_xmp_iptc_icc_FujiFilm_FinePixS1Pro.jpg",
            "images/webp/exif_gps_icc_HTC_Desire.webp",
            "images/webp/exif_xmp_gps_orient6_Issue_473.webp", "images/jpeg/gps_orient6_Samsung_GT-I9000.jpg",
        ]
        let results = try await Self.stripAll(stage, files: files.compactMap(Corpus.expectation))
        let before = try await exiftoolTags(results.map(\.file.absolutePath))
        let after = try await exiftoolTags(results.compactMap(\.output))
        for result in results {
            let output = try #require(result.output, "\(result.file.path)")
            let tags = try #require(after[output])
            let original = try #require(before[result.file.absolutePath])
            #expect(
                tags.keys.filter { $0.lowercased().contains("gps") && !$0.hasPrefix("Composite:") }.isEmpty,
                "\(result.file.path) keeps GPS")
            #expect(
                tags["EXIF:IFD0:Make"] as? String == original["EXIF:IFD0:Make"] as? String,
                "\(result.file.path) lost Make")
            #expect(tags["EXIF:IFD0:Orientation"] as? Int == original["EXIF:IFD0:Orientation"] as? Int)
            #expect(
                tags["EXIF:ExifIFD:DateTimeOriginal"] as? String == original["EXIF:ExifIFD:DateTimeOriginal"] as? String
            )
            if original["IPTC:IPTC:ObjectName"] != nil {
                #expect(tags["IPTC:IPTC:ObjectName"] as? String == original["IPTC:IPTC:ObjectName"] as? String)
            }
            #expect(
                try decodedPixels(
                    output,
                    format: ImageHeaders.sniff(Array(try Data(contentsOf: URL(fileURLWithPath: output)).prefix(16)))!)
                    == (try decodedPixels(
                        result.file.absolutePath,
                        format: ImageHeaders.sniff(
                            Array(try Data(contentsOf: URL(fileURLWithPath: result.file.absolutePath)).prefix(16)))!)))
        }
        let fuji = try #require(results.first { $0.file.path.contains("FujiFilm") }?.output)
        #expect(after[fuji]?.keys.contains { $0.hasPrefix("XMP") } == true, "XMP without GPS stays")
    }

    @Test("formats that cannot be stripped are rejected (fail closed) or passed, as configured")
    func unsupportedFormats() async throws {
        let rejecting = StageHarness(StripStage())
        for file in [
            "images/tiff/plain.tif", "video/minimal.webm", "documents/minimal.pdf", "adversarial/html_named_photo.jpg",
        ] {
            let outcome = try await rejecting.process(file: Corpus.path(file))
            #expect(outcome.rejection?.code == .stripUnsupported, "\(file)")
        }
        // No bytes, no metadata: an empty file goes on unchanged, for validate's own verdict (`empty`).
        let empty = try await rejecting.process(file: Corpus.path("adversarial/zero_bytes.jpg"))
        #expect(empty.asset?.facts["strip"]?["empty"] == true, "\(String(describing: empty.rejection))")
        let passing = StageHarness(StripStage(onUnsupported: .pass))
        let passed = try await passing.process(file: Corpus.path("images/tiff/xmp_Arbitro.tiff"))
        #expect(passed.asset?.contentPath == Corpus.path("images/tiff/xmp_Arbitro.tiff"))
        #expect(passed.asset?.facts["strip"]?["passed"] != nil)
    }

    @Test(
        "hostile, broken and cut-off files: each is rejected (truncated, malformed, strip_unsupported) or stripped into a file exiftool finds no GPS in"
    )
    func hostileFiles() async throws {
        let harness = StageHarness(StripStage())
        let verdicts: Set<Rejection.Code> = [.truncated, .malformed, .stripUnsupported]
        var stripped: [String] = []
        var rejected = 0
        // A throw fails the test: no file may make the stage error (that would be retried for ever).
        func check(_ path: String) async throws {
            let outcome = try await harness.process(file: path)
            if let rejection = outcome.rejection {
                #expect(verdicts.contains(rejection.code), "\(path): \(rejection)")
                #expect(!rejection.reason.isEmpty)
                rejected += 1
            } else if let output = outcome.asset?.contentPath, output != path {
                #expect(FileManager.default.fileExists(atPath: output))
                stripped.append(output)
            }
        }
        for file in Corpus.expectations
        where file.path.hasPrefix("adversarial/") || file.path.contains("broken") || file.path.contains("truncated")
            || file.path.contains("invalid")
        {
            try await check(file.absolutePath)
        }
        // Garbage and cut-off versions of real files: every prefix length of a small JPEG, PNG and WebP.
        let directory = TemporaryDirectory()
        for source in [
            "images/jpeg/gps_minimal.jpg", "images/png/exif_chunk_small.png", "images/webp/exif_orient6.webp",
        ] {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: Corpus.path(source)))
            for length in stride(from: 0, to: min(bytes.count, 1200), by: 7) {
                let path = directory.file("cut-\(length)." + (source as NSString).pathExtension)
                try bytes.prefix(length).write(to: URL(fileURLWithPath: path))
                try await check(path)
            }
        }
        #expect(
            rejected > 50 && stripped.count > 10, "both ways taken: \(rejected) rejected, \(stripped.count) stripped")
        // What passed carries no GPS, by an independent reader.
        let exiftool = try await runProcessAsync("/usr/bin/exiftool", ["-json", "-q", "-q", "-gps:all"] + stripped)
        let entries = try #require(
            try JSONSerialization.jsonObject(with: Data(exiftool.stdout.utf8)) as? [[String: Any]])
        #expect(entries.count == stripped.count)
        for entry in entries { #expect(entry.keys.sorted() == ["SourceFile"], "GPS left in \(entry)") }
    }
}
