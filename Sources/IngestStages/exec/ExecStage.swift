import Foundation
import Glibc
import Logging
import MediaFormats
import MediaIngest
import Subprocess
import Synchronization
import SystemPackage

/// `exec`: runs a command per asset — the extension point for scripts in any language.
///
/// The command gets the asset as one JSON object on standard input and as `INGEST_*` environment variables, and may
/// answer with one JSON object on standard output:
///
/// ```json
/// {"action": "continue", "fileName": "new-name.jpg", "path": "/tmp/changed.jpg", "facts": {"faces": 2},
///  "placement": {"folderId": "…", "path": "/faces"}}
/// {"action": "reject", "code": "too_big", "reason": "over 5 MB"}
/// ```
/// Empty output with exit status 0 continues with the asset unchanged. The command runs without a shell (the first
/// element of `command` is the program, the rest its arguments) unless `shell` is true, in its own process group, so
/// a timeout stops it and everything it started. A timeout, a crash, a non-zero exit without a reply and a malformed
/// reply reject the asset with a clear reason (or mark it failed, with `onError: "fail"`); the run goes on.
public struct ExecStage: Stage, StageDefinition {
    public static let kind = "exec"
    public static let sourceFile: String? = #filePath
    public static let codes: [DocumentedCode] = [
        .rejection(timedOut, note: "a failure with `onError: \"fail\"`", "the command ran past `timeout`"),
        .rejection(failedCode, note: "a failure with `onError: \"fail\"`", "the command exited non-zero or was killed"),
        .rejection(
            badReply, note: "a failure with `onError: \"fail\"`", "the command's reply was not the JSON it should be"),
    ]
    public static let phase = StagePhase.transform
    public static let summary =
        "Run a command per asset (no shell): the asset as JSON on stdin and INGEST_* variables; a JSON reply continues (with changes) or rejects."

    /// What happens when the command does not give a usable answer.
    public enum OnError: String, OptionEnum {
        /// Reject the asset (final until the file changes): `exec_timeout`, `exec_failed`, `exec_bad_reply`.
        case reject
        /// Mark the asset failed: a later run tries again.
        case fail
    }

    static let command = StageOption<[String]>(
        "command",
        doc:
            "The program and its arguments, e.g. [\"python3\", \"scripts/check.py\", \"--max\", \"5MB\"]. A relative program path is taken against the project folder."
    )
    static let shell = StageOption<Bool>(
        "shell", default: false,
        doc:
            "Run `command` (one string) through /bin/sh -c. Asset values are in the environment, never interpolated into the text."
    )
    static let timeout = StageOption<DurationValue>(
        "timeout", default: DurationValue(seconds: 30),
        doc: "Stop the command (SIGTERM to its process group, SIGKILL 2 s later) after this long.")
    static let environment = StageOption<[String: String]>(
        "environment", default: [:], doc: "Extra environment variables for the command.")
    static let workingDirectory = StageOption<PathOption?>(
        "workingDirectory", doc: "Where the command runs (default: the project folder).")
    static let onError = StageOption<OnError>(
        "onError", default: .reject,
        doc: "A timeout, crash, non-zero exit without a reply or malformed reply: reject the asset or mark it failed.")
    static let maxReply = StageOption<ByteSize>(
        "maxReplyBytes", default: ByteSize(1 << 20), doc: "Standard output beyond this is a malformed reply.")
    static let concurrency = StageOption<Int?>(
        "concurrency", doc: "Commands running at once for this stage (default: the pipeline's concurrency).")
    public static let options = [
        command.spec, shell.spec, timeout.spec, environment.spec, workingDirectory.spec, onError.spec, maxReply.spec,
        concurrency.spec,
    ]

    /// Rejection codes.
    public static let timedOut: Rejection.Code = "exec_timeout"
    public static let failedCode: Rejection.Code = "exec_failed"
    public static let badReply: Rejection.Code = "exec_bad_reply"

    let executable: Executable
    let arguments: [String]
    let displayCommand: String
    let limit: Duration
    let extraEnvironment: [String: String]
    let directory: String
    let errorPolicy: OnError
    let replyLimit: Int
    let gate: AsyncSemaphore

    public init(options: OptionValues, context: StageBuildContext) throws {
        let words = try options[Self.command]
        let useShell = try options[Self.shell]
        guard let program = words.first, !program.isEmpty else {
            throw options.error(Self.command, "expected the program and its arguments")
        }
        if useShell {
            guard words.count == 1 else {
                throw options.error(
                    Self.command, "with \"shell\": true, command is one string for /bin/sh -c",
                    suggestion: "join the words into one string")
            }
            executable = .path(FilePath("/bin/sh"))
            arguments = ["-c", program]
        } else if program.contains("/") {
            let resolved = PathResolution.resolve(program, against: context.baseDirectory)
            guard access(resolved, X_OK) == 0 else {
                throw options.error(
                    Self.command, "\(resolved) is not an executable file",
                    suggestion: "chmod +x it, or name its interpreter first: [\"python3\", \"\(program)\"]")
            }
            executable = .path(FilePath(resolved))
            arguments = Array(words.dropFirst())
        } else {
            let path = context.environment["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            guard path.split(separator: ":").contains(where: { access("\($0)/\(program)", X_OK) == 0 }) else {
                throw options.error(Self.command, "\"\(program)\" is not found in PATH (\(path))")
            }
            executable = .name(program)
            arguments = Array(words.dropFirst())
        }
        displayCommand = words.joined(separator: " ")
        let timeoutValue = try options[Self.timeout]
        if timeoutValue.seconds <= 0 { throw options.error(Self.timeout, "expected a positive duration") }
        limit = timeoutValue.duration
        extraEnvironment = try options[Self.environment]
        if let bad = extraEnvironment.keys.first(where: { $0.isEmpty || $0.contains("=") || $0.contains("\0") }) {
            throw options.error(Self.environment, "\"\(bad)\" is not a valid variable name")
        }
        directory = try options[Self.workingDirectory]?.path ?? context.baseDirectory
        errorPolicy = try options[Self.onError]
        replyLimit = Int(clamping: (try options[Self.maxReply]).bytes)
        let width = try options[Self.concurrency] ?? context.concurrency
        if !(1...256).contains(width) { throw options.error(Self.concurrency, "expected 1 to 256, got \(width)") }
        gate = AsyncSemaphore(limit: width)
    }

    /// The asset as the command sees it: a path whose name is not UTF-8 (``MediaFormats/FileName``) cannot travel
    /// through JSON or the environment as the bytes it is, so the command gets a symbolic link with a plain name in
    /// the asset's work folder (`content.jpg`, `source.jpg`) that leads to the file.
    static func withOpenablePaths(_ asset: Asset, context: StageContext) throws -> Asset {
        var shown = asset
        func openable(_ path: String, _ name: String) throws -> String {
            guard path.unicodeScalars.contains(where: FileName.isEscapedByte) else { return path }
            let ext = (FileName.presentable(path) as NSString).pathExtension
            let link = context.assetWorkDirectory + "/" + name + (ext.isEmpty ? "" : "." + ext)
            let made = path.withPlatformPath { target in link.withPlatformPath { symlink(target, $0) } }
            guard made == 0 || errno == EEXIST else { throw FileError(path: link, operation: "link", code: errno) }
            return link
        }
        if let path = asset.contentPath { shown.contentPath = try openable(path, "content") }
        if case .file(let path, let root, let relative) = asset.origin {
            shown.origin = .file(path: try openable(path, "source"), root: root, relativePath: relative)
        }
        return shown
    }

    public func prepare(_ context: PipelineContext) async throws {
        // A command that exits without reading its input makes our write fail with EPIPE; the default SIGPIPE action
        // would kill the whole run instead. Ignoring it is process-wide and idempotent, and nothing here wants it.
        signal(SIGPIPE, SIG_IGN)
    }

    public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        // INGEST_WORK_DIR exists when the command starts; the runner removes it with the asset.
        try context.makeWorkDirectory()
        let shown = try Self.withOpenablePaths(asset, context: context)
        let input = Data(Self.assetJSON(shown, context: context).jsonText(pretty: false).utf8) + Data("\n".utf8)
        let environment = Self.environment(for: shown, context: context).merging(extraEnvironment) { _, extra in extra }
        let outcome = try await gate.withPermit {
            try await run(input: input, environment: environment, context: context, asset: asset)
        }
        switch outcome {
        case .finished(let status, let stdout, let stderrTail, let overflow):
            if overflow {
                return try problem(
                    Self.badReply, "the reply is larger than maxReplyBytes (\(replyLimit) bytes)", asset: asset,
                    context: context)
            }
            let reply: Reply?
            switch Reply.parse(stdout) {
            case .success(let parsed):
                reply = parsed
            case .failure(let error):
                if case .exited(0) = status {
                    return try problem(
                        Self.badReply, "malformed reply: \(error.message)", asset: asset, context: context)
                }
                reply = nil
            }
            switch status {
            case .exited(0):
                return try apply(reply, to: asset, context: context)
            case .exited(let code):
                // A non-zero exit may still carry a rejection.
                if let reply, case .reject = reply.action { return try apply(reply, to: asset, context: context) }
                return try problem(
                    Self.failedCode, "exited with status \(code)\(Self.describe(stderrTail))", asset: asset,
                    context: context)
            case .signaled(let signal):
                return try problem(
                    Self.failedCode, "killed by signal \(signal)\(Self.describe(stderrTail))", asset: asset,
                    context: context)
            }
        case .timedOut(let stderrTail):
            return try problem(
                Self.timedOut,
                "did not finish within \(DurationValue(seconds: Self.seconds(limit)))\(Self.describe(stderrTail))",
                asset: asset, context: context)
        case .couldNotStart(let reason):
            return try problem(Self.failedCode, "could not start: \(reason)", asset: asset, context: context)
        }
    }
}

/// An `exec` problem under `onError: "fail"`: the asset is marked failed and a later run tries again.
struct ExecFailure: Error, AssetFailureDescribing, CustomStringConvertible {
    var failureCode: AssetFailure.Code
    var failureMessage: String
    var description: String { failureMessage }
}
