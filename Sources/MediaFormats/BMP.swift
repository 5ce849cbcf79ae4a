/// BMP: the file header and the DIB header that follows it.
enum BMP {
    static func inspect(_ source: some ByteSource) throws -> ImageInfo {
        let header = try source.exactly(26, at: 0, "the BMP header")
        let dibSize = le32(header, 14)
        if dibSize == 12 {
            return ImageInfo(format: .bmp, size: ImageSize(width: le16(header, 18), height: le16(header, 20)))
        }
        guard dibSize >= 40 else { throw FormatError.malformed("BMP header size \(dibSize) is not a known DIB header") }
        let more = try source.exactly(4, at: 22, "the BMP header")
        let width = Int(Int32(bitPattern: le32(header, 18)))
        let height = Int(Int32(bitPattern: le32(more, 0)))
        return ImageInfo(format: .bmp, size: ImageSize(width: abs(width), height: abs(height)))
    }
}
