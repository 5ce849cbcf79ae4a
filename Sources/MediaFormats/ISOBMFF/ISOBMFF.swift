/// ISO base media file format (HEIF, HEIC, AVIF): boxes; image sizes come from `ispe` properties.
enum ISOBMFF {
    struct Box {
        var type: String
        var payloadOffset: Int64
        var end: Int64
    }

    /// The boxes between `start` and `end`.
    static func boxes(_ source: some ByteSource, from start: Int64, to end: Int64) throws -> [Box] {
        var boxes: [Box] = []
        var offset = start
        while offset + 8 <= end {
            let header = try source.exactly(8, at: offset, "a box header")
            var size = Int64(be32(header, 0))
            let type = String(decoding: header[4..<8], as: UTF8.self)
            var payload = offset + 8
            if size == 1 {
                let large = try source.exactly(8, at: offset + 8, "a large box size")
                size = Int64(be32(large, 0)) << 32 | Int64(be32(large, 4))
                payload += 8
            } else if size == 0 {
                // "To the end of the file": only a top-level box may say so (see BoxSpan.parse).
                guard start == 0, end == source.count else {
                    throw FormatError.malformed("box '\(type)' at byte \(offset) has size 0 inside a container")
                }
                size = end - offset
            }
            guard size >= payload - offset, offset + size <= end else {
                throw FormatError.truncated("box '\(type)' at byte \(offset) runs past its container")
            }
            boxes.append(Box(type: type, payloadOffset: payload, end: offset + size))
            guard boxes.count <= 10_000 else { throw FormatError.malformed("more than 10000 boxes") }
            offset += size
        }
        return boxes
    }

    static func inspect(_ source: some ByteSource) throws -> ImageInfo {
        let top = try boxes(source, from: 0, to: source.count)
        guard let meta = top.first(where: { $0.type == "meta" }) else {
            throw FormatError.malformed("HEIF has no 'meta' box")
        }
        let metaChildren = try boxes(source, from: meta.payloadOffset + 4, to: meta.end)
        var primaryItem: UInt32?
        if let pitm = metaChildren.first(where: { $0.type == "pitm" }) {
            let data = try source.exactly(6, at: pitm.payloadOffset, "the pitm box")
            primaryItem = data[0] == 0 ? UInt32(be16(data, 4)) : nil
            if data[0] != 0 {
                let wide = try source.exactly(8, at: pitm.payloadOffset, "the pitm box")
                primaryItem = be32(wide, 4)
            }
        }
        guard let iprp = metaChildren.first(where: { $0.type == "iprp" }) else {
            throw FormatError.malformed("HEIF has no 'iprp' box")
        }
        let iprpChildren = try boxes(source, from: iprp.payloadOffset, to: iprp.end)
        guard let ipco = iprpChildren.first(where: { $0.type == "ipco" }) else {
            throw FormatError.malformed("HEIF has no 'ipco' box")
        }
        let properties = try boxes(source, from: ipco.payloadOffset, to: ipco.end)
        var sizes: [Int: ImageSize] = [:]
        for (index, property) in properties.enumerated() where property.type == "ispe" {
            let data = try source.exactly(12, at: property.payloadOffset, "an ispe box")
            sizes[index + 1] = ImageSize(width: Int(be32(data, 4)), height: Int(be32(data, 8)))
        }
        guard let largest = sizes.values.max(by: { $0.pixels < $1.pixels }) else {
            throw FormatError.malformed("HEIF has no image size ('ispe')")
        }
        var primarySize: ImageSize?
        if let primaryItem, let ipma = iprpChildren.first(where: { $0.type == "ipma" }) {
            primarySize = try associatedSize(source, ipma: ipma, item: primaryItem, sizes: sizes)
        }
        var info = ImageInfo(format: .heif, size: primarySize ?? largest)
        if largest.pixels > info.size.pixels { info.extent = largest }
        info.frames = sizes.count
        return info
    }

    /// The `ispe` size associated with `item` in an `ipma` box.
    static func associatedSize(
        _ source: some ByteSource, ipma: Box, item: UInt32, sizes: [Int: ImageSize]
    ) throws -> ImageSize? {
        let length = Int(ipma.end - ipma.payloadOffset)
        guard length >= 8, length <= 1 << 20 else { return nil }
        let data = try source.exactly(length, at: ipma.payloadOffset, "the ipma box")
        let version = data[0]
        let largeIndexes = data[3] & 1 == 1
        var index = 4
        let entryCount = Int(be32(data, index))
        index += 4
        for _ in 0..<entryCount {
            let itemID: UInt32
            if version < 1 {
                guard index + 2 <= data.count else { return nil }
                itemID = UInt32(be16(data, index))
                index += 2
            } else {
                guard index + 4 <= data.count else { return nil }
                itemID = be32(data, index)
                index += 4
            }
            guard index < data.count else { return nil }
            let associationCount = Int(data[index])
            index += 1
            for _ in 0..<associationCount {
                let propertyIndex: Int
                if largeIndexes {
                    guard index + 2 <= data.count else { return nil }
                    propertyIndex = be16(data, index) & 0x7FFF
                    index += 2
                } else {
                    guard index < data.count else { return nil }
                    propertyIndex = Int(data[index] & 0x7F)
                    index += 1
                }
                if itemID == item, let size = sizes[propertyIndex] { return size }
            }
        }
        return nil
    }
}
