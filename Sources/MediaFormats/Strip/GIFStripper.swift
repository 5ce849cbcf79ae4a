/// Streams a GIF without its metadata extensions: comments (`0xFE`), XMP (`XMP DataXMP`) and other application
/// extensions. Kept byte for byte: the header, colour tables, graphic control and plain text extensions, every
/// image, `NETSCAPE2.0`/`ANIMEXTS1.0` (looping) and `ICCRGBG1012` (an ICC profile, unless `keep` leaves it out).
/// Bytes after the trailer are dropped.
///
/// gps-only: only the XMP changes — rewritten without `exif:GPS…` (with its "magic trailer", so readers that skip
/// sub-blocks still find the end), or removed when that fails; comments and other extensions stay.
enum GIFStripper {
    /// Application extensions that are part of the picture, by their 11-byte identifier.
    static let looping: Set<[UInt8]> = [Array("NETSCAPE2.0".utf8), Array("ANIMEXTS1.0".utf8)]
    static let icc = Array("ICCRGBG1012".utf8)
    static let xmp = Array("XMP DataXMP".utf8)
    /// The most bytes of an XMP extension held in memory to rewrite it (gps-only); larger ones are removed.
    static let xmpLimit = 4 << 20

    static func strip<R: ByteReader, W: ByteWriter>(
        _ input: inout BufferedInput<R>, to output: inout W, policy: StripPolicy
    ) throws -> StripReport {
        var report = StripReport(format: .gif)
        let header = try input.read(13, "the GIF header")
        guard header.starts(with: Array("GIF87a".utf8)) || header.starts(with: Array("GIF89a".utf8)) else {
            throw FormatError.malformed("not a GIF (bad signature)")
        }
        try output.write(header)
        if header[10] & 0x80 != 0 {
            let table = Int64(3 << (Int(header[10] & 0x07) + 1))
            guard try input.copy(table, to: &output) == table else {
                throw FormatError.truncated("file ends inside the global colour table")
            }
        }
        var sawImage = false
        while true {
            guard let introducer = try input.peek() else {
                guard sawImage else { throw FormatError.truncated("file ends before any GIF image; nothing to keep") }
                report.truncation = "file ends before the GIF trailer"
                return report
            }
            switch introducer {
            case 0x3B:
                try output.write(try input.read(1, "the GIF trailer"))
                report.trailingBytesRemoved = try input.drain()
                return report
            case 0x2C:
                let descriptor = try input.read(10, "a GIF image descriptor")
                try output.write(descriptor)
                if descriptor[9] & 0x80 != 0 {
                    let table = Int64(3 << (Int(descriptor[9] & 0x07) + 1))
                    guard try input.copy(table, to: &output) == table else {
                        throw FormatError.truncated("file ends inside a local colour table")
                    }
                }
                try output.write(try input.read(1, "the LZW code size"))
                sawImage = true
                guard try copySubBlocks(&input, to: &output) else {
                    report.truncation = "file ends inside a GIF image"
                    return report
                }
            case 0x21:
                let head = try input.read(2, "a GIF extension")
                let label = head[1]
                if label == 0xFF, try input.peek() == 11, try input.fill(12) >= 12 {
                    try extensionBlock(&input, to: &output, head: head, policy: policy, report: &report)
                } else if label == 0xFE || label == 0xFF, policy.mode == .all {
                    report.count(label == 0xFE ? "comment" : "application")
                    guard try skipSubBlocks(&input) else {
                        throw FormatError.truncated("file ends inside a GIF extension")
                    }
                } else {
                    try output.write(head)
                    guard try copySubBlocks(&input, to: &output) else {
                        throw FormatError.truncated("file ends inside a GIF extension")
                    }
                }
            default:
                throw FormatError.malformed(
                    "unexpected byte 0x\(String(introducer, radix: 16)) at \(input.offset) in the GIF block stream")
            }
        }
    }

    /// An application extension: kept, removed or (XMP in gps-only mode) rewritten.
    static func extensionBlock<R: ByteReader, W: ByteWriter>(
        _ input: inout BufferedInput<R>, to output: inout W, head: [UInt8], policy: StripPolicy,
        report: inout StripReport
    ) throws {
        let identifier = try input.read(12, "a GIF application identifier")
        let name = Array(identifier[1...])
        let keep = looping.contains(name) || (name == icc && policy.keepICC) || (policy.mode == .gpsOnly && name != xmp)
        if keep {
            if name == icc { report.iccKept = true }
            try output.write(head + identifier)
            guard try copySubBlocks(&input, to: &output) else {
                throw FormatError.truncated("file ends inside a GIF application extension")
            }
            return
        }
        guard name == xmp else {
            report.count(name == icc ? "icc" : "application")
            guard try skipSubBlocks(&input) else {
                throw FormatError.truncated("file ends inside a GIF application extension")
            }
            return
        }
        // XMP is stored raw, its bytes doubling as sub-block lengths, then a 257-byte "magic trailer" (0x01, 0xFF…0x00)
        // and the terminator, so that readers skipping sub-blocks land on the terminator.
        var raw: [UInt8] = []
        var complete = true
        while true {
            guard let length = try input.peek() else {
                complete = false
                break
            }
            let block = try input.readUpTo(Int(length) + 1)
            guard block.count == Int(length) + 1 else {
                complete = false
                break
            }
            if raw.count <= xmpLimit { raw += block }
            if length == 0 { break }
        }
        guard complete else { throw FormatError.truncated("file ends inside the GIF XMP extension") }
        let packet = xmpPacket(raw)
        let text = String(decoding: packet, as: UTF8.self)
        if XMP.hasGPS(text) { report.gpsFound = true }
        if policy.mode == .gpsOnly, raw.count <= xmpLimit {
            guard XMP.hasGPS(text) else {
                try output.write(head + identifier + raw)
                return
            }
            let cleaned = Array(XMP.removingGPS(text).utf8)
            if Array(text.utf8) == packet, !XMP.hasGPS(String(decoding: cleaned, as: UTF8.self)) {
                try output.write(head + identifier + cleaned + magicTrailer)
                report.rewritten["xmp", default: 0] += 1
                return
            }
        }
        report.count("xmp")
    }

    /// `0x01, 0xFF, 0xFE … 0x01, 0x00` then the block terminator.
    static let magicTrailer: [UInt8] = [0x01] + (0...255).reversed().map { UInt8($0) } + [0x00]

    /// The XMP packet inside an extension's raw bytes: up to the magic trailer (or, without one, everything but the
    /// terminator).
    static func xmpPacket(_ raw: [UInt8]) -> [UInt8] {
        if raw.count >= magicTrailer.count, Array(raw.suffix(magicTrailer.count)) == magicTrailer {
            return Array(raw.dropLast(magicTrailer.count))
        }
        return Array(raw.dropLast())
    }

    /// Copies data sub-blocks up to and including the terminator; `false` when the input ends first.
    static func copySubBlocks<R: ByteReader, W: ByteWriter>(
        _ input: inout BufferedInput<R>, to output: inout W
    ) throws -> Bool {
        while true {
            guard let length = try input.peek() else { return false }
            let block = Int64(length) + 1
            guard try input.copy(block, to: &output) == block else { return false }
            if length == 0 { return true }
        }
    }

    /// Skips data sub-blocks up to and including the terminator; `false` when the input ends first.
    static func skipSubBlocks<R: ByteReader>(_ input: inout BufferedInput<R>) throws -> Bool {
        while true {
            guard let length = try input.peek() else { return false }
            let block = Int64(length) + 1
            guard try input.skip(block) == block else { return false }
            if length == 0 { return true }
        }
    }
}
