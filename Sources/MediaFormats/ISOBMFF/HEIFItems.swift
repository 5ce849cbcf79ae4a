/// The item boxes of a HEIF `meta` box (ISO/IEC 23008-12 and ISO/IEC 14496-12 §8.11), parsed so items can be
/// removed and written back: `iinf` (what each item is), `iloc` (where its bytes are), `iref` (how items refer to
/// each other) and `ipma` (which properties each item has).
enum HEIFItems {
    /// An `infe` entry of `iinf`.
    struct Info {
        var id: UInt32
        var type: FourCC
        /// For `mime` items, the content type (`application/rdf+xml` for XMP).
        var contentType: String?
        /// The `infe` box as it was.
        var box: BoxNode
    }

    /// `iinf`: the version and the entries.
    struct InfoList {
        var version: UInt8
        var flags: [UInt8]
        var entries: [Info]

        init(_ bytes: [UInt8], _ span: BoxSpan) throws {
            var cursor = ByteCursor(bytes, from: span.payload.lowerBound, to: span.end, what: "the iinf box")
            version = try cursor.u8()
            flags = Array(bytes[try cursor.take(3)])
            let count = Int(version == 0 ? try cursor.u16() : try cursor.u32())
            let boxes = try BoxSpan.parse(bytes, in: cursor.position..<span.end, parent: "the iinf box")
            guard boxes.count >= count else {
                throw FormatError.malformed("iinf lists \(count) items but holds \(boxes.count) entries")
            }
            entries = try boxes.filter { $0.type == FourCC("infe") }.map { box in
                var entry = ByteCursor(bytes, from: box.payload.lowerBound, to: box.end, what: "an infe box")
                let entryVersion = try entry.u8()
                try entry.skip(3)
                guard entryVersion >= 2 else {
                    // Versions 0 and 1 have no item type: a name and a MIME content type, like a `mime` item.
                    let id = try entry.u16()
                    try entry.skip(2)
                    _ = entry.cString()
                    let contentType = String(decoding: entry.cString(), as: UTF8.self)
                    return Info(
                        id: id, type: FourCC("mime"), contentType: contentType, box: BoxNode(leaf: box, in: bytes))
                }
                let id = entryVersion == 2 ? try entry.u16() : try entry.u32()
                try entry.skip(2)  // protection index
                let type = try entry.fourCC()
                _ = entry.cString()  // item name
                var contentType: String?
                if type == FourCC("mime") { contentType = String(decoding: entry.cString(), as: UTF8.self) }
                return Info(id: id, type: type, contentType: contentType, box: BoxNode(leaf: box, in: bytes))
            }
        }

        func node(removing removed: Set<UInt32>) -> BoxNode {
            let kept = entries.filter { !removed.contains($0.id) }
            var prefix: [UInt8] = [version] + flags
            prefix.appendBE(UInt64(kept.count), width: version == 0 ? 2 : 4)
            return BoxNode(type: FourCC("iinf"), content: .container(prefix: prefix, children: kept.map(\.box)))
        }
    }

    /// `iloc`: where each item's bytes are.
    struct Locations {
        struct Extent {
            var index: UInt64
            var offset: UInt64
            var length: UInt64
        }

        struct Item {
            var id: UInt32
            var constructionMethod: UInt8
            var dataReference: UInt32
            var baseOffset: UInt64
            var extents: [Extent]
        }

        var version: UInt8
        var flags: [UInt8]
        var offsetSize: Int
        var lengthSize: Int
        var baseOffsetSize: Int
        var indexSize: Int
        var items: [Item]

        init(_ bytes: [UInt8], _ span: BoxSpan) throws {
            var cursor = ByteCursor(bytes, from: span.payload.lowerBound, to: span.end, what: "the iloc box")
            version = try cursor.u8()
            guard version <= 2 else { throw FormatError.malformed("iloc version \(version) is not defined") }
            flags = Array(bytes[try cursor.take(3)])
            let sizes = try cursor.u8()
            let more = try cursor.u8()
            offsetSize = Int(sizes >> 4)
            lengthSize = Int(sizes & 0x0F)
            baseOffsetSize = Int(more >> 4)
            indexSize = version >= 1 ? Int(more & 0x0F) : 0
            for width in [offsetSize, lengthSize, baseOffsetSize, indexSize] where ![0, 4, 8].contains(width) {
                throw FormatError.malformed("iloc uses a \(width)-byte field (only 0, 4 and 8 are defined)")
            }
            let count = Int(version < 2 ? try cursor.u16() : try cursor.u32())
            var items: [Item] = []
            items.reserveCapacity(min(count, 65_536))
            for _ in 0..<count {
                let id = version < 2 ? try cursor.u16() : try cursor.u32()
                let method = version >= 1 ? UInt8(try cursor.u16() & 0x0F) : 0
                let reference = try cursor.u16()
                let base = try cursor.uint(width: baseOffsetSize)
                let extentCount = Int(try cursor.u16())
                var extents: [Extent] = []
                for _ in 0..<extentCount {
                    let index = try cursor.uint(width: indexSize)
                    let offset = try cursor.uint(width: offsetSize)
                    let length = try cursor.uint(width: lengthSize)
                    extents.append(Extent(index: index, offset: offset, length: length))
                }
                items.append(
                    Item(
                        id: id, constructionMethod: method, dataReference: reference, baseOffset: base, extents: extents
                    ))
            }
            self.items = items
        }

        func node(removing removed: Set<UInt32>) -> BoxNode {
            var payload: [UInt8] = [version] + flags
            payload.append(UInt8(offsetSize << 4 | lengthSize))
            payload.append(UInt8(baseOffsetSize << 4 | (version >= 1 ? indexSize : 0)))
            let kept = items.filter { !removed.contains($0.id) }
            payload.appendBE(UInt64(kept.count), width: version < 2 ? 2 : 4)
            for item in kept {
                payload.appendBE(UInt64(item.id), width: version < 2 ? 2 : 4)
                if version >= 1 { payload.appendBE16(UInt32(item.constructionMethod)) }
                payload.appendBE16(item.dataReference)
                payload.appendBE(item.baseOffset, width: baseOffsetSize)
                payload.appendBE16(UInt32(item.extents.count))
                for extent in item.extents {
                    payload.appendBE(extent.index, width: indexSize)
                    payload.appendBE(extent.offset, width: offsetSize)
                    payload.appendBE(extent.length, width: lengthSize)
                }
            }
            return BoxNode(type: FourCC("iloc"), payload: payload)
        }
    }

    /// `iref`: typed references from one item to others (`cdsc`: "describes", `dimg`: "derived from", `thmb`…).
    struct References {
        struct Reference {
            var type: FourCC
            var from: UInt32
            var to: [UInt32]
        }

        var version: UInt8
        var flags: [UInt8]
        var references: [Reference]

        init(_ bytes: [UInt8], _ span: BoxSpan) throws {
            var cursor = ByteCursor(bytes, from: span.payload.lowerBound, to: span.end, what: "the iref box")
            version = try cursor.u8()
            flags = Array(bytes[try cursor.take(3)])
            let wide = version != 0
            references = try BoxSpan.parse(bytes, in: cursor.position..<span.end, parent: "the iref box").map { box in
                var entry = ByteCursor(
                    bytes, from: box.payload.lowerBound, to: box.end, what: "an iref '\(box.type)' entry")
                let from = wide ? try entry.u32() : try entry.u16()
                let count = Int(try entry.u16())
                var to: [UInt32] = []
                for _ in 0..<count { to.append(wide ? try entry.u32() : try entry.u16()) }
                return Reference(type: box.type, from: from, to: to)
            }
        }

        /// The references without the `removed` items; a reference left with no target goes.
        func node(removing removed: Set<UInt32>) -> BoxNode? {
            let width = version == 0 ? 2 : 4
            let children: [BoxNode] = references.compactMap { reference in
                guard !removed.contains(reference.from) else { return nil }
                let targets = reference.to.filter { !removed.contains($0) }
                guard !targets.isEmpty else { return nil }
                var payload: [UInt8] = []
                payload.appendBE(UInt64(reference.from), width: width)
                payload.appendBE16(UInt32(targets.count))
                for target in targets { payload.appendBE(UInt64(target), width: width) }
                return BoxNode(type: reference.type, payload: payload)
            }
            guard !children.isEmpty else { return nil }
            return BoxNode(type: FourCC("iref"), content: .container(prefix: [version] + flags, children: children))
        }
    }

    /// `ipma`: the property associations of each item, kept as raw bytes per item.
    struct Associations {
        var version: UInt8
        var flags: [UInt8]
        var entries: [(id: UInt32, bytes: [UInt8])]

        init(_ bytes: [UInt8], _ span: BoxSpan) throws {
            var cursor = ByteCursor(bytes, from: span.payload.lowerBound, to: span.end, what: "the ipma box")
            version = try cursor.u8()
            flags = Array(bytes[try cursor.take(3)])
            let wideIndexes = flags[2] & 1 == 1
            let count = Int(try cursor.u32())
            var entries: [(id: UInt32, bytes: [UInt8])] = []
            for _ in 0..<count {
                let start = cursor.position
                let id = version < 1 ? try cursor.u16() : try cursor.u32()
                let associations = Int(try cursor.u8())
                try cursor.skip(associations * (wideIndexes ? 2 : 1))
                entries.append((id, Array(bytes[start..<cursor.position])))
            }
            self.entries = entries
        }

        func node(removing removed: Set<UInt32>) -> BoxNode {
            let kept = entries.filter { !removed.contains($0.id) }
            var payload: [UInt8] = [version] + flags
            payload.appendBE32(UInt32(kept.count))
            for entry in kept { payload.append(contentsOf: entry.bytes) }
            return BoxNode(type: FourCC("ipma"), payload: payload)
        }
    }
}
