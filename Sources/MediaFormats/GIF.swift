/// GIF structure: screen descriptor, then extension and image blocks until the trailer.
enum GIF {
    static func inspect(_ source: some ByteSource, deep: Bool) throws -> ImageInfo {
        let header = try source.exactly(13, at: 0, "the GIF header")
        let canvas = ImageSize(width: le16(header, 6), height: le16(header, 8))
        var info = ImageInfo(format: .gif, size: canvas)
        var offset: Int64 = 13
        if header[10] & 0x80 != 0 { offset += 3 * Int64(1 << (Int(header[10] & 0x07) + 1)) }
        var extentWidth = canvas.width
        var extentHeight = canvas.height
        var frames = 0
        // Frame extents matter even for a shallow read: they are the decompression-bomb check.
        while true {
            guard let introducer = try source.byte(at: offset) else {
                info.truncation = "file ends before the GIF trailer"
                break
            }
            if introducer == 0x3B {
                info.structureEnd = offset + 1
                info.trailingBytes = source.count - offset - 1
                break
            }
            if introducer == 0x21 {
                offset = try skipSubBlocks(source, from: offset + 2)
            } else if introducer == 0x2C {
                let descriptor = try source.exactly(10, at: offset, "a GIF image descriptor")
                frames += 1
                extentWidth = max(extentWidth, le16(descriptor, 1) + le16(descriptor, 5))
                extentHeight = max(extentHeight, le16(descriptor, 3) + le16(descriptor, 7))
                offset += 10
                if descriptor[9] & 0x80 != 0 { offset += 3 * Int64(1 << (Int(descriptor[9] & 0x07) + 1)) }
                offset = try skipSubBlocks(source, from: offset + 1)
                if !deep && frames >= 10_000 { break }
            } else {
                throw FormatError.malformed(
                    "unexpected byte 0x\(String(introducer, radix: 16)) at \(offset) in GIF block stream")
            }
        }
        info.frames = max(frames, 1)
        if extentWidth != canvas.width || extentHeight != canvas.height {
            info.extent = ImageSize(width: extentWidth, height: extentHeight)
        }
        if !deep { info.truncation = nil }
        return info
    }

    /// Skips a chain of data sub-blocks (length-prefixed, ended by a zero length) and returns the offset after it.
    static func skipSubBlocks(_ source: some ByteSource, from start: Int64) throws -> Int64 {
        var offset = start
        while true {
            guard let length = try source.byte(at: offset) else {
                throw FormatError.truncated("file ends inside a GIF data block")
            }
            offset += 1
            if length == 0 { return offset }
            offset += Int64(length)
        }
    }
}
