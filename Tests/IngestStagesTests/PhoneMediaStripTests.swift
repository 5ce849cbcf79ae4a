import Foundation
import IngestStages
import MediaFormats
import MediaIngest
import PipelineTesting
import TestSupport
import Testing

/// strip.metadata over what phones shoot: HEIC/HEIF/AVIF photos, MP4/MOV/3GP videos, and GIFs — every such file in
/// the corpus, checked with readers that share no code with ours (exiftool, heif-convert, ffmpeg/ffprobe).
@Suite("strip.metadata: HEIF, video and GIF", .serialized)
struct PhoneMediaStripTests {
    static let heif = Corpus.expectations.filter { ["image/heic", "image/avif"].contains($0.mime) }
    static let movies = Corpus.expectations.filter { ["video/quicktime", "video/mp4", "video/3gpp"].contains($0.mime) }
    static let gifs = Corpus.expectations.filter { $0.mime == "image/gif" }

    static func strip(
        _ files: [Corpus.Expectation], with stage: StripStage = StripStage()
    ) async throws -> [(file: Corpus.Expectation, asset: Asset, outcome: HarnessOutcome)] {
        // Each result holds its outcome, which keeps the harness's work folder (and the output in it) alive.
        let harness = StageHarness(stage)
        var results: [(Corpus.Expectation, Asset, HarnessOutcome)] = []
        for file in files {
            let outcome = try await harness.process(file: file.absolutePath)
            let asset = try #require(outcome.asset, "\(file.path): \(String(describing: outcome.rejection))")
            results.append((file, asset, outcome))
        }
        return results
    }

    static func output(_ asset: Asset) throws -> String { try #require(asset.contentPath) }

    @Test(
        "HEIC/HEIF/AVIF: no EXIF, GPS, XMP or maker notes left (exiftool); ICC, irot and pixels (heif-convert) unchanged"
    )
    func heifFiles() async throws {
        #expect(Self.heif.count >= 8)
        let results = try await Self.strip(Self.heif)
        let before = try await MediaTools.tags(results.map(\.file.absolutePath), extra: ["-ee"])
        let after = try await MediaTools.tags(try results.map { try Self.output($0.asset) }, extra: ["-ee"])
        for (file, asset, _) in results {
            let output = try Self.output(asset)
            let tags = try #require(after[output], "exiftool read \(output)")
            let original = try #require(before[file.absolutePath])
            #expect(phoneLeftovers(tags).isEmpty, "\(file.path) keeps \(phoneLeftovers(tags))")
            #expect(
                tags["ICC_Profile:ICC_Profile"] as? String == original["ICC_Profile:ICC_Profile"] as? String,
                "\(file.path): ICC changed")
            #expect(
                tags["QuickTime:Rotation"] as? Int == original["QuickTime:Rotation"] as? Int,
                "\(file.path): irot changed")
            #expect(
                tags["QuickTime:ImageSpatialExtent"] as? String == original["QuickTime:ImageSpatialExtent"] as? String)
            let pixels = try await MediaTools.heifPixels(output)
            #expect(!pixels.isEmpty && !pixels.contains { $0.hasPrefix("undecodable") }, "\(file.path): \(pixels)")
            #expect(pixels == (try await MediaTools.heifPixels(file.absolutePath)), "\(file.path): pixels differ")
            // The removed payloads are gone from the bytes, not only unlinked.
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: output)))
            for tag in ["EXIF", "XMP"] {
                let blob = try await MediaTools.exiftoolBlob(tag, file.absolutePath)
                for window in windows(of: blob) {
                    #expect(!contains(bytes, window), "\(file.path): part of its \(tag) is still in the output")
                }
            }
            if file.hasGPS { #expect(asset.facts["strip"]?["gps"] == true, "\(file.path)") }
            #expect(asset.facts["strip"]?["format"] == "heif")
            // The source is untouched.
            #expect(
                Corpus.expectation(file.path)?.size
                    == Int64((try Data(contentsOf: URL(fileURLWithPath: file.absolutePath))).count))
        }
        let iphone = try #require(results.first { $0.file.path.hasSuffix("IMG_5195.HEIC") }?.asset)
        #expect(iphone.facts["strip"]?["removed"] == ["exif": 1, "xmp": 1])
        #expect(iphone.facts["strip"]?["makerNote"] == true)
        #expect(iphone.facts["strip"]?["icc"] == true)
        let source = Array(
            try Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/heic/gps_iphone_IMG_5195.HEIC"))))
        #expect(contains(source, Array("Apple iOS".utf8)), "the iPhone's maker note is in the source")
        #expect(
            !contains(
                Array(try Data(contentsOf: URL(fileURLWithPath: try Self.output(iphone)))), Array("Apple iOS".utf8)))
        // Files with nothing to remove pass unchanged, without a copy.
        let plain = try #require(results.first { $0.file.path == "images/heic/plain_hopper.heif" }?.asset)
        #expect(plain.contentPath == Corpus.path("images/heic/plain_hopper.heif"))
        #expect(plain.facts["strip"]?["unchanged"] == true)
    }

    @Test(
        "MP4/MOV/3GP: no location, make/model, keys, user data, XMP or timed metadata left; packets and streams unchanged (ffmpeg)"
    )
    func movieFiles() async throws {
        #expect(Self.movies.count >= 6)
        let results = try await Self.strip(Self.movies)
        let after = try await MediaTools.tags(try results.map { try Self.output($0.asset) }, extra: ["-ee"])
        let before = try await MediaTools.tags(results.map(\.file.absolutePath), extra: ["-ee"])
        for (file, asset, _) in results {
            let output = try Self.output(asset)
            let tags = try #require(after[output])
            #expect(phoneLeftovers(tags).isEmpty, "\(file.path) keeps \(phoneLeftovers(tags))")
            let (hashes, errors) = try await MediaTools.packetHashes(output)
            #expect(errors.isEmpty, "\(file.path): ffmpeg says \(errors)")
            #expect(!hashes.isEmpty)
            #expect(
                hashes == (try await MediaTools.packetHashes(file.absolutePath).hashes), "\(file.path): packets differ")
            #expect(
                try await MediaTools.streams(output) == (try await MediaTools.streams(file.absolutePath)),
                "\(file.path): streams differ")
            // The movie matrix stays (ffprobe compared each track's rotation and size above).
            let original = try #require(before[file.absolutePath])
            #expect(tags["QuickTime:MatrixStructure"] as? String == original["QuickTime:MatrixStructure"] as? String)
            if file.hasGPS { #expect(asset.facts["strip"]?["gps"] == true, "\(file.path)") }
        }
        // The iPhone MOV: its location key and value, and its two timed metadata tracks (faces, orientation), are gone
        // from the bytes; audio and video stay.
        let iphone = try #require(results.first { $0.file.path == "video/gps_iphone.mov" }?.asset)
        let source = Array(try Data(contentsOf: URL(fileURLWithPath: Corpus.path("video/gps_iphone.mov"))))
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: try Self.output(iphone))))
        for needle in [
            "com.apple.quicktime.location.ISO6709", "+32.0929+034.8620", "com.apple.quicktime.detected-face",
            "iPhone 6",
        ] {
            #expect(contains(source, Array(needle.utf8)), "the source holds \(needle)")
            #expect(!contains(bytes, Array(needle.utf8)), "the output still holds \(needle)")
        }
        #expect(
            try await MediaTools.streamKinds(Corpus.path("video/gps_iphone.mov")) == ["audio", "video", "data", "data"])
        #expect(try await MediaTools.streamKinds(try Self.output(iphone)) == ["audio", "video"])
        #expect(iphone.facts["strip"]?["removed"]?["track:mebx"] == 2)
        let udta = try #require(results.first { $0.file.path == "video/gps_udta.mp4" })
        let udtaBytes = Array(try Data(contentsOf: URL(fileURLWithPath: try Self.output(udta.asset))))
        #expect(!contains(udtaBytes, [0xA9] + Array("xyz".utf8)) && !contains(udtaBytes, Array("+51.4169".utf8)))
        let xmp = try #require(results.first { $0.file.path == "video/xmp.mov" })
        let packet = try await MediaTools.exiftoolBlob("XMP", xmp.file.absolutePath)
        #expect(packet.count > 1000)
        for window in windows(of: packet) {
            #expect(!contains(Array(try Data(contentsOf: URL(fileURLWithPath: try Self.output(xmp.asset)))), window))
        }
    }

    @Test(
        "a faststart MP4 (moov before mdat) with keys, ©xyz, loci and XMP written by ffmpeg and exiftool: all gone, no sample moves"
    )
    func faststartWithEveryKind() async throws {
        let directory = TemporaryDirectory()
        let remuxed = directory.file("remuxed.mp4")
        let source = directory.file("tagged.mp4")
        var result = try await runProcessAsync(
            "/usr/bin/ffmpeg",
            [
                "-nostdin", "-v", "error", "-i", Corpus.path("video/gps_udta.mp4"), "-c", "copy", "-movflags",
                "+faststart+use_metadata_tags",
                "-metadata", "location=+48.8584+002.2945/", "-metadata", "make=Google", "-metadata", "model=Pixel 8",
                "-metadata", "com.apple.quicktime.location.ISO6709=+48.8584+002.2945+035.000/", remuxed,
            ])
        #expect(result.status == 0, "\(result.stderr)")
        result = try await runProcessAsync(
            "/usr/bin/exiftool",
            [
                "-q", "-o", source, "-XMP:GPSLatitude=48.8584", "-XMP:GPSLongitude=2.2945", "-XMP:Creator=Jane",
                "-UserData:GPSCoordinates=48.8584, 2.2945", remuxed,
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let tagged = try #require(try await MediaTools.tags([source], extra: ["-ee"])[source])
        #expect(phoneLeftovers(tagged).count >= 8, "the source carries every kind: \(phoneLeftovers(tagged))")
        let outcome = try await StageHarness(StripStage()).process(file: source)
        let asset = try #require(outcome.asset)
        let output = try Self.output(asset)
        let tags = try #require(try await MediaTools.tags([output], extra: ["-ee"])[output])
        #expect(phoneLeftovers(tags).isEmpty, "keeps \(phoneLeftovers(tags))")
        #expect(try await MediaTools.packetHashes(output).hashes == (try await MediaTools.packetHashes(source).hashes))
        #expect(try await MediaTools.packetHashes(output).errors.isEmpty)
        // The moov shrank where it stands and a zeroed free box holds its old footprint: the file keeps its length
        // and mdat its offset, so no chunk offset had to change.
        #expect(asset.size == Int64(try Data(contentsOf: URL(fileURLWithPath: source)).count))
        #expect(tags["QuickTime:MediaDataOffset"] as? Int == tagged["QuickTime:MediaDataOffset"] as? Int)
        for needle in ["+48.8584", "Pixel 8", "xmpmeta"] {
            #expect(
                !contains(Array(try Data(contentsOf: URL(fileURLWithPath: output))), Array(needle.utf8)),
                "\(needle) is still in the bytes")
        }
    }

    @Test("GIF: XMP and comments go, NETSCAPE looping and every frame (ffmpeg) stay")
    func gifFiles() async throws {
        let results = try await Self.strip(Self.gifs)
        let after = try await MediaTools.tags(try results.map { try Self.output($0.asset) })
        let before = try await MediaTools.tags(results.map(\.file.absolutePath))
        for (file, asset, _) in results {
            let output = try Self.output(asset)
            let tags = try #require(after[output])
            #expect(
                phoneLeftovers(tags).isEmpty && leftovers(tags).isEmpty,
                "\(file.path) keeps \(phoneLeftovers(tags) + leftovers(tags))")
            #expect(
                tags["GIF:AnimationIterations"] as? String == before[file.absolutePath]?["GIF:AnimationIterations"]
                    as? String)
            #expect(
                try await MediaTools.gifFrames(output) == (try await MediaTools.gifFrames(file.absolutePath)),
                "\(file.path): frames differ")
        }
        let xmp = try #require(results.first { $0.file.path == "images/gif/xmp.gif" })
        #expect(xmp.asset.facts["strip"]?["removed"]?["xmp"] == 1)
        let packet = try await MediaTools.exiftoolBlob("XMP", xmp.file.absolutePath)
        for window in windows(of: packet) {
            #expect(!contains(Array(try Data(contentsOf: URL(fileURLWithPath: try Self.output(xmp.asset)))), window))
        }
        let commented = try #require(results.first { $0.file.path == "images/gif/plain.gif" })
        #expect(commented.asset.facts["strip"]?["removed"]?["comment"] == 1)
        #expect(before[commented.file.absolutePath]?["File:Comment"] != nil)
        let plain = try #require(results.first { $0.file.path == "images/gif/animated_dispose.gif" })
        #expect(plain.asset.contentPath == plain.file.absolutePath, "a GIF without metadata passes unchanged")
    }

    @Test("gps-only: HEIC, MOV, MP4 and GIF lose their location and keep make, model, dates and the rest of the XMP")
    func gpsOnly() async throws {
        let stage = try StripStage(
            options: .decode(["mode": "gps-only"], specs: StripStage.options),
            context: StageHarness<StripStage>.buildContext())
        // A GIF with XMP GPS, written by exiftool (an independent writer).
        let directory = TemporaryDirectory()
        let gif = directory.file("gps.gif")
        _ = try await runProcessAsync(
            "/usr/bin/exiftool",
            [
                "-q", "-o", gif, "-XMP:GPSLatitude=48.8584", "-XMP:GPSLongitude=2.2945", "-XMP:Creator=Jane",
                Corpus.path("images/gif/xmp.gif"),
            ])
        let paths =
            [
                "images/heic/gps_iphone_IMG_5195.HEIC", "images/heic/gps_android_HMD_Nokia_8.3_hdr.heif",
                "video/gps_iphone.mov", "video/gps_udta.mp4",
            ]
            .map(Corpus.path) + [gif]
        let harness = StageHarness(stage)
        for path in paths {
            let asset = try #require(try await harness.process(file: path).asset)
            let output = try Self.output(asset)
            let original = try #require(try await MediaTools.tags([path], extra: ["-ee"])[path])
            let tags = try #require(try await MediaTools.tags([output], extra: ["-ee"])[output])
            #expect(original.keys.contains { $0.lowercased().contains("gps") }, "\(path) has GPS to begin with")
            #expect(
                !tags.keys.contains { $0.lowercased().contains("gps") },
                "\(path) keeps \(tags.keys.filter { $0.lowercased().contains("gps") })")
            for key in original.keys
            where key.hasSuffix(":Make") || key.hasSuffix(":Model") || key.hasSuffix(":DateTimeOriginal")
                || key.hasSuffix(":Creator")
                || key.hasPrefix("MakerNotes:") || key.hasSuffix(":AndroidVersion")
            {
                #expect(tags[key] as? String == original[key] as? String, "\(path): \(key) changed")
            }
            #expect(asset.facts["strip"]?["gps"] == true)
            if path.hasSuffix(".mov") || path.hasSuffix(".mp4") {
                #expect(
                    try await MediaTools.packetHashes(output).hashes == (try await MediaTools.packetHashes(path).hashes)
                )
            } else if path.hasSuffix(".gif") {
                #expect(try await MediaTools.gifFrames(output) == (try await MediaTools.gifFrames(path)))
            } else {
                #expect(try await MediaTools.heifPixels(output) == (try await MediaTools.heifPixels(path)))
            }
        }
    }

    @Test("keep copyright: a HEIC keeps its EXIF Copyright and Artist, nothing else")
    func heifCopyright() async throws {
        let directory = TemporaryDirectory()
        let source = directory.file("copyright.heic")
        let written = try await runProcessAsync(
            "/usr/bin/exiftool",
            [
                "-q", "-o", source, "-Copyright=© Jane Doe", "-Artist=Jane Doe",
                Corpus.path("images/heic/gps_iphone_IMG_5195.HEIC"),
            ])
        #expect(written.status == 0, "\(written.stderr)")
        let stage = try StripStage(
            options: .decode(["keep": ["icc", "copyright"]], specs: StripStage.options),
            context: StageHarness<StripStage>.buildContext())
        let outcome = try await StageHarness(stage).process(file: source)
        let output = try Self.output(try #require(outcome.asset))
        let tags = try #require(try await MediaTools.tags([output])[output])
        #expect(tags["EXIF:IFD0:Copyright"] as? String == "© Jane Doe")
        #expect(tags["EXIF:IFD0:Artist"] as? String == "Jane Doe")
        #expect(tags.keys.filter { $0.hasPrefix("EXIF:") }.sorted() == ["EXIF:IFD0:Artist", "EXIF:IFD0:Copyright"])
        #expect(
            try await MediaTools.heifPixels(output)
                == (try await MediaTools.heifPixels(Corpus.path("images/heic/gps_iphone_IMG_5195.HEIC"))))
    }

    @Test("WebM and other containers without a stripper are rejected (fail closed)")
    func unsupportedVideo() async throws {
        let outcome = try await StageHarness(StripStage()).process(file: Corpus.path("video/minimal.webm"))
        #expect(outcome.rejection?.code == .stripUnsupported)
    }
}
