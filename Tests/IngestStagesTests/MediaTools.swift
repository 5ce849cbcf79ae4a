import Foundation
import Synchronization
import Testing
import TestSupport

/// Independent readers of HEIF and video files: libheif's `heif-convert` and FFmpeg (`ffmpeg`, `ffprobe`), both
/// installed by `.ci/run` (Debian's `libheif-examples` and `ffmpeg`).
enum MediaTools {
    /// The decoded pixels of every image `heif-convert` writes for a HEIF file (one PNG per top-level image), as
    /// `name: sha256` of each PNG's IHDR and inflated IDAT: heif-convert copies EXIF/XMP into its PNGs, so whole
    /// files differ even when the pixels do not.
    static func heifPixels(_ path: String) throws -> [String] {
        // Decoding an 8-megapixel grid takes seconds: the same bytes are decoded once per test run.
        let key = try sha256sum(path)
        if let known = decoded.withLock({ $0[key] }) { return known }
        let pixels = try decodeHEIF(path)
        decoded.withLock { $0[key] = pixels }
        return pixels
    }

    private static let decoded = Mutex<[String: [String]]>([:])

    private static func decodeHEIF(_ path: String) throws -> [String] {
        let script = """
            import sys, struct, zlib, hashlib, glob, os, subprocess, tempfile
            out = tempfile.mkdtemp()
            result = subprocess.run(['heif-convert', sys.argv[1], os.path.join(out, 'image.png')], capture_output=True)
            if result.returncode != 0:
                print('undecodable: ' + result.stderr.decode(errors='replace').strip().replace('\\n', ' ')); sys.exit()
            for png in sorted(glob.glob(os.path.join(out, '*.png'))):
                data = open(png, 'rb').read(); i = 8; ihdr = b''; idat = b''
                while i + 8 <= len(data):
                    n, kind = struct.unpack('>I4s', data[i:i + 8])
                    if kind == b'IHDR': ihdr = data[i + 8:i + 8 + n]
                    if kind == b'IDAT': idat += data[i + 8:i + 8 + n]
                    i += 12 + n
                print(os.path.basename(png) + ': ' + hashlib.sha256(ihdr + zlib.decompress(idat)).hexdigest())
            """
        let result = try runProcess("/usr/bin/env", ["python3", "-c", script, path])
        return result.stdout.split(separator: "\n").map(String.init)
    }

    /// `ffmpeg -map 0:v? -map 0:a? -c copy -f framemd5`: one hash per audio and video packet, and what ffmpeg
    /// complained about (nothing, for a well-formed file).
    static func packetHashes(_ path: String) throws -> (hashes: [String], errors: String) {
        let result = try runProcess("/usr/bin/ffmpeg", ["-nostdin", "-v", "error", "-i", path, "-map", "0:v?", "-map", "0:a?", "-c", "copy", "-f", "framemd5", "-"])
        return (result.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init), result.stderr)
    }

    /// The audio and video streams `ffprobe` sees: codec, size, duration and rotation, one line each.
    static func streams(_ path: String) throws -> [String] {
        let result = try runProcess("/usr/bin/ffprobe", [
            "-v", "error", "-show_entries", "stream=index,codec_type,codec_name,duration,width,height:stream_side_data=rotation", "-of", "compact", path,
        ])
        // Side data (the rotation) is printed on the stream's line after "side_data".
        return result.stdout.split(separator: "\n").map(String.init).filter { $0.contains("codec_type=video") || $0.contains("codec_type=audio") }
    }

    /// The stream kinds ffprobe reports (`video`, `audio`, `data`…).
    static func streamKinds(_ path: String) throws -> [String] {
        let result = try runProcess("/usr/bin/ffprobe", ["-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", path])
        // Side data (a video's rotation) adds a comma and an empty line after the stream's own.
        return result.stdout.split(separator: "\n").map { String($0.prefix { $0 != "," }) }.filter { !$0.isEmpty }
    }

    /// GIF frames as ffmpeg decodes them (one hash per frame).
    static func gifFrames(_ path: String) throws -> [String] {
        let result = try runProcess("/usr/bin/ffmpeg", ["-nostdin", "-v", "error", "-i", path, "-f", "framemd5", "-"])
        return result.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }

    /// Binary blobs exiftool extracts from a file (`-b -EXIF`, `-b -XMP`): the payloads a stripper must remove.
    static func exiftoolBlob(_ tag: String, _ path: String) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/exiftool")
        process.arguments = ["-b", "-" + tag, path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = drain(pipe.fileHandleForReading)
        process.waitUntilExit()
        return Array(data)
    }
}

/// `true` when `needle` occurs in `haystack`.
func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    return Data(haystack).range(of: Data(needle)) != nil
}

/// 32-byte windows spread over `blob` (at most 16): if a stripped file holds none of them, it holds no recognisable
/// piece of the payload.
func windows(of blob: [UInt8]) -> [[UInt8]] {
    guard blob.count >= 48 else { return blob.count >= 16 ? [blob] : [] }
    let step = max(1, (blob.count - 32) / 16)
    return stride(from: 0, to: blob.count - 32, by: step).map { Array(blob[$0..<($0 + 32)]) }
}

/// Tags that reveal privacy metadata left in phone media: GPS anywhere, EXIF, maker notes, XMP, QuickTime keys and
/// user data, iTunes items, timed metadata (detected faces), make/model/software/serials.
func phoneLeftovers(_ tags: [String: Any]) -> [String] {
    tags.keys.filter { key in
        let lowered = key.lowercased()
        let name = key.split(separator: ":").last.map(String.init) ?? key
        return lowered.contains("gps") || lowered.contains("location") || key.hasPrefix("EXIF:") || key.hasPrefix("MakerNotes:") || key.hasPrefix("XMP")
            || key.hasPrefix("QuickTime:Keys:") || key.hasPrefix("QuickTime:UserData:") || key.hasPrefix("QuickTime:ItemList:")
            || name.hasPrefix("DetectedFace") || ["Make", "Model", "Software", "SerialNumber", "ContentIdentifier", "CreationDate", "Comment"].contains(name)
    }.sorted()
}
