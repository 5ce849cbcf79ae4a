/// QuickTime metadata (`meta` with `hdlr` `mdta`, `keys` and `ilst`) and iTunes-style metadata (`meta` with `hdlr`
/// `mdir` and an `ilst` of four-character items): enough to find location entries and to remove them.
///
/// A QuickTime `meta` box is a plain container; an ISO `meta` box is a full box (4 bytes of version and flags
/// first). Both appear in the wild, so the layout is read from whether an `hdlr` box follows at once.
enum MetadataKeys {
    /// iTunes-style location items.
    static let locationItems: Set<FourCC> = [FourCC("©xyz")]

    /// Where the children of a `meta` box start.
    static func childrenStart(_ bytes: [UInt8], _ span: BoxSpan) -> Int {
        let start = span.payload.lowerBound
        if span.payload.count >= 8, FourCC(bytes, at: start + 4) == .hdlr { return start }
        return min(start + 4, span.end)
    }

    /// The key names of a `keys` box (1-based in `ilst`), as bytes.
    static func keyNames(_ bytes: [UInt8], _ span: BoxSpan) throws -> [[UInt8]] {
        var cursor = ByteCursor(bytes, from: span.payload.lowerBound, to: span.end, what: "the keys box")
        try cursor.skip(4)
        let count = Int(try cursor.u32())
        guard count <= cursor.remaining / 8 else { throw FormatError.malformed("the keys box claims \(count) keys") }
        return try (0..<count).map { _ in
            let size = Int(try cursor.u32())
            guard size >= 8 else { throw FormatError.malformed("a key in the keys box has size \(size)") }
            try cursor.skip(4)  // namespace ("mdta")
            return Array(bytes[try cursor.take(size - 8)])
        }
    }

    static func isLocationKey(_ name: [UInt8]) -> Bool {
        name.withUnsafeBufferPointer { XMP.contains($0, Array("location".utf8)) }
    }

    /// `true` when the `meta` box holds a location key or a `©xyz` item.
    static func hasLocation(_ bytes: [UInt8], _ span: BoxSpan) throws -> Bool {
        for child in try BoxSpan.parse(bytes, in: childrenStart(bytes, span)..<span.end, parent: "a meta box") {
            if child.type == .keys, try keyNames(bytes, child).contains(where: isLocationKey) { return true }
            if child.type == .ilst,
                try BoxSpan.parse(bytes, in: child.payload, parent: "an ilst box").contains(where: {
                    locationItems.contains($0.type)
                })
            {
                return true
            }
        }
        return false
    }

    /// The `meta` box without location keys (the others renumbered in `ilst`) and `©xyz` items.
    static func withoutLocation(_ bytes: [UInt8], _ span: BoxSpan, report: inout StripReport) throws -> BoxNode {
        let start = childrenStart(bytes, span)
        let children = try BoxSpan.parse(bytes, in: start..<span.end, parent: "a meta box")
        // Old key index (1-based) → new index, for the keys that stay.
        var renumbered: [UInt32: UInt32] = [:]
        var keysNode: BoxNode?
        if let keys = children.first(where: { $0.type == .keys }) {
            let names = try keyNames(bytes, keys)
            var payload = Array(bytes[keys.payload.lowerBound..<(keys.payload.lowerBound + 4)])
            let kept = names.enumerated().filter { !isLocationKey($0.element) }
            payload.appendBE32(UInt32(kept.count))
            for (newIndex, key) in kept.enumerated() {
                renumbered[UInt32(key.offset + 1)] = UInt32(newIndex + 1)
                payload.appendBE32(UInt32(key.element.count + 8))
                payload.append(contentsOf: Array("mdta".utf8))
                payload.append(contentsOf: key.element)
            }
            if kept.count < names.count {
                keysNode = BoxNode(type: .keys, usesLargeSize: keys.usesLargeSize, payload: payload)
            }
        }
        let hasKeys = keysNode != nil
        let nodes: [BoxNode] = try children.map { child in
            if child.type == .keys, let keysNode { return keysNode }
            guard child.type == .ilst else { return BoxNode(leaf: child, in: bytes) }
            let items = try BoxSpan.parse(bytes, in: child.payload, parent: "an ilst box").compactMap {
                item -> BoxNode? in
                if locationItems.contains(item.type) {
                    report.count("location")
                    return nil
                }
                guard hasKeys else { return BoxNode(leaf: item, in: bytes) }
                guard let index = renumbered[item.type.rawValue] else {
                    report.count("location")
                    return nil
                }
                var node = BoxNode(leaf: item, in: bytes)
                node.type = FourCC(rawValue: index)
                return node
            }
            return BoxNode(
                type: .ilst, usesLargeSize: child.usesLargeSize, content: .container(prefix: [], children: items))
        }
        return BoxNode(
            type: .meta, usesLargeSize: span.usesLargeSize,
            content: .container(prefix: Array(bytes[span.payload.lowerBound..<start]), children: nodes))
    }
}
