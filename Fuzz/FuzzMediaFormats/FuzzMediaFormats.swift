import MediaFormats

/// A metadata editor for fuzzing the container parsers on their own. Its answers are derived from the bytes it
/// is given, so the fuzzer reaches every branch of the strippers (orientation found or not, GPS present or not,
/// rewrites that succeed or fail) without running libexif; libexif is exercised by the corpus tests instead.
struct FuzzEditor: MetadataEditor {
    func inspect(tiff: [UInt8]) -> EXIFSummary {
        guard tiff.count >= 8 else { return .unreadable }
        let flags = tiff[tiff.count / 2]
        return EXIFSummary(
            orientation: Int(flags % 9) == 0 ? nil : Int(flags % 9), copyright: flags & 0x10 != 0 ? "c" : nil,
            artist: nil,
            hasGPS: flags & 0x20 != 0, hasGPSDirectory: flags & 0x40 != 0, hasMakerNote: flags & 0x80 != 0,
            hasThumbnail: false,
            bigEndian: tiff[0] == 0x4D, readable: flags & 0x01 == 0)
    }

    func minimalEXIF(orientation: Int?, copyright: String?, artist: String?, bigEndian: Bool) -> [UInt8]? {
        guard let orientation else { return nil }
        return [
            0x4D, 0x4D, 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08, 0x00, 0x01, 0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,
            0x00, UInt8(orientation), 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ]
    }

    func removingGPS(tiff: [UInt8]) -> [UInt8]? { tiff.count % 3 == 0 ? nil : Array(tiff.prefix(tiff.count / 2)) }

    func inflate(_ data: [UInt8], cap: Int) -> [UInt8]? { data.count % 2 == 0 ? Array(data.prefix(cap)) : nil }
}

/// Runs every parser over one input. Errors are fine; crashes, hangs and sanitizer reports are bugs.
func exercise(_ bytes: [UInt8]) {
    _ = try? ImageHeaders.inspect(MemoryBytes(bytes), deep: false)
    _ = try? ImageHeaders.inspect(MemoryBytes(bytes), deep: true)
    _ = try? ContentChecks.zipDocumentType(MemoryBytes(bytes))
    _ = ContentChecks.decodeText(Array(bytes.prefix(4096)), truncated: true)
    // The SVG/XML checks read text: as UTF-8 (replacing what is not) and byte for byte (Latin-1).
    _ = SVGSafety.problem(in: String(decoding: bytes, as: UTF8.self))
    _ = SVGSafety.problem(in: String(String.UnicodeScalarView(bytes.map { UnicodeScalar($0) })))
    for mode in StripPolicy.Mode.allCases {
        var input = BufferedInput(MemoryReader(bytes), capacity: 64)
        var output = MemoryWriter()
        _ = try? MetadataStripper.strip(&input, to: &output, policy: StripPolicy(mode: mode), editor: FuzzEditor())
    }
    // The same input as each format's body, so the fuzzer need not discover the signatures first.
    for signature in [[0xFF, 0xD8], PNG.signature, Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBP".utf8), Array("GIF89a".utf8)]
        as [[UInt8]]
    {
        var input = BufferedInput(MemoryReader(signature + bytes), capacity: 64)
        var output = MemoryWriter()
        _ = try? MetadataStripper.strip(&input, to: &output, policy: StripPolicy(), editor: FuzzEditor())
    }
    // ISO base media: as it is, and after an ftyp box of a HEIF and of a QuickTime movie.
    let ftyp: ([UInt8]) -> [UInt8] = { brand in [0, 0, 0, 16] + Array("ftyp".utf8) + brand + [0, 0, 0, 0] }
    for candidate in [bytes, ftyp(Array("heic".utf8)) + bytes, ftyp(Array("qt  ".utf8)) + bytes] {
        for mode in StripPolicy.Mode.allCases {
            let source = MemoryBytes(candidate)
            guard
                let (plan, report) = try? MetadataStripper.plan(
                    source, policy: StripPolicy(mode: mode, keepCopyright: true), editor: FuzzEditor())
            else { continue }
            var output = MemoryWriter()
            var observed = 0
            try? plan.write(from: source, to: &output, observe: { observed += $0.count })
            // The plan's own arithmetic must hold: what it says it writes, it writes, and every source byte is seen once.
            precondition(
                output.count == plan.outputLength && report.bytesOut == plan.outputLength, "plan length mismatch")
            precondition(observed == candidate.count, "source bytes not observed exactly once")
        }
    }
}

#if FUZZING
/// libFuzzer's entry point (built with `-sanitize=fuzzer,address -DFUZZING`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    exercise(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// SwiftPM links executables with `main` aliased to `<target>_main`; hand control to libFuzzer's driver from there.
@_cdecl("fuzz_media_formats_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzTestOneInput(data, size) }
}
#else
import Foundation

/// Replays inputs (files, or every file under folders) through the parsers: the corpus regression run CI does,
/// and the way to reproduce a crash libFuzzer found.
@main
struct Replay {
    static func main() throws {
        var count = 0
        for argument in CommandLine.arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else { continue }
            let files =
                isDirectory.boolValue
                ? (FileManager.default.enumerator(atPath: argument)?.compactMap { $0 as? String }.map {
                    argument + "/" + $0
                } ?? [])
                : [argument]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                exercise(Array(data))
                count += 1
            }
        }
        print("replayed \(count) inputs")
    }
}
#endif
