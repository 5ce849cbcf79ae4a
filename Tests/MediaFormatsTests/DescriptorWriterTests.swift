import Foundation
import Glibc
import MediaFormats
import Testing

/// The buffered writer the strippers write work files through: the file must hold exactly what was written and patched,
/// whether a patch lands in the buffer or in bytes already flushed.
@Suite("DescriptorWriter")
struct DescriptorWriterTests {
    func withTemporaryFile(_ body: (Int32, String) throws -> Void) throws -> [UInt8] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("writer-\(UUID().uuidString)").path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(descriptor >= 0)
        defer {
            close(descriptor)
            unlink(path)
        }
        try body(descriptor, path)
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test("small spans, large spans and patches in and out of the buffer")
    func mixedWrites() throws {
        var expected: [UInt8] = []
        var random = SystemRandomNumberGenerator()
        let file = try withTemporaryFile { descriptor, path in
            var writer = DescriptorWriter(descriptor: descriptor, path: path, capacity: 1000)
            for round in 0..<400 {
                let length = round % 37 == 0 ? 2500 : Int.random(in: 0...90, using: &random)
                let chunk = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
                try writer.write(chunk)
                expected += chunk
                if round % 50 == 49 {
                    // A patch near the start (flushed long ago) and one at the end (still buffered).
                    let early = Int.random(in: 0..<(expected.count - 4), using: &random)
                    try writer.patch(at: Int64(early), [1, 2, 3, 4])
                    expected.replaceSubrange(early..<(early + 4), with: [1, 2, 3, 4])
                    let late = expected.count - 3
                    try writer.patch(at: Int64(late), [9, 9, 9])
                    expected.replaceSubrange(late..<(late + 3), with: [9, 9, 9])
                }
            }
            #expect(writer.count == Int64(expected.count))
            try writer.flush()
        }
        #expect(file == expected)
    }

    @Test("nothing reaches the file before flush when it fits the buffer")
    func buffersUntilFlush() throws {
        let file = try withTemporaryFile { descriptor, path in
            var writer = DescriptorWriter(descriptor: descriptor, path: path, capacity: 64)
            try writer.write([1, 2, 3])
            var info = stat()
            fstat(descriptor, &info)
            #expect(info.st_size == 0)
            try writer.flush()
            fstat(descriptor, &info)
            #expect(info.st_size == 3)
        }
        #expect(file == [1, 2, 3])
    }
}

@Suite("XMP GPS search")
struct XMPGPSTests {
    @Test("finds the four GPS property names with or without a namespace prefix, and nothing else")
    func hasGPS() {
        #expect(XMP.hasGPS(#"<rdf:Description exif:GPSLatitude="10,56.8N"/>"#))
        #expect(XMP.hasGPS("<drone-dji:GPSLongitude>+13.1</drone-dji:GPSLongitude>"))
        #expect(XMP.hasGPS("<Iptc4xmpExt:GPSAltitude>12</Iptc4xmpExt:GPSAltitude>"))
        #expect(XMP.hasGPS("GPSCoordinates"))
        #expect(XMP.hasGPS("xxGPSLatitud GPSLatitude"))
        #expect(!XMP.hasGPS(#"<rdf:Description exif:GPSVersionID="2.3.0.0" exif:GPSLatitud="x"/>"#))
        #expect(!XMP.hasGPS(""))
        #expect(!XMP.hasGPS("GPS"))
        #expect(XMP.hasGPS("é GPSAltitude ü"))
    }
}
