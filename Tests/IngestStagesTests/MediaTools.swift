import Foundation
import PipelineTesting
import Synchronization
import TestSupport
import Testing

/// Independent readers of HEIF and video files: libheif's `heif-convert` and FFmpeg (`ffmpeg`, `ffprobe`), both
/// installed by `.ci/run` (Debian's `libheif-examples` and `ffmpeg`), and exiftool. Every call runs the tool without
/// blocking a thread of the Swift concurrency pool (decoding an 8-megapixel HEIC takes seconds; on two cores a
/// blocked pool starves every other suite).
enum MediaTools {
    /// `exiftool -j -G0:1 -a -n -b` (and `extra`) over many files, keyed by path.
    static func tags(_ paths: [String], extra: [String] = []) async throws -> [String: [String: Any]] {
        guard !paths.isEmpty else { return [:] }
        let result = try await runProcessAsync(
            "/usr/bin/exiftool", ["-j", "-G0:1", "-a", "-n", "-b", "-ICC_Profile", "-all"] + extra + paths)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        var byPath: [String: [String: Any]] = [:]
        for row in rows { if let file = row["SourceFile"] as? String { byPath[file] = row } }
        return byPath
    }

    /// The decoded pixels of every image `heif-convert` writes for a HEIF file (one PNG per top-level image), as
    /// `name: sha256` of each PNG's IHDR and inflated IDAT: heif-convert copies EXIF/XMP into its PNGs, so whole
    /// files differ even when the pixels do not.
    static func heifPixels(_ path: String) async throws -> [String] {
        // Decoding an 8-megapixel grid takes seconds: the same bytes are decoded once per test run.
        let key = String(try await runProcessAsync("/usr/bin/sha256sum", [path]).stdout.prefix(64))
        if let known = decoded.withLock({ $0[key] }) { return known }
        let pixels = try await decodeHEIF(path)
        decoded.withLock { $0[key] = pixels }
        return pixels
    }

    private static let decoded = Mutex<[String: [String]]>([:])

    private static func decodeHEIF(_ path: String) async throws -> [String] {
        let script = """
            import sys, struct, zlib, hashlib, glob, os, subprocess, tempfile
            with tempfile.TemporaryDirectory() as out:
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
        let result = try await runProcessAsync("/usr/bin/env", ["python3", "-c", script, path])
        return result.stdout.split(separator: "\n").map(String.init)
    }

    /// `ffmpeg -map 0:v? -map 0:a? -c copy -f framemd5`: one hash per audio and video packet, and what ffmpeg
    /// complained about (nothing, for a well-formed file).
    static func packetHashes(_ path: String) async throws -> (hashes: [String], errors: String) {
        let result = try await runProcessAsync(
            "/usr/bin/ffmpeg",
            [
                "-nostdin", "-v", "error", "-i", path, "-map", "0:v?", "-map", "0:a?", "-c", "copy", "-f", "framemd5",
                "-",
            ])
        return (result.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init), result.stderr)
    }

    /// The audio and video streams `ffprobe` sees: codec, size, duration and rotation, one line each.
    static func streams(_ path: String) async throws -> [String] {
        let result = try await runProcessAsync(
            "/usr/bin/ffprobe",
            [
                "-v", "error", "-show_entries",
                "stream=index,codec_type,codec_name,duration,width,height:stream_side_data=rotation", "-of", "compact",
                path,
            ])
        // Side data (the rotation) is printed on the stream's line after "side_data".
        return result.stdout.split(separator: "\n").map(String.init).filter {
            $0.contains("codec_type=video") || $0.contains("codec_type=audio")
        }
    }

    /// The stream kinds ffprobe reports (`video`, `audio`, `data`…).
    static func streamKinds(_ path: String) async throws -> [String] {
        let result = try await runProcessAsync(
            "/usr/bin/ffprobe", ["-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", path])
        // Side data (a video's rotation) adds a comma and an empty line after the stream's own.
        return result.stdout.split(separator: "\n").map { String($0.prefix { $0 != "," }) }.filter { !$0.isEmpty }
    }

    /// GIF frames as ffmpeg decodes them (one hash per frame).
    static func gifFrames(_ path: String) async throws -> [String] {
        let result = try await runProcessAsync(
            "/usr/bin/ffmpeg", ["-nostdin", "-v", "error", "-i", path, "-f", "framemd5", "-"])
        return result.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
    }

    /// Binary blobs exiftool extracts from a file (`-b -EXIF`, `-b -XMP`): the payloads a stripper must remove.
    static func exiftoolBlob(_ tag: String, _ path: String) async throws -> [UInt8] {
        // Binary output through a file: the pipe helpers collect text.
        let directory = TemporaryDirectory()
        let out = directory.file("blob.bin")
        _ = try await runProcessAsync("/bin/sh", ["-c", "exiftool -b -\(tag) \"$1\" > \"$2\"", "sh", path, out])
        return Array((try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data())
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
        return lowered.contains("gps") || lowered.contains("location") || key.hasPrefix("EXIF:")
            || key.hasPrefix("MakerNotes:") || key.hasPrefix("XMP")
            || key.hasPrefix("QuickTime:Keys:") || key.hasPrefix("QuickTime:UserData:")
            || key.hasPrefix("QuickTime:ItemList:")
            || name.hasPrefix("DetectedFace")
            || ["Make", "Model", "Software", "SerialNumber", "ContentIdentifier", "CreationDate", "Comment"].contains(
                name)
    }.sorted()
}
