import Foundation
import TestSupport
import Testing

/// rclone, as CI installs it (Debian's `rclone`).
let rclone: String = {
    for folder in ["/usr/bin", "/usr/local/bin", "/bin"]
    where FileManager.default.isExecutableFile(atPath: folder + "/rclone") {
        return folder + "/rclone"
    }
    return "/usr/bin/rclone"
}()

/// A real protocol peer on loopback: `rclone serve sftp` or `rclone serve webdav` over a local folder, with a user and
/// a password; stopped when released.
final class RcloneServer: Sendable {
    let process: Process
    let port: Int
    let root: String
    static let user = "ingest-test"
    static let password = "s3cret-Pa55"

    init(_ protocolName: String, root: String, scratch: String) async throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let log = scratch + "/serve-\(protocolName).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: rclone)
        process.arguments = [
            "serve", protocolName, root, "--addr", "127.0.0.1:0", "--user", Self.user, "--pass", Self.password,
            "--config", "/dev/null", "--cache-dir", scratch + "/rclone-cache",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        self.process = process
        var found: Int?
        let deadline = Date().addingTimeInterval(30)
        while found == nil, Date() < deadline, process.isRunning {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            found = text.firstMatch(of: /(?:listening on |started on http:\/\/)127\.0\.0\.1:(\d+)/).flatMap {
                Int($0.1)
            }
            if found == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let found else {
            process.terminate()
            throw TestFailure(
                "rclone serve \(protocolName) did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")"
            )
        }
        port = found
    }

    /// The password as rclone's config wants it (`rclone obscure`).
    static func obscuredPassword() throws -> String {
        try runProcess(rclone, ["obscure", password]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The `rclone rcd` processes ingest started (by their arguments) — with `config`, only those given that config
/// file: a run must leave none behind.
func rcloneDaemons(config: String? = nil) -> [Int32] {
    let output = (try? runProcess("/usr/bin/pgrep", ["-f", "rclone rcd --rc-addr 127.0.0.1:0"]).stdout) ?? ""
    return output.split(separator: "\n").compactMap { Int32($0) }.filter { pid in
        guard let config else { return true }
        let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
        return environment.split(separator: 0).contains { Data("RCLONE_CONFIG=\(config)".utf8) == Data($0) }
    }
}

/// An S3 API server on loopback: moto's server mode (PyPI `moto[server]`), the S3 peer rclone's s3 backend talks to.
final class MotoS3Server: Sendable {
    let process: Process
    let port: Int

    init(scratch: String) async throws {
        let log = scratch + "/moto.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardError = process.standardOutput
        try process.run()
        self.process = process
        var found: Int?
        let deadline = Date().addingTimeInterval(30)
        while found == nil, Date() < deadline, process.isRunning {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            found = text.firstMatch(of: /Running on http:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0.1) }
            if found == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let found else {
            if process.isRunning { process.terminate() }
            throw TestFailure(
                "moto's S3 server did not start (pip install 'moto[server]'): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")"
            )
        }
        port = found
    }

    /// The environment rclone needs for a plain-HTTP endpoint: a machine-wide `AWS_CA_BUNDLE` (set where a proxy's
    /// CA is installed) makes rclone's S3 client refuse its transport; empty, it is not read.
    static let environment = ["AWS_CA_BUNDLE": ""]

    /// An rclone config section `[name]` for this server.
    func configSection(_ name: String) -> String {
        """
        [\(name)]
        type = s3
        provider = Other
        access_key_id = test-key
        secret_access_key = test-secret
        endpoint = http://127.0.0.1:\(port)
        region = us-east-1
        force_path_style = true

        """
    }

    deinit {
        // Werkzeug's development server does not stop on SIGTERM.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
