import CExif
import Foundation
import MediaFormats

/// Owns one libexif `ExifData` and frees it (`exif_data_unref`) when released. Used by one task at a time.
final class ExifDataHandle {
    let data: UnsafeMutablePointer<ExifData>

    /// An empty block that will be written: libexif's "follow the specification" option is off, so saving does not
    /// add the mandatory tags (resolution, versions, colour space…) that would defeat a minimal EXIF.
    init?() {
        guard let data = exif_data_new() else { return nil }
        exif_data_unset_option(data, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION)
        self.data = data
    }

    /// A block parsed from a TIFF structure. With `forWriting`, the maker note is kept as raw bytes and no tags are
    /// added or dropped on save.
    /// - Returns: `nil` when libexif cannot allocate.
    convenience init?(tiff: [UInt8], forWriting: Bool) {
        self.init()
        if forWriting {
            exif_data_set_option(data, EXIF_DATA_OPTION_DONT_CHANGE_MAKER_NOTE)
            exif_data_unset_option(data, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS)
        }
        // exif_data_load_data expects the "Exif\0\0" header in front of the TIFF structure.
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        guard payload.count <= Int(UInt32.max) else { return nil }
        payload.withUnsafeBufferPointer { buffer in
            exif_data_load_data(data, buffer.baseAddress, UInt32(buffer.count))
        }
    }

    deinit { exif_data_unref(data) }

    /// The content of one IFD.
    func content(_ ifd: ExifIfd) -> UnsafeMutablePointer<ExifContent>? {
        withUnsafePointer(to: &data.pointee.ifd) { tuple in
            tuple.withMemoryRebound(to: UnsafeMutablePointer<ExifContent>?.self, capacity: Int(EXIF_IFD_COUNT.rawValue))
            { $0[Int(ifd.rawValue)] }
        }
    }

    /// An entry, through `exif_content_get_entry` (`exif_data_get_entry` is a macro Swift cannot call).
    func entry(_ tag: ExifTag, in ifd: ExifIfd) -> UnsafeMutablePointer<ExifEntry>? {
        guard let content = content(ifd) else { return nil }
        return exif_content_get_entry(content, tag)
    }

    var byteOrder: ExifByteOrder { exif_data_get_byte_order(data) }

    /// A SHORT value.
    func short(_ tag: ExifTag, in ifd: ExifIfd) -> Int? {
        guard let entry = entry(tag, in: ifd), entry.pointee.format == EXIF_FORMAT_SHORT, entry.pointee.components >= 1,
            entry.pointee.size >= 2, let bytes = entry.pointee.data
        else { return nil }
        return Int(exif_get_short(bytes, byteOrder))
    }

    /// An ASCII value (up to its first NUL).
    func ascii(_ tag: ExifTag, in ifd: ExifIfd) -> String? {
        guard let entry = entry(tag, in: ifd), entry.pointee.format == EXIF_FORMAT_ASCII,
            let bytes = entry.pointee.data, entry.pointee.size > 0
        else {
            return nil
        }
        let buffer = UnsafeBufferPointer(start: bytes, count: Int(entry.pointee.size))
        let text = String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? nil : text
    }

    /// Adds an entry to IFD0 with libexif's defaults for the tag, and returns it.
    func addEntry(_ tag: ExifTag) -> UnsafeMutablePointer<ExifEntry>? {
        guard let ifd0 = content(EXIF_IFD_0), let entry = exif_entry_new() else { return nil }
        exif_content_add_entry(ifd0, entry)
        exif_entry_initialize(entry, tag)
        exif_entry_unref(entry)  // the content holds its own reference
        return entry
    }

    /// Adds an ASCII entry to IFD0.
    func addASCII(_ tag: ExifTag, _ text: String) {
        guard let ifd0 = content(EXIF_IFD_0), let entry = exif_entry_new() else { return }
        let bytes = Array(text.utf8.prefix(4096)) + [0]
        // libexif frees entry data with the allocator of the entry's ExifMem, which for exif_entry_new is malloc/free.
        guard let storage = malloc(bytes.count)?.assumingMemoryBound(to: UInt8.self) else {
            exif_entry_unref(entry)
            return
        }
        storage.initialize(from: bytes, count: bytes.count)
        entry.pointee.tag = tag
        entry.pointee.format = EXIF_FORMAT_ASCII
        entry.pointee.components = UInt(bytes.count)
        entry.pointee.size = UInt32(bytes.count)
        entry.pointee.data = storage
        exif_content_add_entry(ifd0, entry)
        exif_entry_unref(entry)
    }

    /// The block as a TIFF structure (libexif's output minus its `Exif\0\0` header).
    func savedTIFF() -> [UInt8]? {
        var buffer: UnsafeMutablePointer<UInt8>?
        var size: UInt32 = 0
        exif_data_save_data(data, &buffer, &size)
        guard let buffer else { return nil }
        // exif_data_save_data allocates with the data's allocator (malloc); the buffer is ours to free.
        defer { free(buffer) }
        guard size > 6 else { return nil }
        return Array(UnsafeBufferPointer(start: buffer + 6, count: Int(size) - 6))
    }
}

/// The ``MetadataEditor`` stripping uses: libexif for EXIF, zlib for compressed text.
struct LibExifEditor: MetadataEditor {
    func inspect(tiff: [UInt8]) -> EXIFSummary {
        guard tiff.count >= 8, let handle = ExifDataHandle(tiff: tiff, forWriting: false) else { return .unreadable }
        let counts = [EXIF_IFD_0, EXIF_IFD_EXIF, EXIF_IFD_GPS].map { Int(handle.content($0)?.pointee.count ?? 0) }
        let gpsCount = counts[2]
        let orientation = handle.short(EXIF_TAG_ORIENTATION, in: EXIF_IFD_0).flatMap { (1...8).contains($0) ? $0 : nil }
        let gpsCoordinates =
            handle.entry(ExifTag(rawValue: 0x0002), in: EXIF_IFD_GPS) != nil
            || handle.entry(ExifTag(rawValue: 0x0004), in: EXIF_IFD_GPS) != nil
        return EXIFSummary(
            orientation: orientation,
            copyright: handle.ascii(EXIF_TAG_COPYRIGHT, in: EXIF_IFD_0),
            artist: handle.ascii(EXIF_TAG_ARTIST, in: EXIF_IFD_0),
            hasGPS: gpsCoordinates,
            hasGPSDirectory: gpsCount > 0,
            hasMakerNote: handle.entry(EXIF_TAG_MAKER_NOTE, in: EXIF_IFD_EXIF) != nil,
            hasThumbnail: handle.data.pointee.data != nil && handle.data.pointee.size > 0,
            bigEndian: handle.byteOrder == EXIF_BYTE_ORDER_MOTOROLA,
            readable: counts.reduce(0, +) > 0)
    }

    func minimalEXIF(orientation: Int?, copyright: String?, artist: String?, bigEndian: Bool) -> [UInt8]? {
        guard orientation != nil || copyright != nil || artist != nil, let handle = ExifDataHandle() else { return nil }
        exif_data_set_byte_order(handle.data, bigEndian ? EXIF_BYTE_ORDER_MOTOROLA : EXIF_BYTE_ORDER_INTEL)
        if let orientation, (1...8).contains(orientation), let entry = handle.addEntry(EXIF_TAG_ORIENTATION),
            let bytes = entry.pointee.data
        {
            exif_set_short(bytes, handle.byteOrder, ExifShort(orientation))
        }
        if let artist { handle.addASCII(EXIF_TAG_ARTIST, artist) }
        if let copyright { handle.addASCII(EXIF_TAG_COPYRIGHT, copyright) }
        return handle.savedTIFF()
    }

    func removingGPS(tiff: [UInt8]) -> [UInt8]? {
        guard let handle = ExifDataHandle(tiff: tiff, forWriting: true), let gps = handle.content(EXIF_IFD_GPS) else {
            return nil
        }
        while gps.pointee.count > 0, let first = gps.pointee.entries?[0] {
            exif_content_remove_entry(gps, first)
        }
        guard let saved = handle.savedTIFF(), inspect(tiff: saved).hasGPSDirectory == false else { return nil }
        return saved
    }

    func inflate(_ data: [UInt8], cap: Int) -> [UInt8]? {
        Inflate.inflate(data, cap: cap)
    }
}
