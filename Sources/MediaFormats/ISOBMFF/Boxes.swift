/// A four-character code: an ISO BMFF / QuickTime box type, a brand, an item type or a handler type.
struct FourCC: Hashable, Sendable, CustomStringConvertible {
    var rawValue: UInt32

    init(rawValue: UInt32) { self.rawValue = rawValue }

    /// From four ASCII (or Latin-1, for `©xyz`) characters.
    init(_ text: StaticString) {
        var value: UInt32 = 0
        text.withUTF8Buffer { buffer in
            // "©" is two bytes in UTF-8; box types spell it as the single byte 0xA9.
            var bytes = Array(buffer)
            if let index = bytes.firstIndex(of: 0xC2), index + 1 < bytes.count, bytes[index + 1] == 0xA9 {
                bytes.remove(at: index)
            }
            for byte in bytes.prefix(4) { value = value << 8 | UInt32(byte) }
        }
        rawValue = value
    }

    init(_ bytes: [UInt8], at index: Int) { rawValue = be32(bytes, index) }

    var bytes: [UInt8] {
        [UInt8(rawValue >> 24), UInt8(rawValue >> 16 & 0xFF), UInt8(rawValue >> 8 & 0xFF), UInt8(rawValue & 0xFF)]
    }

    /// Printable: `©xyz` for 0xA9, `\x00` escapes for anything else outside printable ASCII.
    var description: String {
        bytes.map { byte -> String in
            if byte == 0xA9 { return "©" }
            if (0x20..<0x7F).contains(byte) { return String(UnicodeScalar(byte)) }
            return "\\x" + String(byte, radix: 16)
        }.joined()
    }

    static let ftyp = FourCC("ftyp"), moov = FourCC("moov"), mdat = FourCC("mdat"), meta = FourCC("meta")
    static let free = FourCC("free"), skip = FourCC("skip"), wide = FourCC("wide"), uuid = FourCC("uuid")
    static let udta = FourCC("udta"), trak = FourCC("trak"), mdia = FourCC("mdia"), minf = FourCC("minf")
    static let stbl = FourCC("stbl"), hdlr = FourCC("hdlr"), stsd = FourCC("stsd"), keys = FourCC("keys")
    static let ilst = FourCC("ilst"), moof = FourCC("moof"), mvex = FourCC("mvex"), tkhd = FourCC("tkhd")
}

/// Reads big-endian fields from a byte array, throwing (never trapping) when the data ends early.
struct ByteCursor {
    let bytes: [UInt8]
    private(set) var position: Int
    let end: Int
    /// What is being read, for error messages ("the iloc box").
    let what: String

    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil, what: String) {
        self.bytes = bytes
        self.position = start
        self.end = min(end ?? bytes.count, bytes.count)
        self.what = what
    }

    var remaining: Int { end - position }

    mutating func take(_ count: Int) throws -> Range<Int> {
        guard count >= 0, count <= remaining else {
            throw FormatError.malformed("\(what) ends early (needs \(count) more bytes at offset \(position))")
        }
        defer { position += count }
        return position..<(position + count)
    }

    mutating func u8() throws -> UInt8 { bytes[try take(1).lowerBound] }
    mutating func u16() throws -> UInt32 { UInt32(be16(bytes, try take(2).lowerBound)) }
    mutating func u32() throws -> UInt32 { be32(bytes, try take(4).lowerBound) }
    mutating func u64() throws -> UInt64 {
        let start = try take(8).lowerBound
        return UInt64(be32(bytes, start)) << 32 | UInt64(be32(bytes, start + 4))
    }
    mutating func fourCC() throws -> FourCC { FourCC(bytes, at: try take(4).lowerBound) }

    /// An unsigned integer of 0, 2, 4 or 8 bytes (iloc's variable-width fields).
    mutating func uint(width: Int) throws -> UInt64 {
        switch width {
        case 0: return 0
        case 2: return UInt64(try u16())
        case 4: return UInt64(try u32())
        case 8: return try u64()
        default: throw FormatError.malformed("\(what) uses a \(width)-byte field (only 0, 4 and 8 are defined)")
        }
    }

    /// A NUL-terminated string (to the end when there is no NUL).
    mutating func cString() -> [UInt8] {
        let start = position
        while position < end, bytes[position] != 0 { position += 1 }
        let text = Array(bytes[start..<position])
        if position < end { position += 1 }
        return text
    }

    mutating func skip(_ count: Int) throws { _ = try take(count) }
}

/// Big-endian writing helpers.
extension Array where Element == UInt8 {
    mutating func appendBE(_ value: UInt64, width: Int) {
        for shift in stride(from: (width - 1) * 8, through: 0, by: -8) {
            append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }
    mutating func appendBE32(_ value: UInt32) { appendBE(UInt64(value), width: 4) }
    mutating func appendBE16(_ value: UInt32) { appendBE(UInt64(value), width: 2) }
}

/// Where one box sits in a byte array: its type, header length and extent.
struct BoxSpan {
    var type: FourCC
    var start: Int
    var headerLength: Int
    var end: Int
    var payload: Range<Int> { (start + headerLength)..<end }
    var usesLargeSize: Bool { headerLength == 16 }

    /// The boxes in `range` of `bytes` (the payload of a container). A box that runs past its parent, a size smaller
    /// than its header, or a size of 0 is malformed: 0 means "to the end of the file", which only the last top-level
    /// box may claim. Read inside a container as "to the end of the parent", it would make a kept box (an `mvhd`)
    /// swallow its siblings — `trak`s, a `udta` with the location — and leave them in the output unparsed.
    static func parse(_ bytes: [UInt8], in range: Range<Int>, parent: String) throws -> [BoxSpan] {
        var boxes: [BoxSpan] = []
        var offset = range.lowerBound
        while offset < range.upperBound {
            guard range.upperBound - offset >= 8 else {
                // QuickTime allows a 32-bit zero terminator at the end of some containers (udta).
                if range.upperBound - offset == 4, be32(bytes, offset) == 0 { break }
                throw FormatError.malformed("\(parent) ends with \(range.upperBound - offset) stray bytes")
            }
            var size = Int64(be32(bytes, offset))
            let type = FourCC(bytes, at: offset + 4)
            var header = 8
            if size == 1 {
                guard range.upperBound - offset >= 16 else {
                    throw FormatError.malformed("box '\(type)' in \(parent) is cut inside its 64-bit size")
                }
                let large = UInt64(be32(bytes, offset + 8)) << 32 | UInt64(be32(bytes, offset + 12))
                guard large <= UInt64(Int64.max) else {
                    throw FormatError.malformed("box '\(type)' in \(parent) claims \(large) bytes")
                }
                size = Int64(large)
                header = 16
            } else if size == 0 {
                throw FormatError.malformed(
                    "box '\(type)' in \(parent) has size 0 (\"to the end of the file\"), which only the last top-level box may have"
                )
            }
            guard size >= Int64(header) else {
                throw FormatError.malformed("box '\(type)' in \(parent) has size \(size), smaller than its header")
            }
            guard size <= Int64(range.upperBound - offset) else {
                throw FormatError.malformed(
                    "box '\(type)' at offset \(offset) in \(parent) runs past its parent (\(size) bytes, \(range.upperBound - offset) left)"
                )
            }
            boxes.append(BoxSpan(type: type, start: offset, headerLength: header, end: offset + Int(size)))
            guard boxes.count <= 1_000_000 else {
                throw FormatError.malformed("\(parent) holds more than a million boxes")
            }
            offset += Int(size)
        }
        return boxes
    }
}

/// A box held in memory that is being rebuilt: its type, its header form, and either raw payload bytes or a prefix
/// (a full box's version and flags, an entry count) followed by child boxes.
struct BoxNode {
    enum Content {
        /// The payload: a slice of the buffer the box was parsed from (no copy) or new bytes.
        case data(ArraySlice<UInt8>)
        case container(prefix: [UInt8], children: [BoxNode])
    }

    var type: FourCC
    var usesLargeSize: Bool
    var content: Content

    init(type: FourCC, usesLargeSize: Bool = false, content: Content) {
        self.type = type
        self.usesLargeSize = usesLargeSize
        self.content = content
    }

    /// A leaf node holding a parsed box's payload (sharing the parsed buffer's storage).
    init(leaf span: BoxSpan, in bytes: [UInt8]) {
        self.init(type: span.type, usesLargeSize: span.usesLargeSize, content: .data(bytes[span.payload]))
    }

    /// A leaf node with new payload bytes.
    init(type: FourCC, usesLargeSize: Bool = false, payload: [UInt8]) {
        self.init(type: type, usesLargeSize: usesLargeSize, content: .data(payload[...]))
    }

    var children: [BoxNode] {
        get {
            if case .container(_, let children) = content { return children }
            return []
        }
        set {
            if case .container(let prefix, _) = content { content = .container(prefix: prefix, children: newValue) }
        }
    }

    /// The encoded length.
    var encodedLength: Int {
        let header = usesLargeSize ? 16 : 8
        switch content {
        case .data(let payload): return header + payload.count
        case .container(let prefix, let children):
            return header + prefix.count + children.reduce(0) { $0 + $1.encodedLength }
        }
    }

    /// Appends the encoded box.
    func encode(into output: inout [UInt8]) {
        let start = output.count
        let large = usesLargeSize || encodedLength > Int(UInt32.max)
        output.append(contentsOf: [0, 0, 0, large ? 1 : 0])
        output.append(contentsOf: type.bytes)
        if large { output.append(contentsOf: [UInt8](repeating: 0, count: 8)) }
        switch content {
        case .data(let payload):
            output.append(contentsOf: payload)
        case .container(let prefix, let children):
            output.append(contentsOf: prefix)
            for child in children { child.encode(into: &output) }
        }
        let size = output.count - start
        if large {
            var field: [UInt8] = []
            field.appendBE(UInt64(size), width: 8)
            output.replaceSubrange((start + 8)..<(start + 16), with: field)
        } else {
            var field: [UInt8] = []
            field.appendBE32(UInt32(size))
            output.replaceSubrange(start..<(start + 4), with: field)
        }
    }

    var encoded: [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(encodedLength)
        encode(into: &output)
        return output
    }

    /// The header of a `free` box `length` bytes long (at least 8; a 64-bit size beyond 4 GiB).
    static func freeHeader(length: Int64) -> [UInt8] {
        var header: [UInt8] = []
        if length > Int64(UInt32.max) {
            header.appendBE32(1)
            header.append(contentsOf: FourCC.free.bytes)
            header.appendBE(UInt64(length), width: 8)
        } else {
            header.appendBE32(UInt32(length))
            header.append(contentsOf: FourCC.free.bytes)
        }
        return header
    }

    /// A `free` box of exactly `length` bytes (at least 8) with a zeroed payload: the footprint of removed bytes.
    static func padding(_ length: Int) -> [UInt8] {
        var bytes = freeHeader(length: Int64(length))
        bytes.append(contentsOf: [UInt8](repeating: 0, count: max(0, length - bytes.count)))
        return bytes
    }
}

/// Recognised `uuid` box kinds.
enum UUIDBox {
    /// XMP in ISO files and QuickTime (Adobe's XMP spec part 3): BE7ACFCB-97A9-42E8-9C71-999491E3AFAC.
    static let xmp: [UInt8] = [
        0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC,
    ]

    static func isXMP(_ payload: ArraySlice<UInt8>) -> Bool { payload.starts(with: xmp) }
}
