/// Strips a movie header (`moov`) of an MP4, MOV, M4V, M4A or 3GP file.
///
/// Removed (mode `all`): user data (`udta`: `©xyz`, `©mak`, `©mod`, `©swr`, `©day`, `loci`, vendor boxes), QuickTime
/// and iTunes metadata (`meta` with `keys`/`ilst`: `com.apple.quicktime.location.ISO6709`, make, model, software,
/// creation date, content identifier…), `uuid` boxes (XMP and vendor data), at movie, track and media level, and every
/// timed metadata track (handler `meta`: Apple `mebx` — location, detected faces, orientation —, GoPro `gpmd`,
/// `camm`…): the track goes and its samples are zeroed where they lie. Boxes a player needs stay byte for byte:
/// `mvhd`, `tkhd` (its matrix is the rotation), `edts`, `tref`, `tapt`, `mdia` with the sample tables and sample
/// descriptions (`colr`, `pasp`, `btrt`…). The media samples are not touched and do not move.
///
/// gps-only: only location goes — `©xyz` and `loci` in user data, location keys in `keys`/`ilst`, XMP `exif:GPS…`
/// (rewritten in place), and the timed metadata tracks that carry (or may carry) location (`mebx` with location
/// keys, `gpmd`, `camm`, formats it does not know).
enum MovieStripper {
    struct Result {
        var moov: [UInt8]
        var edits: [SplicePlan.Edit]
    }

    /// The most chunks of removed tracks whose samples are erased.
    static let chunkLimit = 1 << 20

    static let movieBoxesKept: Set<FourCC> = [
        FourCC("mvhd"), .trak, .mvex, FourCC("iods"), FourCC("clip"), FourCC("ctab"), FourCC("prfl"), FourCC("ptv "),
    ]
    static let trackBoxesKept: Set<FourCC> = [
        .tkhd, FourCC("tapt"), FourCC("clip"), FourCC("matt"), FourCC("edts"), FourCC("tref"), FourCC("txas"),
        FourCC("load"),
        FourCC("imap"), .mdia, FourCC("kmat"), FourCC("iprp"),
    ]
    static let fillers: Set<FourCC> = [.free, .skip, .wide]

    struct Track {
        var span: BoxSpan
        var id: UInt32?
        var handler: FourCC?
        var sampleFormat: FourCC?
        var stsd: [UInt8]
        var stbl: BoxSpan?
    }

    static func strip(
        moov bytes: [UInt8], fileLength: Int64, fragmented: Bool, policy: StripPolicy, report: inout StripReport
    ) throws -> Result {
        let headerLength = be32(bytes, 0) == 1 ? 16 : 8
        let spans = try BoxSpan.parse(bytes, in: headerLength..<bytes.count, parent: "the moov box")
        if spans.contains(where: { $0.type == FourCC("cmov") }) {
            throw StripError.unsupported("the movie header is compressed (cmov); it cannot be stripped")
        }
        let tracks = try spans.filter { $0.type == .trak }.map { try track(bytes, $0) }
        let fragmented = fragmented || spans.contains { $0.type == .mvex }
        var removedTracks = Set<UInt32>()
        var edits: [SplicePlan.Edit] = []
        var chunks = 0
        for track in tracks where track.handler == FourCC("meta") {
            let format = track.sampleFormat?.description ?? "unknown"
            let carriesLocation = carriesLocation(track)
            if carriesLocation && format == "mebx" { report.gpsFound = true }
            guard policy.mode == .all || carriesLocation else { continue }
            let name = "timed metadata track \(track.id.map(String.init) ?? "?") ('\(format)')"
            if fragmented {
                throw StripError.unsupported(
                    "fragmented movie with a \(name): its samples are spread over fragments and cannot be erased")
            }
            guard let id = track.id else { throw FormatError.malformed("a \(name) has no track header") }
            removedTracks.insert(id)
            report.count("track:\(format)")
            if let stbl = track.stbl {
                let ranges = try sampleRanges(bytes, stbl, fileLength: fileLength)
                chunks += ranges.count
                guard chunks <= chunkLimit else {
                    throw StripError.unsupported("the \(name) has more than \(chunkLimit) chunks")
                }
                edits += ranges.map { .erase($0, "the samples of the \(name)") }
            }
        }

        var children: [BoxNode] = []
        for span in spans {
            if span.type == .trak {
                if let id = tracks.first(where: { $0.span.start == span.start })?.id, removedTracks.contains(id) {
                    continue
                }
                children.append(
                    try strippedTrack(bytes, span, removedTracks: removedTracks, policy: policy, report: &report))
            } else if let node = try strippedChild(bytes, span, level: .movie, policy: policy, report: &report) {
                children.append(node)
            }
        }
        let node = BoxNode(
            type: .moov, usesLargeSize: headerLength == 16, content: .container(prefix: [], children: children))
        return Result(moov: node.encoded, edits: HEIFStripper.mergingErasures(edits))
    }

    enum Level { case movie, track, media }

    /// One child of `moov`, `trak` or `mdia` as it stays (`nil`: removed).
    static func strippedChild(
        _ bytes: [UInt8], _ span: BoxSpan, level: Level, policy: StripPolicy, report: inout StripReport
    ) throws -> BoxNode? {
        let payload = bytes[span.payload]
        if fillers.contains(span.type) {
            return BoxNode(
                type: span.type, usesLargeSize: span.usesLargeSize, payload: [UInt8](repeating: 0, count: payload.count)
            )
        }
        switch span.type {
        case .udta:
            let location = try userDataHasLocation(bytes, span)
            if location { report.gpsFound = true }
            if policy.mode == .gpsOnly { return try gpsOnlyUserData(bytes, span, report: &report) }
            report.count("udta")
            return nil
        case .meta:
            let location = try MetadataKeys.hasLocation(bytes, span)
            if location { report.gpsFound = true }
            if policy.mode == .gpsOnly { return try MetadataKeys.withoutLocation(bytes, span, report: &report) }
            report.count("meta")
            return nil
        case .uuid:
            return try uuidBox(bytes, span, policy: policy, report: &report)
        default:
            let kept: Bool
            switch level {
            case .movie: kept = movieBoxesKept.contains(span.type)
            case .track: kept = trackBoxesKept.contains(span.type)
            case .media: kept = true
            }
            if kept || policy.mode == .gpsOnly { return BoxNode(leaf: span, in: bytes) }
            report.count("box:\(span.type)")
            return nil
        }
    }

    /// A `trak` box without its metadata, its `tref` without references to removed tracks.
    static func strippedTrack(
        _ bytes: [UInt8], _ span: BoxSpan, removedTracks: Set<UInt32>, policy: StripPolicy, report: inout StripReport
    ) throws -> BoxNode {
        var children: [BoxNode] = []
        for child in try BoxSpan.parse(bytes, in: span.payload, parent: "a trak box") {
            switch child.type {
            case .mdia:
                let grandchildren = try BoxSpan.parse(bytes, in: child.payload, parent: "an mdia box").compactMap {
                    try strippedChild(bytes, $0, level: .media, policy: policy, report: &report)
                }
                children.append(
                    BoxNode(
                        type: child.type, usesLargeSize: child.usesLargeSize,
                        content: .container(prefix: [], children: grandchildren)))
            case FourCC("tref") where !removedTracks.isEmpty:
                let references = try BoxSpan.parse(bytes, in: child.payload, parent: "a tref box").compactMap {
                    reference -> BoxNode? in
                    var cursor = ByteCursor(
                        bytes, from: reference.payload.lowerBound, to: reference.end, what: "a track reference")
                    var ids: [UInt8] = []
                    while cursor.remaining >= 4 {
                        let id = try cursor.u32()
                        if !removedTracks.contains(id) { ids.appendBE32(id) }
                    }
                    return ids.isEmpty ? nil : BoxNode(type: reference.type, payload: ids)
                }
                if !references.isEmpty {
                    children.append(BoxNode(type: child.type, content: .container(prefix: [], children: references)))
                }
            default:
                if let node = try strippedChild(bytes, child, level: .track, policy: policy, report: &report) {
                    children.append(node)
                }
            }
        }
        return BoxNode(
            type: .trak, usesLargeSize: span.usesLargeSize, content: .container(prefix: [], children: children))
    }

    /// An XMP or vendor `uuid` box: removed in mode `all`; in gps-only the XMP loses its GPS in place.
    static func uuidBox(
        _ bytes: [UInt8], _ span: BoxSpan, policy: StripPolicy, report: inout StripReport
    ) throws -> BoxNode? {
        let payload = bytes[span.payload]
        guard UUIDBox.isXMP(payload) else {
            if policy.mode == .gpsOnly { return BoxNode(leaf: span, in: bytes) }
            report.count("uuid")
            return nil
        }
        let body = Array(payload.dropFirst(16))
        if let cleaned = try xmpPacket(body, policy: policy, report: &report) {
            return BoxNode(type: .uuid, usesLargeSize: span.usesLargeSize, payload: UUIDBox.xmp + cleaned)
        }
        return nil
    }

    /// An XMP packet as it stays: `nil` when removed (mode `all`, or GPS that cannot be cut out); in gps-only the
    /// packet without GPS, padded with spaces to its old length.
    static func xmpPacket(_ body: [UInt8], policy: StripPolicy, report: inout StripReport) throws -> [UInt8]? {
        let text = String(decoding: body, as: UTF8.self)
        let hasGPS = XMP.hasGPS(text)
        if hasGPS { report.gpsFound = true }
        if policy.mode == .gpsOnly {
            guard hasGPS else { return body }
            let cleaned = Array(XMP.removingGPS(text).utf8)
            if Array(text.utf8) == body, cleaned.count <= body.count,
                !XMP.hasGPS(String(decoding: cleaned, as: UTF8.self))
            {
                report.rewritten["xmp", default: 0] += 1
                return cleaned + [UInt8](repeating: 0x20, count: body.count - cleaned.count)
            }
        }
        report.count("xmp")
        return nil
    }

    // MARK: - User data

    /// User-data boxes that hold a location: QuickTime `©xyz` (ISO 6709 text) and 3GPP `loci`.
    static let locationBoxes: Set<FourCC> = [FourCC("©xyz"), FourCC("loci")]

    static func userDataHasLocation(_ bytes: [UInt8], _ span: BoxSpan) throws -> Bool {
        for child in try BoxSpan.parse(bytes, in: span.payload, parent: "a udta box") {
            if locationBoxes.contains(child.type) { return true }
            if child.type == .meta, try MetadataKeys.hasLocation(bytes, child) { return true }
            if child.type == FourCC("XMP_"), XMP.hasGPS(String(decoding: bytes[child.payload], as: UTF8.self)) {
                return true
            }
        }
        return false
    }

    /// gps-only: `udta` without `©xyz` and `loci`, its XMP (`XMP_`) and `meta` without location. A `udta` nested in
    /// user data (no format puts one there) is removed whole, never walked: it could hide a location at any depth.
    static func gpsOnlyUserData(_ bytes: [UInt8], _ span: BoxSpan, report: inout StripReport) throws -> BoxNode {
        var children: [BoxNode] = []
        for child in try BoxSpan.parse(bytes, in: span.payload, parent: "a udta box") {
            if child.type == .udta {
                report.count("udta")
            } else if locationBoxes.contains(child.type) {
                report.count("location")
            } else if child.type == .meta {
                children.append(try MetadataKeys.withoutLocation(bytes, child, report: &report))
            } else if child.type == FourCC("XMP_") {
                if let packet = try xmpPacket(
                    Array(bytes[child.payload]), policy: StripPolicy(mode: .gpsOnly), report: &report)
                {
                    children.append(BoxNode(type: child.type, usesLargeSize: child.usesLargeSize, payload: packet))
                }
            } else {
                children.append(BoxNode(leaf: child, in: bytes))
            }
        }
        return BoxNode(
            type: .udta, usesLargeSize: span.usesLargeSize, content: .container(prefix: [], children: children))
    }

    // MARK: - Tracks

    static func track(_ bytes: [UInt8], _ span: BoxSpan) throws -> Track {
        var track = Track(span: span, stsd: [])
        for child in try BoxSpan.parse(bytes, in: span.payload, parent: "a trak box") {
            if child.type == .tkhd {
                var cursor = ByteCursor(bytes, from: child.payload.lowerBound, to: child.end, what: "a tkhd box")
                let version = try cursor.u8()
                try cursor.skip(3 + (version == 1 ? 16 : 8))
                track.id = try cursor.u32()
            }
            guard child.type == .mdia else { continue }
            for media in try BoxSpan.parse(bytes, in: child.payload, parent: "an mdia box") {
                if media.type == .hdlr, media.payload.count >= 12 {
                    track.handler = FourCC(bytes, at: media.payload.lowerBound + 8)
                }
                guard media.type == .minf else { continue }
                for information in try BoxSpan.parse(bytes, in: media.payload, parent: "a minf box")
                where information.type == .stbl {
                    track.stbl = information
                    for table in try BoxSpan.parse(bytes, in: information.payload, parent: "an stbl box")
                    where table.type == .stsd {
                        track.stsd = Array(bytes[table.payload])
                        if table.payload.count >= 16 {
                            track.sampleFormat = FourCC(bytes, at: table.payload.lowerBound + 12)
                        }
                    }
                }
            }
        }
        return track
    }

    /// Whether a timed metadata track carries, or may carry, location: Apple `mebx` tracks whose keys name a
    /// location, GoPro `gpmd` and `camm` (both record GPS), and any format not known to be free of it.
    static func carriesLocation(_ track: Track) -> Bool {
        switch track.sampleFormat?.description {
        case "mebx"?: return track.stsd.withUnsafeBufferPointer { XMP.contains($0, Array("location".utf8)) }
        default: return true
        }
    }

    /// The byte ranges of a track's chunks (from `stco`/`co64`, `stsc` and `stsz`/`stz2`), within the file.
    static func sampleRanges(_ bytes: [UInt8], _ stbl: BoxSpan, fileLength: Int64) throws -> [Range<Int64>] {
        var offsets: [Int64] = []
        var runs: [(firstChunk: Int, samplesPerChunk: Int64)] = []
        var constantSize: Int64 = 0
        var sizes: [Int64] = []
        var sampleCount: Int64 = 0
        for table in try BoxSpan.parse(bytes, in: stbl.payload, parent: "an stbl box") {
            var cursor = ByteCursor(
                bytes, from: table.payload.lowerBound, to: table.end, what: "the '\(table.type)' table")
            switch table.type.description {
            case "stco", "co64":
                try cursor.skip(4)
                let count = Int(try cursor.u32())
                guard count <= cursor.remaining / (table.type.description == "stco" ? 4 : 8) else {
                    throw FormatError.malformed("the chunk offset table claims \(count) entries")
                }
                offsets = try (0..<count).map { _ in
                    table.type.description == "stco" ? Int64(try cursor.u32()) : Int64(clamping: try cursor.u64())
                }
            case "stsc":
                try cursor.skip(4)
                let count = Int(try cursor.u32())
                guard count <= cursor.remaining / 12 else {
                    throw FormatError.malformed("the sample-to-chunk table claims \(count) entries")
                }
                runs = try (0..<count).map { _ in
                    let first = Int(try cursor.u32())
                    let perChunk = Int64(try cursor.u32())
                    try cursor.skip(4)
                    return (first, perChunk)
                }
            case "stsz":
                try cursor.skip(4)
                constantSize = Int64(try cursor.u32())
                sampleCount = Int64(try cursor.u32())
                if constantSize == 0 {
                    guard sampleCount <= Int64(cursor.remaining / 4) else {
                        throw FormatError.malformed("the sample size table claims \(sampleCount) entries")
                    }
                    sizes = try (0..<Int(sampleCount)).map { _ in Int64(try cursor.u32()) }
                }
            case "stz2":
                try cursor.skip(7)
                let field = Int(try cursor.u8())
                sampleCount = Int64(try cursor.u32())
                guard [4, 8, 16].contains(field), sampleCount <= Int64(cursor.remaining) * 8 / Int64(field) else {
                    throw FormatError.malformed("the compact sample size table is invalid")
                }
                sizes = try (0..<Int(sampleCount)).map { index in
                    switch field {
                    case 16: return Int64(try cursor.u16())
                    case 8: return Int64(try cursor.u8())
                    default:
                        let start = table.payload.lowerBound + 12 + index / 2
                        guard start < table.end else {
                            throw FormatError.malformed("the compact sample size table ends early")
                        }
                        return Int64(index % 2 == 0 ? bytes[start] >> 4 : bytes[start] & 0x0F)
                    }
                }
            default:
                continue
            }
        }
        var ranges: [Range<Int64>] = []
        var sample: Int64 = 0
        var run = 0
        for (index, offset) in offsets.enumerated() {
            let chunk = index + 1
            while run + 1 < runs.count, runs[run + 1].firstChunk <= chunk { run += 1 }
            let perChunk = runs.isEmpty ? 1 : runs[run].samplesPerChunk
            let take = max(0, min(perChunk, sampleCount - sample))
            var length: Int64
            if constantSize > 0 {
                length = constantSize.multipliedReportingOverflow(by: take).overflow ? fileLength : constantSize * take
            } else {
                length = sizes[Int(sample)..<Int(sample + take)].reduce(0, +)
            }
            sample += take
            let start = min(max(offset, 0), fileLength)
            length = min(length, fileLength - start)
            if length > 0 { ranges.append(start..<(start + length)) }
        }
        return ranges
    }
}
