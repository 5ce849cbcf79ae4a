import Foundation
import TestSupport
import Testing

@testable import IngestStages

/// `MagicWorker.classify` skips libmagic's text-encoding pass for buffers that cannot be text; these tests hold it
/// to giving exactly libmagic's plain answer.
@Suite("libmagic binary shortcut")
struct MagicShortcutTests {
    /// Every corpus file (images, documents, video, adversarial), as detect.mime reads it: the first 64 KiB.
    @Test("same answer as plain libmagic on every corpus file")
    func corpus() throws {
        let worker = try MagicWorker()
        let files = try FileManager.default.subpathsOfDirectory(atPath: Corpus.root).filter {
            !$0.hasSuffix(".md") && !$0.hasSuffix(".tsv")
        }
        .map { Corpus.path($0) }.filter {
            (try? FileManager.default.attributesOfItem(atPath: $0)[.type] as? FileAttributeType) == .typeRegular
        }
        #expect(files.count > 100)
        var shortcuts = 0
        for path in files {
            let head = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)).prefix(65_536))
            try head.withUnsafeBytes { bytes in
                let plain = try worker.classifyWithoutShortcut(bytes)
                let fast = try worker.classify(bytes)
                #expect(fast == plain, "\(path)")
                if MagicWorker.isCertainlyBinary(bytes, encodingLimit: 65_536) { shortcuts += 1 }
            }
        }
        // Most corpus files are binary media: the shortcut is taken, not merely harmless.
        #expect(shortcuts > files.count / 2, "\(shortcuts) of \(files.count)")
    }

    /// Buffers built to sit on the edges: text with one NUL, byte-order marks, NUL only past the encoding limit,
    /// text-looking prefixes of binary formats, random bytes.
    @Test("same answer as plain libmagic on edge and random buffers")
    func edges() throws {
        let worker = try MagicWorker()
        var generator = SplitMix64(seed: 0x5EED)
        var buffers: [[UInt8]] = []
        let text = Array(
            "name,size,date\nphoto.jpg,1234,2024-01-01\n#!/bin/sh\necho hello\n<?xml version=\"1.0\"?><svg/>\n".utf8)
        for nulAt in [0, 1, 5, text.count / 2, text.count - 1] {
            var buffer = text
            buffer[nulAt] = 0
            buffers.append(buffer)
        }
        buffers.append([0xFF, 0xFE] + Array("h\0i\0 \0t\0h\0e\0r\0e\0".utf8))  // UTF-16LE with BOM: text despite NULs
        buffers.append([0xFE, 0xFF] + Array("\0h\0i\0 \0t\0h\0e\0r\0e".utf8))  // UTF-16BE
        buffers.append([0xFF, 0xFE, 0, 0] + Array("h\0\0\0i\0\0\0".utf8))  // UTF-32LE
        buffers.append([0, 0, 0xFE, 0xFF] + Array("\0\0\0h\0\0\0i".utf8))  // UTF-32BE
        buffers.append([0xEF, 0xBB, 0xBF] + Array("caf\u{E9}\0 au lait\n".utf8))  // UTF-8 BOM, then a NUL
        buffers.append(Array(repeating: UInt8(ascii: "a"), count: 70_000) + [0])  // NUL past the 64 KiB pass
        buffers.append(Array("#!/usr/bin/env python3\nprint(1)\n".utf8) + [0, 1, 2])
        buffers.append(Array("%PDF-1.4\n".utf8) + [0])
        buffers.append(Array("{\"a\": 1}".utf8) + [0])
        buffers.append([0, 0])
        buffers.append([0x00, 0x41])
        for _ in 0..<1_500 {
            let count = Int(generator.next() % 4_096) + 2
            var buffer = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            // Half of them mostly text, with the odd control byte.
            if generator.next() % 2 == 0 {
                buffer = buffer.map { $0 % 7 == 0 ? $0 % 3 : 0x20 + $0 % 0x5F }
            }
            buffers.append(buffer)
        }
        for buffer in buffers {
            let (fast, plain) = try buffer.withUnsafeBytes { bytes in
                (try worker.classify(bytes), try worker.classifyWithoutShortcut(bytes))
            }
            #expect(fast == plain, "\(buffer.prefix(16))")
        }
        let utf16: [UInt8] = [0xFF, 0xFE, 0x41, 0]
        utf16.withUnsafeBytes { #expect(!MagicWorker.isCertainlyBinary($0, encodingLimit: 65_536)) }
        let late = Array(repeating: UInt8(ascii: "a"), count: 70_000) + [0]
        late.withUnsafeBytes { #expect(!MagicWorker.isCertainlyBinary($0, encodingLimit: 65_536)) }
    }
}

/// A small, seeded generator (the tests must be repeatable).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
