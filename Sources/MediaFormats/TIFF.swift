/// TIFF (and BigTIFF) structure: a chain of image file directories (IFDs).
enum TIFF {
    static func inspect(_ source: some ByteSource, deep _: Bool) throws -> ImageInfo {
        let header = try source.bytes(at: 0, count: 16)
        guard header.count >= 8 else { throw FormatError.truncated("file ends inside the TIFF header") }
        let little = header[0] == 0x49
        func u16(_ bytes: [UInt8], _ index: Int) -> Int { little ? le16(bytes, index) : be16(bytes, index) }
        func u32(_ bytes: [UInt8], _ index: Int) -> UInt32 { little ? le32(bytes, index) : be32(bytes, index) }
        func u64(_ bytes: [UInt8], _ index: Int) -> UInt64 {
            let a = UInt64(u32(bytes, index)), b = UInt64(u32(bytes, index + 4))
            return little ? a | b << 32 : a << 32 | b
        }
        // Every directory is visited even on a shallow read: a looping chain is a hostile-file signal.
        let big = u16(header, 2) == 43
        if big && header.count < 16 { throw FormatError.truncated("file ends inside the BigTIFF header") }
        var ifdOffset: UInt64 = big ? u64(header, 8) : UInt64(u32(header, 4))
        var visited: Set<UInt64> = []
        var pages: [ImageSize] = []
        let entrySize = big ? 20 : 12
        while ifdOffset != 0 {
            guard visited.insert(ifdOffset).inserted else {
                throw FormatError.loop("TIFF directory chain loops back to byte \(ifdOffset)")
            }
            guard visited.count <= 10_000 else { throw FormatError.malformed("TIFF has more than 10000 directories") }
            guard ifdOffset < UInt64(source.count) else {
                throw FormatError.truncated("TIFF directory at byte \(ifdOffset) is past the end of the file")
            }
            let countBytes = try source.exactly(big ? 8 : 2, at: Int64(ifdOffset), "a TIFF directory")
            let entryCount = big ? Int(min(u64(countBytes, 0), 100_000)) : u16(countBytes, 0)
            let entriesStart = Int64(ifdOffset) + (big ? 8 : 2)
            var entries = try source.exactly(entryCount * entrySize, at: entriesStart, "a TIFF directory")
            // The next-directory offset may be cut off in tiny files; readers treat that as "no next directory".
            let next = try source.bytes(at: entriesStart + Int64(entryCount * entrySize), count: big ? 8 : 4)
            entries += next.count == (big ? 8 : 4) ? next : [UInt8](repeating: 0, count: big ? 8 : 4)
            var width: Int?
            var height: Int?
            for index in 0..<entryCount {
                let base = index * entrySize
                let tag = u16(entries, base)
                guard tag == 256 || tag == 257 else { continue }
                let type = u16(entries, base + 2)
                let valueIndex = base + (big ? 12 : 8)
                let value: Int
                switch type {
                case 3: value = u16(entries, valueIndex)
                case 4: value = Int(u32(entries, valueIndex))
                case 16: value = Int(clamping: u64(entries, valueIndex))
                default: continue
                }
                if tag == 256 { width = value } else { height = value }
            }
            if let width, let height { pages.append(ImageSize(width: width, height: height)) }
            let nextIndex = entryCount * entrySize
            ifdOffset = big ? u64(entries, nextIndex) : UInt64(u32(entries, nextIndex))
        }
        guard let first = pages.first else { throw FormatError.malformed("TIFF has no image width and length") }
        var info = ImageInfo(format: .tiff, size: first)
        info.frames = pages.count
        if let largest = pages.max(by: { $0.pixels < $1.pixels }), largest.pixels > first.pixels {
            info.extent = largest
        }
        return info
    }
}
