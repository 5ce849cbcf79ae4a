import Foundation
import IngestStages
import MediaFormats
import MediaIngest
import PipelineTesting
import TestSupport
import Testing

/// A box: 32-bit size, type ("©" is the single byte 0xA9 in box types), payload.
func box(_ type: String, _ payload: [UInt8]) -> [UInt8] {
    be32(UInt32(8 + payload.count)) + Array(type.utf8.filter { $0 != 0xC2 }) + payload
}

/// A full box: version and flags, then the payload.
func fullBox(_ type: String, version: UInt8 = 0, _ payload: [UInt8]) -> [UInt8] {
    box(type, [version, 0, 0, 0] + payload)
}

func be32(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
}
func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

/// Hand-made HEIF and MP4 files that break the rules in the ways the issue lists: each gets a clear rejection, never a
/// crash, a hang or a silent pass.
@Suite("strip.metadata: hostile ISO boxes")
struct HostileBoxTests {
    let directory = TemporaryDirectory()

    func strip(
        _ bytes: [UInt8], _ name: String = "file.mp4", stage: StripStage = StripStage()
    ) async throws -> HarnessOutcome {
        let path = directory.file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return try await StageHarness(stage).process(file: path)
    }

    static let ftypMovie = box("ftyp", Array("isom".utf8) + [0, 0, 2, 0] + Array("isommp41".utf8))
    static let ftypHEIC = box("ftyp", Array("heic".utf8) + [0, 0, 0, 0] + Array("mif1heic".utf8))
    static let mvhd = fullBox("mvhd", [UInt8](repeating: 0, count: 96))

    /// A HEIF with one image item (1) and one Exif item (2) describing it; `exifOffset` moves the Exif extent.
    static func heif(exifOffset: Int? = nil, exifLength: Int = 24, imageLength: Int = 32) -> [UInt8] {
        let exif: [UInt8] =
            [0, 0, 0, 6] + Array("Exif".utf8) + [0, 0] + [0x4D, 0x4D, 0, 0x2A, 0, 0, 0, 8]
            + [UInt8](repeating: 0, count: exifLength - 18)
        func build(mdatStart: Int) -> [UInt8] {
            let imageStart = mdatStart + 8
            let exifStart = exifOffset ?? (imageStart + imageLength)
            var iloc: [UInt8] = [0x44, 0x00] + be16(2)
            iloc += be16(1) + be16(0) + be16(1) + be32(UInt32(imageStart)) + be32(UInt32(imageLength))
            iloc += be16(2) + be16(0) + be16(1) + be32(UInt32(exifStart)) + be32(UInt32(exifLength))
            let infe1 = fullBox("infe", version: 2, be16(1) + be16(0) + Array("hvc1".utf8) + [0])
            let infe2 = fullBox("infe", version: 2, be16(2) + be16(0) + Array("Exif".utf8) + [0])
            let meta = fullBox(
                "meta",
                fullBox("hdlr", [0, 0, 0, 0] + Array("pict".utf8) + [UInt8](repeating: 0, count: 13))
                    + fullBox("pitm", be16(1)) + fullBox("iloc", iloc) + fullBox("iinf", be16(2) + infe1 + infe2)
                    + fullBox("iref", box("cdsc", be16(2) + be16(1) + be16(1)))
                    + box(
                        "iprp",
                        box("ipco", fullBox("ispe", be32(64) + be32(64)))
                            + fullBox("ipma", be32(1) + be16(1) + [1, 0x81])))
            return ftypHEIC + meta + box("mdat", [UInt8](repeating: 0x55, count: imageLength) + exif)
        }
        let draft = build(mdatStart: 0)
        return build(mdatStart: draft.count - (8 + imageLength + exifLength))
    }

    @Test("a well-formed hand-made HEIF is stripped: the Exif item goes and its bytes are zeroed")
    func handMadeHEIF() async throws {
        let source = Self.heif()
        let outcome = try await strip(source, "good.heic")
        let output = try #require(outcome.asset?.contentPath, "\(String(describing: outcome.rejection))")
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: output)))
        #expect(bytes.count == source.count, "nothing moves")
        #expect(!contains(bytes, Array("Exif".utf8)), "neither the infe entry nor the payload header is left")
        #expect(Array(bytes.suffix(24)) == [UInt8](repeating: 0, count: 24), "the payload is zeroed in mdat")
        #expect(outcome.asset?.facts["strip"]?["removed"] == ["exif": 1])
    }

    @Test("iloc extents past the end of the file or over an image item's bytes are rejected")
    func badExtents() async throws {
        let past = try await strip(Self.heif(exifOffset: 1 << 30), "past.heic")
        #expect(past.rejection?.code == .malformed)
        #expect(
            past.rejection?.reason.contains("past the end of the file") == true, "\(String(describing: past.rejection))"
        )
        let good = Self.heif()
        let overlapping = try await strip(Self.heif(exifOffset: good.count - 24 - 32 - 4), "overlap.heic")
        #expect(overlapping.rejection?.code == .malformed)
        #expect(
            overlapping.rejection?.reason.contains("overlap") == true, "\(String(describing: overlapping.rejection))")
    }

    @Test("boxes that run past their parent or the file, and impossible 64-bit sizes, are rejected")
    func badSizes() async throws {
        // A moov child that claims more than the moov holds.
        let child = be32(4096) + Array("udta".utf8) + [UInt8](repeating: 0, count: 8)
        let pastParent = try await strip(Self.ftypMovie + box("moov", Self.mvhd + child) + box("mdat", [1, 2, 3]))
        #expect(pastParent.rejection?.code == .malformed)
        #expect(
            pastParent.rejection?.reason.contains("runs past its parent") == true,
            "\(String(describing: pastParent.rejection))")
        // A top-level box that claims more than the file holds (a cut download).
        let cut = try await strip(
            Self.ftypMovie + box("moov", Self.mvhd) + be32(1_000_000) + Array("mdat".utf8) + [1, 2, 3])
        #expect(cut.rejection?.code == .truncated, "\(String(describing: cut.rejection))")
        // A 64-bit size that is honest is fine; one past the file is not.
        let large = be32(1) + Array("mdat".utf8) + [0, 0, 0, 0] + be32(24) + [UInt8](repeating: 7, count: 8)
        let honest = try await strip(
            Self.ftypMovie + large + box("moov", Self.mvhd + box("udta", box("©day", [1, 2]))))
        #expect(honest.asset != nil, "\(String(describing: honest.rejection))")
        let huge = be32(1) + Array("mdat".utf8) + [0x7F, 0xFF, 0xFF, 0xFF] + be32(0) + [1]
        #expect(try await strip(Self.ftypMovie + box("moov", Self.mvhd) + huge).rejection?.code == .truncated)
        // A size smaller than its header.
        #expect(
            try await strip(Self.ftypMovie + box("moov", Self.mvhd) + be32(4) + Array("free".utf8)).rejection?.code
                == .malformed)
    }

    @Test(
        "a real GPS movie whose mvhd claims size 0: rejected as malformed, never stored with its udta location inside"
    )
    func mvhdSizeZero() async throws {
        let movie = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Corpus.path("video/gps_udta.mp4"))))
        // Find moov, then its mvhd, and set the mvhd's size to 0.
        func read32(_ at: Int) -> Int { movie[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        var offset = 0
        var moov: Range<Int>?
        while offset + 8 <= movie.count {
            let size = read32(offset)
            if String(decoding: movie[offset + 4..<offset + 8], as: UTF8.self) == "moov" {
                moov = offset..<offset + size
            }
            guard size >= 8 else { break }
            offset += size
        }
        let range = try #require(moov)
        let mvhd = try #require(
            (range.lowerBound..<range.upperBound - 4).first {
                movie[$0..<$0 + 4].elementsEqual("mvhd".utf8)
            })
        var broken = movie
        broken.replaceSubrange(mvhd - 4..<mvhd, with: [0, 0, 0, 0])
        let outcome = try await strip(broken)
        #expect(outcome.rejection?.code == .malformed, "\(String(describing: outcome.rejection))")
        #expect(outcome.rejection?.reason.contains("size 0") == true)
        // A WebP chunk that claims more than its RIFF container holds (swallowing an EXIF chunk): malformed too.
        let webp = try [UInt8](
            Data(contentsOf: URL(fileURLWithPath: Corpus.path("images/webp/exif_xmp_gps_orient6_Issue_473.webp"))))
        var swallowing = webp
        // The first chunk after the RIFF header claims everything to the end and 64 bytes more.
        let claimed = UInt32(webp.count - 20 + 64)
        swallowing.replaceSubrange(
            16..<20,
            with: [
                UInt8(claimed & 0xFF), UInt8(claimed >> 8 & 0xFF), UInt8(claimed >> 16 & 0xFF), UInt8(claimed >> 24),
            ])
        let riff = try await strip(swallowing, "swallowing.webp")
        #expect(riff.rejection?.code == .malformed, "\(String(describing: riff.rejection))")
    }

    @Test("size-0 boxes, 10,000 nested boxes, two moovs, a compressed moov and an oversized moov")
    func oddStructures() async throws {
        // size 0: "to the end of the file" at the top level, "to the end of the parent" inside.
        let toEnd = try await strip(
            Self.ftypMovie + box("moov", Self.mvhd + box("udta", box("©xyz", Array("+1+2/".utf8)))) + be32(0)
                + Array("mdat".utf8) + [9, 9, 9])
        #expect(toEnd.asset != nil, "\(String(describing: toEnd.rejection))")
        // Inside a container size 0 is malformed: read as "to the end of the parent" it lets a kept box swallow the
        // boxes after it (the mvhd case: `mvhdSizeZero`).
        let inside = try await strip(
            Self.ftypMovie + box("moov", Self.mvhd + be32(0) + Array("udta".utf8) + box("©day", [1, 2]))
                + box("mdat", [1]))
        #expect(inside.rejection?.code == .malformed, "\(String(describing: inside.rejection))")
        // 10,000 nested udta boxes inside the movie header: removed as a whole, never walked down.
        var nested = box("©xyz", Array("+1+2/".utf8))
        for _ in 0..<10_000 { nested = box("udta", nested) }
        for mode in ["all", "gps-only"] {
            let stage = try StripStage(
                options: .decode(["mode": .string(mode)], specs: StripStage.options),
                context: StageHarness<StripStage>.buildContext())
            let outcome = try await strip(
                Self.ftypMovie + box("moov", Self.mvhd + nested) + box("mdat", [1]), "nested-\(mode).mp4", stage: stage)
            // Stripped, and the location inside the nest is gone from the bytes.
            let stripped = try #require(outcome.asset?.contentPath, "\(mode): \(String(describing: outcome.rejection))")
            let written = try Data(contentsOf: URL(fileURLWithPath: stripped))
            #expect(written.range(of: Data("+1+2/".utf8)) == nil, "\(mode): the nested location survived")
        }
        #expect(
            try await strip(Self.ftypMovie + box("moov", Self.mvhd) + box("moov", Self.mvhd)).rejection?.code
                == .malformed)
        let compressed = try await strip(Self.ftypMovie + box("moov", box("cmov", [1, 2, 3])))
        #expect(compressed.rejection?.code == .stripUnsupported)
        #expect(compressed.rejection?.reason.contains("compressed") == true)
        // A moov over the 64 MiB read cap, as a sparse file: refused with the cap in the reason, not read.
        let path = directory.file("big-moov.mp4")
        var head = Self.ftypMovie + be32(UInt32(65 << 20)) + Array("moov".utf8)
        head += [UInt8](repeating: 0, count: 8)
        try Data(head).write(to: URL(fileURLWithPath: path))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(Self.ftypMovie.count + (65 << 20)))
        try handle.close()
        let big = try await StageHarness(StripStage()).process(file: path)
        #expect(big.rejection?.code == .stripUnsupported)
        #expect(big.rejection?.reason.contains("64 MiB") == true, "\(String(describing: big.rejection))")
    }

    @Test("a fragmented MP4 keeps its fragments; one with a timed metadata track is rejected naming the track")
    func fragmented() async throws {
        let hdlr = fullBox("hdlr", [0, 0, 0, 0] + Array("meta".utf8) + [UInt8](repeating: 0, count: 13))
        let stsd = fullBox("stsd", be32(1) + box("gpmd", [0, 0, 0, 0, 0, 0, 0, 1]))
        let track = box(
            "trak",
            fullBox("tkhd", [UInt8](repeating: 0, count: 8) + be32(2) + [UInt8](repeating: 0, count: 68))
                + box("mdia", hdlr + box("minf", box("stbl", stsd))))
        let fragments = box("moof", fullBox("mfhd", be32(1))) + box("mdat", [1, 2, 3, 4])
        let outcome = try await strip(Self.ftypMovie + box("moov", Self.mvhd + track + box("mvex", [])) + fragments)
        #expect(outcome.rejection?.code == .stripUnsupported)
        #expect(
            outcome.rejection?.reason.contains("timed metadata track 2 ('gpmd')") == true,
            "\(String(describing: outcome.rejection))")
        // Without the metadata track: the moov loses its user data, the fragments stay byte for byte.
        let plain =
            Self.ftypMovie
            + box("moov", Self.mvhd + box("udta", box("©xyz", Array("+48.8584+002.2945/".utf8))) + box("mvex", []))
            + fragments
        let stripped = try await strip(plain, "fragmented.mp4")
        let output = Array(try Data(contentsOf: URL(fileURLWithPath: try #require(stripped.asset?.contentPath))))
        #expect(output.count == plain.count)
        #expect(Array(output.suffix(fragments.count)) == fragments)
        #expect(!contains(output, Array("+48.8584".utf8)))
    }

    @Test("every cut-off prefix of the corpus HEIF and movie files gives an answer, never a crash")
    func prefixes() async throws {
        let harness = StageHarness(StripStage())
        for file in [
            "images/heic/exif_xmp_samplefilehub.heif", "images/avif/minimal.avif", "video/minimal_with_audio.mp4",
            "video/sample.3gp",
        ] {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: Corpus.path(file)))
            for length in stride(from: 0, to: min(bytes.count, 4000), by: 13) {
                let path = directory.file("cut-\(length)-" + (file as NSString).lastPathComponent)
                try bytes.prefix(length).write(to: URL(fileURLWithPath: path))
                let outcome = try await harness.process(file: path)
                // A cut-off file is stripped (what is there is whole) or rejected for its damage — never with any
                // other code, never passed on unstripped.
                if let rejection = outcome.rejection {
                    #expect(
                        [.truncated, .malformed, .stripUnsupported].contains(rejection.code),
                        "\(file) cut at \(length): \(rejection)")
                } else {
                    let output = try #require(outcome.asset?.contentPath, "\(file) cut at \(length)")
                    #expect(FileManager.default.fileExists(atPath: output), "\(file) cut at \(length)")
                }
            }
        }
    }
}
