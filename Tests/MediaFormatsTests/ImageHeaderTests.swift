import Foundation
import MediaFormats
import TestSupport
import Testing

/// exiftool's ImageSize for every corpus file, read in one batch (an independent reader).
let exiftoolSizes: [String: String] = {
    guard let result = try? runProcess("/usr/bin/exiftool", ["-j", "-q", "-q", "-ImageSize", "-r", Corpus.root]),
        let data = result.stdout.data(using: .utf8),
        let rows = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
    else { return [:] }
    var sizes: [String: String] = [:]
    for row in rows {
        guard let file = row["SourceFile"] as? String, let size = row["ImageSize"] as? String else { continue }
        sizes[String(file.dropFirst(Corpus.root.count + 1))] = size.replacingOccurrences(of: " ", with: "")
    }
    return sizes
}()

@Suite("Image headers")
struct ImageHeaderTests {
    /// Formats whose size we read, and files where we deliberately differ from exiftool.
    static let readable = Corpus.expectations.filter {
        ["image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff", "image/heic", "image/avif"].contains(
            $0.mime)
    }

    @Test("sizes agree with exiftool for every readable corpus image", arguments: readable)
    func sizeMatchesExiftool(file: Corpus.Expectation) throws {
        // Deliberate difference: exiftool reads IFD0 of a TIFF whose directory chain loops; we refuse the file.
        if file.path == "adversarial/tiff_ifd_loop.tiff" {
            #expect(throws: FormatError.self) { try ImageHeaders.inspect(FileBytes(path: file.absolutePath)) }
            return
        }
        guard let expected = exiftoolSizes[file.path] else {
            // exiftool gives no size when the file ends inside its metadata; neither do we.
            #expect(throws: FormatError.self) { try ImageHeaders.inspect(FileBytes(path: file.absolutePath)) }
            return
        }
        let info = try #require(try ImageHeaders.inspect(FileBytes(path: file.absolutePath)))
        #expect(info.size.description == expected)
    }

    @Test("deep reads find truncation, trailing data and frame extents")
    func deepFacts() throws {
        func deep(_ relative: String) throws -> ImageInfo {
            try #require(try ImageHeaders.inspect(FileBytes(path: Corpus.path(relative)), deep: true))
        }
        #expect(try deep("adversarial/truncated_after_exif_gps.jpg").truncation != nil)
        #expect(try deep("images/jpeg/truncated_progressive.jpg").truncation != nil)
        #expect(try deep("images/png/truncated_no_iend.png").truncation != nil)
        #expect(try deep("images/jpeg/gps_Apple_iPhone_4.jpg").truncation == nil)
        #expect(try deep("images/jpeg/gps_Apple_iPhone_4.jpg").trailingBytes == 0)
        #expect(try deep("images/jpeg/icc_big_7_segments_progressive.jpg").truncation == nil)
        let polyglot = try deep("adversarial/jpeg_with_appended_zip.jpg")
        #expect(polyglot.truncation == nil)
        #expect(polyglot.trailingBytes == 3770)
        let bomb = try deep("adversarial/decompression_bomb_extents.gif")
        #expect(bomb.size == ImageSize(width: 100, height: 100))
        #expect(bomb.effectiveSize == ImageSize(width: 65635, height: 65635))
        #expect(try deep("images/png/text_ztxt_after_idat.png").metadataBlocks.map(\.kind) == ["text", "ztxt"])
        #expect(
            try deep("images/jpeg/gps_xmp_iptc_icc_FujiFilm_FinePixS1Pro.jpg").metadataBlocks.map(\.kind).contains(
                "iptc"))
    }

    @Test("hostile structures throw instead of looping or crashing")
    func hostile() throws {
        #expect(throws: FormatError.loop("TIFF directory chain loops back to byte 28")) {
            try ImageHeaders.inspect(FileBytes(path: Corpus.path("adversarial/tiff_ifd_loop.tiff")))
        }
        #expect(throws: FormatError.self) {
            try ImageHeaders.inspect(FileBytes(path: Corpus.path("images/png/broken_no_ihdr.png")))
        }
        #expect(try ImageHeaders.inspect(FileBytes(path: Corpus.path("adversarial/zero_bytes.jpg"))) == nil)
        #expect(throws: FormatError.truncated("JPEG ends before its frame header")) {
            try ImageHeaders.inspect(MemoryBytes([0xFF, 0xD8, 0xFF]))
        }
    }
}
