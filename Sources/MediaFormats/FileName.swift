import Glibc

/// File names are bytes on Linux; a path is a `String` everywhere in MediaIngest. This is the one mapping between the
/// two, so a name that is not UTF-8 (`café` in Latin-1 from an old camera card or an SMB share) is listed, read,
/// recorded, archived and reported like any other, and the same file is found again by the next run.
///
/// A name's valid UTF-8 stays as it is. Each byte that is not part of valid UTF-8 becomes the scalar U+10FF00 + the
/// byte (U+10FF80–U+10FFFF, the end of the last private-use plane: no camera or operating system writes them), as
/// Python's `surrogateescape` does with lone surrogates, which a Swift `String` cannot hold. A name that really
/// contains one of those scalars has its UTF-8 bytes escaped one by one too, so the mapping is a bijection: every
/// byte string has exactly one `String`, and ``withPlatformPath(_:_:)`` gives the same bytes back.
///
/// Where the escapes show:
/// - the ledger keys a file by this `String` — by its bytes, since the mapping is one to one;
/// - ``DisplayText`` shows an escaped byte as `\xe9` (logs, the terminal, the human report);
/// - JSON outputs write it as the surrogate pair `\udbff\udfe9` (``SafeJSON``): ASCII, valid JSON, and reversible
///   (subtract U+10FF00);
/// - names sent to a media library use ``presentable(_:)``: the bytes read as Latin-1, so `café` arrives as `café`.
public enum FileName {
    /// The first scalar of the escape range: U+10FF00 + byte, for the bytes 0x80–0xFF.
    static let escapeBase: UInt32 = 0x10FF00

    /// Whether a scalar stands for one raw byte of a name.
    @inlinable
    public static func isEscapedByte(_ scalar: Unicode.Scalar) -> Bool { scalar.value >= 0x10FF80 }

    /// The raw byte an escape-range scalar stands for, or `nil` for any other scalar.
    @inlinable
    public static func escapedByte(_ scalar: Unicode.Scalar) -> UInt8? {
        isEscapedByte(scalar) ? UInt8(truncatingIfNeeded: scalar.value - 0x10FF00) : nil
    }

    /// The `String` for a name's or path's bytes.
    public static func decode(_ bytes: some Collection<UInt8>) -> String {
        // Fast path, no copy: valid UTF-8 with no escape-range scalar (all but a handful of real names; the UTF-8 of
        // such a scalar starts with 0xF4, so most names need no scalar scan at all).
        if let text = String(validating: bytes, as: UTF8.self),
            !bytes.contains(0xF4) || !text.unicodeScalars.contains(where: isEscapedByte)
        {
            return text
        }
        let array = Array(bytes)
        var scalars = String.UnicodeScalarView()
        var index = 0
        while index < array.count {
            if let (scalar, length) = scalarAt(array, index), !isEscapedByte(scalar) {
                scalars.append(scalar)
                index += length
            } else {
                let byte = array[index]
                // ASCII bytes are always valid UTF-8; only 0x80–0xFF reach here.
                scalars.append(Unicode.Scalar(escapeBase + UInt32(byte))!)
                index += 1
            }
        }
        return String(scalars)
    }

    /// The `String` for a NUL-terminated C name (`d_name`, `realpath`'s result, an inotify record).
    public static func decode(cString: UnsafePointer<CChar>) -> String {
        decode(UnsafeRawBufferPointer(start: cString, count: strlen(cString)))
    }

    /// The bytes a path stands for.
    public static func bytes(_ path: String) -> [UInt8] {
        guard path.unicodeScalars.contains(where: isEscapedByte) else { return Array(path.utf8) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(path.utf8.count)
        for scalar in path.unicodeScalars {
            if let byte = escapedByte(scalar) {
                bytes.append(byte)
            } else {
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        return bytes
    }

    /// Calls `body` with the path as the C string the kernel should see (its original bytes).
    public static func withPlatformPath<R>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        guard path.unicodeScalars.contains(where: isEscapedByte) else { return try path.withCString(body) }
        var bytes = Self.bytes(path)
        bytes.append(0)
        return try bytes.withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    /// A name fit to show in a media library: escaped bytes read as Latin-1 (ISO 8859-1), which is what a name that
    /// is not UTF-8 most often is; everything else unchanged.
    public static func presentable(_ name: String) -> String {
        guard name.unicodeScalars.contains(where: isEscapedByte) else { return name }
        var scalars = String.UnicodeScalarView()
        for scalar in name.unicodeScalars {
            scalars.append(escapedByte(scalar).map(Unicode.Scalar.init) ?? scalar)
        }
        return String(scalars)
    }

    /// The scalar encoded at `index` and its length, or `nil` when the bytes there are not valid UTF-8.
    private static func scalarAt(_ bytes: [UInt8], _ index: Int) -> (Unicode.Scalar, Int)? {
        let lead = bytes[index]
        let length: Int
        switch lead {
        case 0x00...0x7F: return (Unicode.Scalar(lead), 1)
        case 0xC2...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        return String(validating: bytes[index..<index + length], as: UTF8.self).map {
            ($0.unicodeScalars.first!, length)
        }
    }
}
