/// Strips a HEIF/AVIF `meta` box: the `Exif` items, the XMP items (`mime`, `application/rdf+xml`) and other
/// non-image metadata items go — from `iinf`, `iloc`, `ipma` and `iref` — and their bytes are zeroed where they lie
/// (in `mdat` or `idat`), so nothing that follows moves and no other item's `iloc` offset changes. Every image item
/// (primary, grid tiles, thumbnails, alpha/depth/gain-map auxiliaries) and every property (`ispe`, `colr`, `irot`,
/// `imir`, `clap`, `pixi`, `hvcC`, `av1C`…) stays, so the picture decodes exactly as before; orientation in HEIF is
/// `irot`/`imir`, never EXIF.
///
/// gps-only: the Exif item is rewritten in place without its GPS IFD (libexif) and the XMP without `exif:GPS…`,
/// padded to their old length; an item that cannot be rewritten that way is removed.
enum HEIFStripper {
    /// How much of one metadata item is read to inspect or rewrite it.
    static let itemReadLimit = 16 << 20

    struct Result {
        var meta: [UInt8]
        var edits: [SplicePlan.Edit]
    }

    /// `true` when `meta` (a whole box) is a HEIF image `meta` box: its handler is `pict`.
    static func isImageMeta(_ bytes: [UInt8]) throws -> Bool {
        let children = try BoxSpan.parse(bytes, in: 12..<bytes.count, parent: "the meta box")
        guard let handler = children.first(where: { $0.type == .hdlr }), handler.end - handler.payload.lowerBound >= 12
        else { return false }
        return FourCC(bytes, at: handler.payload.lowerBound + 8) == FourCC("pict")
    }

    /// Rebuilds the `meta` box `bytes` (header included) of `source`; item data elsewhere in the file is erased or
    /// rewritten through the edits returned.
    static func strip(
        meta bytes: [UInt8], in source: some ByteSource, policy: StripPolicy, editor: some MetadataEditor,
        report: inout StripReport
    ) throws -> Result {
        guard bytes.count >= 12 else { throw FormatError.malformed("the meta box is too short") }
        let spans = try BoxSpan.parse(bytes, in: 12..<bytes.count, parent: "the meta box")
        func single(_ type: FourCC, in list: [BoxSpan]) throws -> BoxSpan? {
            let found = list.filter { $0.type == type }
            guard found.count <= 1 else {
                throw FormatError.malformed("the meta box holds \(found.count) '\(type)' boxes")
            }
            return found.first
        }
        guard let iinfSpan = try single(FourCC("iinf"), in: spans), let ilocSpan = try single(FourCC("iloc"), in: spans)
        else {
            return Result(meta: try stripWithoutItems(bytes, spans, policy: policy, report: &report), edits: [])
        }
        let infos = try HEIFItems.InfoList(bytes, iinfSpan)
        let locations = try HEIFItems.Locations(bytes, ilocSpan)
        let references = try single(FourCC("iref"), in: spans).map { try HEIFItems.References(bytes, $0) }
        let idatSpan = try single(FourCC("idat"), in: spans)
        var idat = idatSpan.map { Array(bytes[$0.payload]) }
        let primary = try single(FourCC("pitm"), in: spans).map { span -> UInt32 in
            var cursor = ByteCursor(bytes, from: span.payload.lowerBound, to: span.end, what: "the pitm box")
            let version = try cursor.u8()
            try cursor.skip(3)
            return version == 0 ? try cursor.u16() : try cursor.u32()
        }
        let locationByID = Dictionary(locations.items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })

        // Where each item's bytes are: file ranges (construction method 0) or idat ranges (1).
        func extents(of item: HEIFItems.Locations.Item) throws -> (file: [Range<Int64>], idat: [Range<Int>]) {
            guard item.dataReference == 0 else { return ([], []) }  // in another file: nothing here to erase
            var file: [Range<Int64>] = []
            var inIdat: [Range<Int>] = []
            for extent in item.extents {
                let (start, overflow) = item.baseOffset.addingReportingOverflow(extent.offset)
                guard !overflow, start <= UInt64(Int64.max) else {
                    throw FormatError.malformed("iloc extent of item \(item.id) has an impossible offset")
                }
                switch item.constructionMethod {
                case 0:
                    let end =
                        extent.length == 0
                        ? UInt64(source.count) : start.addingReportingOverflow(extent.length).partialValue
                    guard end >= start, end <= UInt64(source.count) else {
                        throw FormatError.malformed(
                            "iloc extent of item \(item.id) (bytes \(start)…\(end)) reaches past the end of the file (\(source.count) bytes)"
                        )
                    }
                    file.append(Int64(start)..<Int64(end))
                case 1:
                    let size = UInt64(idat?.count ?? 0)
                    let end = extent.length == 0 ? size : start.addingReportingOverflow(extent.length).partialValue
                    guard end >= start, end <= size else {
                        throw FormatError.malformed("iloc extent of item \(item.id) reaches past the end of idat")
                    }
                    inIdat.append(Int(start)..<Int(end))
                default:
                    throw StripError.unsupported(
                        "HEIF item \(item.id) is built from other items (iloc construction method \(item.constructionMethod))"
                    )
                }
            }
            return (file, inIdat)
        }
        func read(_ item: HEIFItems.Locations.Item) throws -> [UInt8]? {
            let (file, inIdat) = try extents(of: item)
            let total = file.reduce(0) { $0 + Int($1.upperBound - $1.lowerBound) } + inIdat.reduce(0) { $0 + $1.count }
            guard total <= itemReadLimit else { return nil }
            var data: [UInt8] = []
            for range in file {
                data += try source.bytes(at: range.lowerBound, count: Int(range.upperBound - range.lowerBound))
            }
            for range in inIdat { data += idat?[range] ?? [] }
            return data
        }
        // Writes `payload` over the item's extents in order (the payload is exactly as long as they are).
        var edits: [SplicePlan.Edit] = []
        func overwrite(_ item: HEIFItems.Locations.Item, with payload: [UInt8], _ what: String) throws {
            let (file, inIdat) = try extents(of: item)
            var offset = 0
            for range in file {
                let length = Int(range.upperBound - range.lowerBound)
                edits.append(.replace(range, with: Array(payload[offset..<(offset + length)]), what))
                offset += length
            }
            for range in inIdat {
                idat?.replaceSubrange(range, with: payload[offset..<(offset + range.count)])
                offset += range.count
            }
        }

        var removed = Set<UInt32>()
        for info in infos.entries {
            let kind = metadataKind(info, mode: policy.mode)
            guard let kind, let item = locationByID[info.id] else { continue }
            let what = "the \(kind) item \(info.id)"
            let data = try read(item)
            var replacement: [UInt8]?
            switch kind {
            case "exif":
                guard let data, data.count >= 4 else { break }
                // The payload starts with a 32-bit offset to the TIFF header (the bytes in between are usually "Exif\0\0").
                let headerEnd = 4 + Int(be32(data, 0))
                guard headerEnd <= data.count else { break }
                let tiff = Array(data[headerEnd...])
                let summary = editor.inspect(tiff: tiff)
                JPEGStripper.record(summary, in: &report)
                var rewritten: [UInt8]?
                if policy.mode == .gpsOnly {
                    rewritten =
                        !summary.readable ? nil : summary.hasGPSDirectory ? editor.removingGPS(tiff: tiff) : tiff
                } else if policy.keepCopyright, summary.copyright != nil || summary.artist != nil {
                    rewritten = editor.minimalEXIF(
                        orientation: nil, copyright: summary.copyright, artist: summary.artist,
                        bigEndian: summary.bigEndian)
                }
                if let rewritten, headerEnd + rewritten.count <= data.count {
                    replacement =
                        Array(data[..<headerEnd]) + rewritten
                        + [UInt8](repeating: 0, count: data.count - headerEnd - rewritten.count)
                }
            case "xmp":
                guard let data else { break }
                let text = String(decoding: data, as: UTF8.self)
                if XMP.hasGPS(text) { report.gpsFound = true }
                if policy.mode == .gpsOnly {
                    let cleaned = Array(XMP.removingGPS(text).utf8)
                    // String(decoding:) may have replaced invalid bytes: only a clean round trip is written back.
                    if Array(text.utf8) == data, !XMP.hasGPS(String(decoding: cleaned, as: UTF8.self)),
                        cleaned.count <= data.count
                    {
                        replacement = cleaned + [UInt8](repeating: 0x20, count: data.count - cleaned.count)
                    }
                }
            default:
                break
            }
            if let replacement {
                if replacement != data {
                    try overwrite(item, with: replacement, what)
                    report.rewritten[kind, default: 0] += 1
                }
            } else {
                removed.insert(info.id)
                report.count(kind)
            }
        }
        if let primary, removed.contains(primary) {
            throw FormatError.malformed("the primary item \(primary) of this HEIF is a metadata item")
        }

        // Erase what was removed; it must not share bytes with anything that stays.
        var kept: [Range<Int64>] = []
        for item in locations.items where !removed.contains(item.id) { kept += try extents(of: item).file }
        for item in locations.items where removed.contains(item.id) {
            let (file, inIdat) = try extents(of: item)
            for range in file {
                if let overlap = kept.first(where: { $0.overlaps(range) }) {
                    throw FormatError.malformed(
                        "item \(item.id)'s bytes \(range.lowerBound)…\(range.upperBound) overlap an image item's (\(overlap.lowerBound)…\(overlap.upperBound))"
                    )
                }
                edits.append(.erase(range, "the removed item \(item.id)"))
            }
            for range in inIdat { idat?.replaceSubrange(range, with: [UInt8](repeating: 0, count: range.count)) }
        }
        edits = mergingErasures(edits)

        // The new meta box: the same children in the same order, with the item boxes rebuilt.
        var children: [BoxNode] = []
        for span in spans {
            switch span.type {
            case FourCC("iinf"): children.append(infos.node(removing: removed))
            case FourCC("iloc"): children.append(locations.node(removing: removed))
            case FourCC("iref"): if let node = references?.node(removing: removed) { children.append(node) }
            case FourCC("idat"):
                children.append(BoxNode(type: span.type, usesLargeSize: span.usesLargeSize, payload: idat ?? []))
            case FourCC("iprp"):
                children.append(try properties(bytes, span, removing: removed, policy: policy, report: &report))
            default:
                if let node = try otherChild(bytes, span, policy: policy, report: &report) { children.append(node) }
            }
        }
        let header = BoxSpan(type: .meta, start: 0, headerLength: be32(bytes, 0) == 1 ? 16 : 8, end: bytes.count)
        let node = BoxNode(
            type: .meta, usesLargeSize: header.usesLargeSize,
            content: .container(
                prefix: Array(bytes[header.headerLength..<(header.headerLength + 4)]), children: children))
        return Result(meta: node.encoded, edits: edits)
    }

    /// What kind of metadata an item is (`exif`, `xmp`, or `item:<type>` for other non-image data), or `nil` for
    /// items that stay (images, derived images, anything gps-only mode does not touch).
    static func metadataKind(_ info: HEIFItems.Info, mode: StripPolicy.Mode) -> String? {
        if info.type == FourCC("Exif") { return "exif" }
        if info.type == FourCC("mime") {
            let type = info.contentType?.lowercased() ?? ""
            if type.contains("rdf+xml") || type == "application/xml" || type == "text/xml" { return "xmp" }
            if type.hasPrefix("image/") || type.hasPrefix("video/") { return nil }
            return mode == .all ? "item:mime" : nil
        }
        if info.type == FourCC("uri ") { return mode == .all ? "item:uri" : nil }
        return nil
    }

    /// `iprp` with `ipma` rebuilt for the items that stay; in `ipco`, user-description properties (`udes`: a name,
    /// description and tags) become zeroed `free` boxes, so every property keeps its index.
    static func properties(
        _ bytes: [UInt8], _ span: BoxSpan, removing removed: Set<UInt32>, policy: StripPolicy, report: inout StripReport
    ) throws -> BoxNode {
        let children = try BoxSpan.parse(bytes, in: span.payload, parent: "the iprp box").map { child -> BoxNode in
            switch child.type {
            case FourCC("ipma"):
                return try HEIFItems.Associations(bytes, child).node(removing: removed)
            case FourCC("ipco") where policy.mode == .all:
                let properties = try BoxSpan.parse(bytes, in: child.payload, parent: "the ipco box").map {
                    property -> BoxNode in
                    guard property.type == FourCC("udes") else { return BoxNode(leaf: property, in: bytes) }
                    report.count("udes")
                    return BoxNode(
                        type: .free, usesLargeSize: property.usesLargeSize,
                        payload: [UInt8](repeating: 0, count: property.payload.count))
                }
                return BoxNode(
                    type: child.type, usesLargeSize: child.usesLargeSize,
                    content: .container(prefix: [], children: properties))
            default:
                return BoxNode(leaf: child, in: bytes)
            }
        }
        return BoxNode(
            type: span.type, usesLargeSize: span.usesLargeSize, content: .container(prefix: [], children: children))
    }

    /// Other children of `meta`: XMP `uuid` boxes and XML metadata boxes go (gps-only: lose their GPS), the rest stays.
    static func otherChild(
        _ bytes: [UInt8], _ span: BoxSpan, policy: StripPolicy, report: inout StripReport
    ) throws -> BoxNode? {
        let payload = bytes[span.payload]
        switch span.type {
        case .uuid where UUIDBox.isXMP(payload), FourCC("xml "), FourCC("bxml"):
            let isUUID = span.type == .uuid
            let body = Array(payload.dropFirst(isUUID ? 16 : (span.type == FourCC("xml ") ? 4 : 0)))
            let text = String(decoding: body, as: UTF8.self)
            if XMP.hasGPS(text) { report.gpsFound = true }
            if policy.mode == .gpsOnly {
                guard XMP.hasGPS(text) else { return BoxNode(leaf: span, in: bytes) }
                let cleaned = Array(XMP.removingGPS(text).utf8)
                if Array(text.utf8) == body, cleaned.count <= body.count,
                    !XMP.hasGPS(String(decoding: cleaned, as: UTF8.self))
                {
                    report.rewritten["xmp", default: 0] += 1
                    let head = Array(payload.prefix(payload.count - body.count))
                    return BoxNode(
                        type: span.type, usesLargeSize: span.usesLargeSize,
                        payload: head + cleaned + [UInt8](repeating: 0x20, count: body.count - cleaned.count))
                }
            }
            report.count("xmp")
            return nil
        case .uuid where policy.mode == .all:
            report.count("uuid")
            return nil
        default:
            return BoxNode(leaf: span, in: bytes)
        }
    }

    /// A `meta` box with no items (no `iinf`/`iloc`): only its other children are stripped.
    static func stripWithoutItems(
        _ bytes: [UInt8], _ spans: [BoxSpan], policy: StripPolicy, report: inout StripReport
    ) throws -> [UInt8] {
        let children = try spans.compactMap { try otherChild(bytes, $0, policy: policy, report: &report) }
        let headerLength = be32(bytes, 0) == 1 ? 16 : 8
        return BoxNode(
            type: .meta, usesLargeSize: headerLength == 16,
            content: .container(prefix: Array(bytes[headerLength..<(headerLength + 4)]), children: children)
        ).encoded
    }

    /// Erase edits with overlapping or adjacent ranges merged (two removed items may share bytes); other edits as
    /// they are.
    static func mergingErasures(_ edits: [SplicePlan.Edit]) -> [SplicePlan.Edit] {
        var result: [SplicePlan.Edit] = []
        var erasures: [Range<Int64>] = []
        for edit in edits {
            if case .zeros? = edit.replacement.first, edit.replacement.count == 1 {
                erasures.append(edit.range)
            } else {
                result.append(edit)
            }
        }
        var merged: [Range<Int64>] = []
        for range in erasures.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return result + merged.map { .erase($0, "removed item data") }
    }
}
