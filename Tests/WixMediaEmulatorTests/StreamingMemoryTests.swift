import Foundation
import TestSupport
import Testing

@Suite("wix-media-emulator: streaming")
struct EmulatorStreamingTests {
    /// Runs the real `wix-media-emulator` executable and streams a large PUT into it with curl (chunked, no
    /// Content-Length), then reads the server's peak RSS (VmHWM) from /proc. The body size defaults to 512 MiB;
    /// `EMULATOR_RSS_BYTES=2147483648` reproduces the 2 GiB measurement quoted in the README.
    @Test("a large streamed PUT never buffers the body: emulator peak RSS stays under 100 MiB")
    func largePutMemory() async throws {
        let bytes = Int64(ProcessInfo.processInfo.environment["EMULATOR_RSS_BYTES"] ?? "") ?? 512 << 20
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("emulator-rss-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let port = 20_000 + Int.random(in: 0..<20_000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: builtProduct("wix-media-emulator"))
        server.arguments = ["--port", String(port), "--data", data, "--log-level", "warning"]
        server.standardOutput = FileHandle.nullDevice
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let base = "http://127.0.0.1:\(port)"
        var ready = false
        for _ in 0..<100 where !ready {
            ready =
                (try? await runProcessAsync("/usr/bin/curl", ["-sf", base + "/_emulator/health"], timeout: 5).status)
                == 0
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(ready)
        let script = """
            set -euo pipefail
            url=$(curl -sf -X POST "$1/site-media/v1/files/generate-upload-url" -H 'Authorization: emulator-api-key' \
              -H 'wix-site-id: emulator-site-id' -H 'Content-Type: application/json' -d '{"mimeType":"application/zip","fileName":"big.zip"}' \
              | python3 -c 'import json,sys; print(json.load(sys.stdin)["uploadUrl"])')
            head -c "$2" /dev/zero | curl -sf -X PUT "$url?filename=big.zip" -H 'Content-Type: application/zip' -T - \
              | python3 -c 'import json,sys; print(json.load(sys.stdin)["file"]["sizeInBytes"])'
            """
        // Minutes of upload: waited for off the Swift concurrency pool, which timing-sensitive suites share.
        let upload = try await runProcessAsync(
            "/bin/bash", ["-c", script, "upload", base, String(bytes)], timeout: 600)
        #expect(upload.status == 0, "\(upload.stderr)")
        #expect(upload.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == String(bytes))
        let status = try String(contentsOfFile: "/proc/\(server.processIdentifier)/status", encoding: .utf8)
        let peakKiB =
            Int(
                status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }?.split(separator: " ").dropFirst().first
                    ?? "") ?? .max
        print("emulator peak RSS after a \(bytes)-byte PUT: \(peakKiB / 1024) MiB")
        #expect(peakKiB < 100 * 1024)
    }
}
