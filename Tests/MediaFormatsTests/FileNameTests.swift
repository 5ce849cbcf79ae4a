import MediaFormats
import Testing

@Suite("file names as bytes")
struct FileNameTests {
    @Test("every byte string maps to one String and back, escape-range UTF-8 and invalid bytes included")
    func bijection() {
        var generator = SystemRandomNumberGenerator()
        let pieces: [[UInt8]] = [
            Array("café".utf8), [0xE9], [0xC3], [0xFF, 0xFE], [0xF4, 0x8F, 0xBF, 0xA9], [0xF4, 0x8F, 0xBE, 0x80],
            [0xED, 0xA0, 0x80], [0xC0, 0xAF], Array("/".utf8), Array("a".utf8), [0xF0, 0x9F, 0x98, 0x80],
        ]
        var seen: [String: [UInt8]] = [:]
        for _ in 0..<5_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...6, using: &generator) {
                bytes += pieces.randomElement(using: &generator)!
            }
            let name = FileName.decode(bytes)
            #expect(FileName.bytes(name) == bytes, "\(bytes)")
            if let earlier = seen[name] { #expect(earlier == bytes, "two byte strings share \(name)") }
            seen[name] = bytes
        }
        #expect(FileName.decode(Array("café.jpg".utf8)) == "café.jpg", "valid UTF-8 is itself")
        #expect(FileName.presentable(FileName.decode(Array("caf".utf8) + [0xE9])) == "café")
    }
}
