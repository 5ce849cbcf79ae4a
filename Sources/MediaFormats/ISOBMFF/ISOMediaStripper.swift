/// Plans the stripped copy of an ISO base media file — HEIF/HEIC/AVIF images and image sequences, MP4, MOV, M4V,
/// M4A, 3GP/3G2 — reading only its header boxes.
///
/// Top-level boxes are kept in place: a rebuilt `moov` or HEIF `meta` that shrank is followed by a zeroed `free` box
/// of the difference, a removed box becomes a zeroed `free` box of its own size, so no media data moves and every
/// `stco`/`co64`/`iloc` offset stays right. Only removed boxes at the very end of the file are dropped instead (a
/// MOV with its `moov` last simply gets shorter). `free`/`skip`/`wide` payloads are zeroed (editors leave old
/// metadata in them). Fragmented files (`moof`) keep their fragments untouched.
public enum ISOMediaStripper {
    /// The largest `moov` or `meta` box read into memory; a larger one is refused.
    public static let headerLimit = 64 << 20

    /// Top-level boxes that stay as they are (media data, fragments and their indexes).
    static let keptBoxes: Set<FourCC> = [
        .ftyp, FourCC("styp"), .mdat, .moof, FourCC("mfra"), FourCC("sidx"), FourCC("ssix"), FourCC("prft"),
        FourCC("emsg"),
        FourCC("pdin"), FourCC("mfro"),
    ]

    /// Plans the stripped copy of `source`.
    /// - Throws: ``StripError`` (unsupported: a Canon CR3, a compressed movie header, an oversized header;
    ///   damaged: boxes that run past their parent or the file, overlapping item data…).
    public static func plan(
        _ source: some ByteSource, policy: StripPolicy, editor: some MetadataEditor
    ) throws -> (plan: SplicePlan, report: StripReport) {
        do {
            return try makePlan(source, policy: policy, editor: editor)
        } catch let error as FormatError {
            throw StripError.damaged(error)
        }
    }

    /// What becomes of a top-level box.
    enum Fate {
        case keep
        case zeroPayload
        case rebuilt([UInt8])
        case removed
    }

    /// The fate of a box rebuilt from `original`: kept when nothing changed.
    static func rebuilt(_ bytes: [UInt8], from original: [UInt8]) -> Fate {
        bytes == original ? .keep : .rebuilt(bytes)
    }

    struct TopBox {
        var type: FourCC
        var start: Int64
        var headerLength: Int64
        var end: Int64
        var payload: Range<Int64> { (start + headerLength)..<end }
        var length: Int64 { end - start }
    }

    /// The top-level boxes, read header by header.
    static func topLevelBoxes(_ source: some ByteSource) throws -> [TopBox] {
        var boxes: [TopBox] = []
        var offset: Int64 = 0
        while offset < source.count {
            let left = source.count - offset
            let header = try source.bytes(at: offset, count: Int(min(16, left)))
            guard header.count >= 8 else {
                if header.allSatisfy({ $0 == 0 }) { break }  // a few zero bytes of padding after the last box
                throw FormatError.truncated("the file ends with \(header.count) bytes that are not a whole box")
            }
            let type = FourCC(header, at: 4)
            var size = Int64(be32(header, 0))
            var headerLength: Int64 = 8
            if size == 1 {
                guard header.count == 16 else {
                    throw FormatError.truncated("the file ends inside the header of box '\(type)'")
                }
                let large = UInt64(be32(header, 8)) << 32 | UInt64(be32(header, 12))
                guard large <= UInt64(Int64.max) else {
                    throw FormatError.malformed("box '\(type)' at byte \(offset) claims \(large) bytes")
                }
                size = Int64(large)
                headerLength = 16
            } else if size == 0 {
                size = left
            }
            guard size >= headerLength else {
                throw FormatError.malformed("box '\(type)' at byte \(offset) has size \(size), smaller than its header")
            }
            guard size <= left else {
                throw FormatError.truncated(
                    "box '\(type)' at byte \(offset) claims \(size) bytes but the file ends \(left) bytes later")
            }
            boxes.append(TopBox(type: type, start: offset, headerLength: headerLength, end: offset + size))
            guard boxes.count <= 1_000_000 else { throw FormatError.malformed("more than a million top-level boxes") }
            offset += size
        }
        return boxes
    }

    static func readWhole(_ box: TopBox, _ source: some ByteSource) throws -> [UInt8] {
        guard box.length <= Int64(headerLimit) else {
            throw StripError.unsupported(
                "the '\(box.type)' box is \(box.length >> 20) MiB, over the \(headerLimit >> 20) MiB this stage reads into memory"
            )
        }
        return try source.exactly(Int(box.length), at: box.start, "the '\(box.type)' box")
    }

    private static func makePlan(
        _ source: some ByteSource, policy: StripPolicy, editor: some MetadataEditor
    ) throws -> (plan: SplicePlan, report: StripReport) {
        let boxes = try topLevelBoxes(source)
        guard let first = boxes.first else { throw FormatError.truncated("the file is empty") }
        var report = StripReport(format: .movie)
        if first.type == .ftyp, first.payload.count >= 4 {
            let brand = FourCC(try source.exactly(4, at: first.payload.lowerBound, "the ftyp box"), at: 0)
            report.brand = String(brand.description.reversed().drop { $0 == " " }.reversed())
            if brand == FourCC("crx ") { throw StripError.unsupported("Canon CR3 raw files cannot be stripped") }
        }
        guard boxes.filter({ $0.type == .moov }).count <= 1 else {
            throw FormatError.malformed("the file has more than one moov box")
        }
        let fragmented = boxes.contains { $0.type == .moof }

        var fates: [Fate] = []
        var edits: [SplicePlan.Edit] = []
        var sawImageMeta = false
        for box in boxes {
            switch box.type {
            case .moov:
                let bytes = try readWhole(box, source)
                let movie = try MovieStripper.strip(
                    moov: bytes, fileLength: source.count, fragmented: fragmented, policy: policy, report: &report)
                edits += movie.edits
                fates.append(rebuilt(movie.moov, from: bytes))
            case .meta:
                let bytes = try readWhole(box, source)
                if !sawImageMeta, try HEIFStripper.isImageMeta(bytes) {
                    sawImageMeta = true
                    report.format = .heif
                    let image = try HEIFStripper.strip(
                        meta: bytes, in: source, policy: policy, editor: editor, report: &report)
                    edits += image.edits
                    report.iccKept = image.meta.withUnsafeBufferPointer {
                        XMP.contains($0, Array("colrprof".utf8)) || XMP.contains($0, Array("colrrICC".utf8))
                    }
                    fates.append(rebuilt(image.meta, from: bytes))
                } else if policy.mode == .gpsOnly {
                    let span = BoxSpan(type: .meta, start: 0, headerLength: Int(box.headerLength), end: bytes.count)
                    if try MetadataKeys.hasLocation(bytes, span) { report.gpsFound = true }
                    fates.append(
                        rebuilt(try MetadataKeys.withoutLocation(bytes, span, report: &report).encoded, from: bytes))
                } else {
                    let span = BoxSpan(type: .meta, start: 0, headerLength: Int(box.headerLength), end: bytes.count)
                    if try MetadataKeys.hasLocation(bytes, span) { report.gpsFound = true }
                    report.count("meta")
                    fates.append(.removed)
                }
            case .udta, .uuid:
                let bytes = try readWhole(box, source)
                let span = BoxSpan(type: box.type, start: 0, headerLength: Int(box.headerLength), end: bytes.count)
                if let node = try MovieStripper.strippedChild(
                    bytes, span, level: .movie, policy: policy, report: &report)
                {
                    fates.append(rebuilt(node.encoded, from: bytes))
                } else {
                    fates.append(.removed)
                }
            case .free, .skip, .wide:
                fates.append(try isZero(box.payload, source) ? .keep : .zeroPayload)
            default:
                if keptBoxes.contains(box.type) || policy.mode == .gpsOnly {
                    fates.append(.keep)
                } else {
                    report.count("box:\(box.type)")
                    fates.append(.removed)
                }
            }
        }
        if !sawImageMeta, !boxes.contains(where: { $0.type == .moov }) {
            throw StripError.unsupported("an ISO media file with neither a movie (moov) nor a HEIF image (meta)")
        }

        // Boxes after the last one that stays can go; anything earlier keeps its footprint.
        let lastKept = fates.lastIndex { if case .removed = $0 { return false } else { return true } } ?? -1
        for (index, (box, fate)) in zip(boxes, fates).enumerated() {
            let trailing = index >= lastKept
            let range = box.start..<box.end
            switch fate {
            case .keep:
                break
            case .zeroPayload:
                edits.append(.erase(box.payload, "the '\(box.type)' box"))
            case .removed:
                edits.append(
                    trailing
                        ? SplicePlan.Edit(range: range, replacement: [], what: "the '\(box.type)' box")
                        : .blank(range, "the '\(box.type)' box"))
            case .rebuilt(let bytes):
                let shrink = box.length - Int64(bytes.count)
                if trailing || shrink == 0 {
                    edits.append(.replace(range, with: bytes, "the '\(box.type)' box"))
                } else if shrink >= 8 {
                    let header = BoxNode.freeHeader(length: shrink)
                    edits.append(
                        SplicePlan.Edit(
                            range: range,
                            replacement: [.insert(bytes), .insert(header), .zeros(shrink - Int64(header.count))],
                            what: "the '\(box.type)' box"))
                } else {
                    throw StripError.unsupported(
                        "the rebuilt '\(box.type)' box is \(shrink) bytes shorter: too little for a free box, so the media data would move"
                    )
                }
            }
        }
        return (try SplicePlan(sourceLength: source.count, edits: edits), report)
    }

    /// `true` when `range` of `source` holds only zero bytes (checked up to 16 MiB; longer ranges count as not zero).
    static func isZero(_ range: Range<Int64>, _ source: some ByteSource) throws -> Bool {
        guard range.upperBound - range.lowerBound <= 16 << 20 else { return false }
        var offset = range.lowerBound
        while offset < range.upperBound {
            let bytes = try source.bytes(at: offset, count: Int(min(1 << 20, range.upperBound - offset)))
            guard !bytes.isEmpty else { return true }
            if bytes.contains(where: { $0 != 0 }) { return false }
            offset += Int64(bytes.count)
        }
        return true
    }
}
