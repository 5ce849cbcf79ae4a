import Foundation
import TestSupport
import Testing

@Suite("notify.webhook")
struct WebhookTests {
    /// A receiver in Python's standard library: answers the first POST 503 (to exercise the retry), the rest 200,
    /// and appends each body as one line to a file.
    static let receiver = """
        import http.server, sys
        out, hits = sys.argv[2], [0]
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers['Content-Length']))
                hits[0] += 1
                if hits[0] == 1:
                    self.send_response(503); self.send_header('Content-Length', '0'); self.end_headers(); return
                with open(out, 'ab') as f: f.write(body + b'\\n')
                self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers()
            def log_message(self, *a): pass
        http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
        """

    @Test("a run summary is POSTed as JSON (retried after a 503), with counts and the rejected files")
    func runSummary() async throws {
        let project = try makeProject(files: ["images/png/iccp.png", "adversarial/zero_bytes.jpg"])
        let port = 30_000 + Int.random(in: 0..<20_000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-c", Self.receiver, String(port), project.file("hooks.jsonl")]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        // SIGKILL: the test runner ignores SIGTERM, and children inherit ignored signals.
        defer { kill(server.processIdentifier, SIGKILL) }
        try await Task.sleep(for: .milliseconds(500))
        try project.write(
            "pipelines/hook.json",
            """
            {"stages": [{"kind": "source.directory", "with": {"path": "inbox"}},
                        {"kind": "detect.mime"}, {"kind": "validate"},
                        {"kind": "upload.library", "with": {"path": "library"}},
                        {"kind": "notify.webhook", "with": {"url": "http://127.0.0.1:\(port)/hook", "bearerToken": "${HOOK_TOKEN}"}}]}
            """)
        let result = try await runProcessAsync(
            ingest, ["run", "hook"], environment: ["HOOK_TOKEN": "t0ken"], currentDirectory: project.path)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let lines = try String(contentsOfFile: project.file("hooks.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1, "one summary per run, delivered on the second attempt")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(summary["pipeline"] as? String == "hook")
        #expect((summary["counts"] as? [String: Int])?["done"] == 1)
        #expect((summary["counts"] as? [String: Int])?["rejected"] == 1)
        #expect(((summary["rejected"] as? [[String: Any]])?.first?["code"]) as? String == "empty")
    }
}
