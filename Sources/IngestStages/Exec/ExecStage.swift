import Foundation
import Logging
import MediaIngest
import Subprocess
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(System)
import System
#else
import SystemPackage
#endif

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
    public static let phase = StagePhase.transform
    public static let summary = "Run a command per asset (no shell): the asset as JSON on stdin and INGEST_* variables; a JSON reply continues (with changes) or rejects."

    /// What happens when the command does not give a usable answer.
    public enum OnError: String, OptionEnum {
        /// Reject the asset (final until the file changes): `exec_timeout`, `exec_failed`, `exec_bad_reply`.
        case reject
        /// Mark the asset failed: a later run tries again.
        case fail
    }

    static let command = StageOption<[String]>(
        "command", doc: "The program and its arguments, e.g. [\"python3\", \"scripts/check.py\", \"--max\", \"5MB\"]. A relative program path is taken against the project folder.")
    static let shell = StageOption<Bool>("shell", default: false, doc: "Run `command` (one string) through /bin/sh -c. Asset values are in the environment, never interpolated into the text.")
    static let timeout = StageOption<DurationValue>("timeout", default: DurationValue(seconds: 30), doc: "Stop the command (SIGTERM to its process group, SIGKILL 2 s later) after this long.")
    static let environment = StageOption<[String: String]>("environment", default: [:], doc: "Extra environment variables for the command.")
    static let workingDirectory = StageOption<PathOption?>("workingDirectory", doc: "Where the command runs (default: the project folder).")
    static let onError = StageOption<OnError>("onError", default: .reject, doc: "A timeout, crash, non-zero exit without a reply or malformed reply: reject the asset or mark it failed.")
    static let maxReply = StageOption<ByteSize>("maxReplyBytes", default: ByteSize(1 << 20), doc: "Standard output beyond this is a malformed reply.")
    static let concurrency = StageOption<Int?>("concurrency", doc: "Commands running at once for this stage (default: the pipeline's concurrency).")
    public static let options = [
        command.spec, shell.spec, timeout.spec, environment.spec, workingDirectory.spec, onError.spec, maxReply.spec, concurrency.spec,
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
        guard let program = words.first, !program.isEmpty else { throw options.error(Self.command, "expected the program and its arguments") }
        if useShell {
            guard words.count == 1 else {
                throw options.error(Self.command, "with \"shell\": true, command is one string for /bin/sh -c", suggestion: "join the words into one string")
            }
            executable = .path(FilePath("/bin/sh"))
            arguments = ["-c", program]
        } else if program.contains("/") {
            let resolved = PathResolution.resolve(program, against: context.baseDirectory)
            guard access(resolved, X_OK) == 0 else {
                throw options.error(Self.command, "\(resolved) is not an executable file", suggestion: "chmod +x it, or name its interpreter first: [\"python3\", \"\(program)\"]")
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

    public func prepare(_ context: PipelineContext) async throws {
        // A command that exits without reading its input makes our write fail with EPIPE; the default SIGPIPE action
        // would kill the whole run instead. Ignoring it is process-wide and idempotent, and nothing here wants it.
        signal(SIGPIPE, SIG_IGN)
    }

    public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        let input = Data(Self.assetJSON(asset, context: context).jsonText(pretty: false).utf8) + Data("\n".utf8)
        // INGEST_WORK_DIR exists when the command starts; the runner removes it with the asset.
        try context.makeWorkDirectory()
        let environment = Self.environment(for: asset, context: context).merging(extraEnvironment) { _, extra in extra }
        let outcome = try await gate.withPermit { try await run(input: input, environment: environment, context: context, asset: asset) }
        switch outcome {
        case .finished(let status, let stdout, let stderrTail, let overflow):
            if overflow {
                return try problem(Self.badReply, "the reply is larger than maxReplyBytes (\(replyLimit) bytes)", asset: asset, context: context)
            }
            let reply: Reply?
            switch Reply.parse(stdout) {
            case .success(let parsed):
                reply = parsed
            case .failure(let error):
                if case .exited(0) = status {
                    return try problem(Self.badReply, "malformed reply: \(error.message)", asset: asset, context: context)
                }
                reply = nil
            }
            switch status {
            case .exited(0):
                return try apply(reply, to: asset, context: context)
            case .exited(let code):
                // A non-zero exit may still carry a rejection.
                if let reply, case .reject = reply.action { return try apply(reply, to: asset, context: context) }
                return try problem(Self.failedCode, "exited with status \(code)\(Self.describe(stderrTail))", asset: asset, context: context)
            case .signaled(let signal):
                return try problem(Self.failedCode, "killed by signal \(signal)\(Self.describe(stderrTail))", asset: asset, context: context)
            }
        case .timedOut(let stderrTail):
            return try problem(Self.timedOut, "did not finish within \(DurationValue(seconds: Self.seconds(limit)))\(Self.describe(stderrTail))", asset: asset, context: context)
        case .couldNotStart(let reason):
            return try problem(Self.failedCode, "could not start: \(reason)", asset: asset, context: context)
        }
    }

    // MARK: Running

    enum RunOutcome: Sendable {
        case finished(TerminationStatus, stdout: [UInt8], stderrTail: String, overflow: Bool)
        case timedOut(stderrTail: String)
        case couldNotStart(String)
    }

    /// What the body collects from standard output while the command runs.
    struct Collected: Sendable {
        var stdout: [UInt8] = []
        var overflow = false
    }

    /// Collects the last bytes of standard error while the command runs, so a timeout can still report them.
    final class ErrorTail: Sendable {
        let bytes = Mutex<[UInt8]>([])
        func append(_ chunk: [UInt8]) {
            bytes.withLock { tail in
                tail.append(contentsOf: chunk)
                if tail.count > 4096 { tail.removeFirst(tail.count - 4096) }
            }
        }
        var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }
    }

    func run(input: Data, environment: [String: String], context: StageContext, asset: Asset) async throws -> RunOutcome {
        var platform = PlatformOptions()
        // Its own session and process group: the teardown signals reach whatever the command started.
        platform.createSession = true
        platform.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .seconds(2))]
        let configuration = Configuration(
            executable: executable, arguments: Arguments(arguments),
            environment: .inherit.updating(Dictionary(uniqueKeysWithValues: environment.map { (Environment.Key(stringLiteral: $0.key), Optional($0.value)) })),
            workingDirectory: FilePath(directory), platformOptions: platform)
        let replyLimit = replyLimit
        let logger = context.logger
        let errorTail = ErrorTail()
        let display = asset.displayPath

        enum Race: Sendable {
            case done(ExecutionResult<Collected, SequenceOutput, SequenceOutput>)
            case timer
        }
        do {
            return try await withThrowingTaskGroup(of: Race.self) { group in
                group.addTask {
                    let result = try await Subprocess.run(configuration, input: .inputWriter, output: .sequence, error: .sequence) { execution in
                        try await withThrowingTaskGroup(of: Collected.self) { streams in
                            streams.addTask {
                                // The command may exit without reading its input: a failed write is not our problem.
                                _ = try? await execution.standardInputWriter.write(Array(input))
                                try? await execution.standardInputWriter.finish()
                                return Collected()
                            }
                            streams.addTask {
                                var collected = Collected()
                                for try await chunk in execution.standardOutput {
                                    chunk.withUnsafeBytes { bytes in
                                        if collected.stdout.count + bytes.count > replyLimit {
                                            collected.overflow = true
                                        } else {
                                            collected.stdout.append(contentsOf: bytes)
                                        }
                                    }
                                }
                                return collected
                            }
                            streams.addTask {
                                for try await line in execution.standardError.strings() {
                                    logger.debug("exec stderr", metadata: ["file": "\(display)", "line": "\(line)"])
                                    errorTail.append(Array(line.utf8) + [10])
                                }
                                return Collected()
                            }
                            var merged = Collected()
                            for try await part in streams {
                                if !part.stdout.isEmpty || part.overflow {
                                    merged.stdout = part.stdout
                                    merged.overflow = part.overflow
                                }
                            }
                            return merged
                        }
                    }
                    return .done(result)
                }
                group.addTask {
                    try await Task.sleep(for: limit)
                    return .timer
                }
                let first = try await group.next()!
                group.cancelAll()
                switch first {
                case .done(let result):
                    return .finished(result.terminationStatus, stdout: result.closureResult.stdout, stderrTail: errorTail.text, overflow: result.closureResult.overflow)
                case .timer:
                    // Cancelling the run task runs the teardown: SIGTERM to the group, SIGKILL after 2 s.
                    while let _ = try? await group.next() {}
                    logger.warning("exec timed out", metadata: ["file": "\(display)", "command": "\(displayCommand)"])
                    return .timedOut(stderrTail: errorTail.text)
                }
            }
        } catch let error as SubprocessError {
            return .couldNotStart("\(error)")
        }
    }

    // MARK: Replies

    /// A command's answer.
    struct Reply: Sendable {
        enum Action: Sendable { case `continue`, reject }
        var action: Action = .continue
        var fileName: String?
        var path: String?
        var facts: [String: JSONValue]?
        var placement: Placement?
        var code: String?
        var reason: String?

        struct Problem: Error, Sendable { var message: String }

        static let keys: Set<String> = ["action", "fileName", "path", "facts", "placement", "code", "reason"]

        /// `nil` for empty output (continue unchanged).
        static func parse(_ bytes: [UInt8]) -> Result<Reply?, Problem> {
            do {
                return .success(try parseOrThrow(bytes))
            } catch let problem as Problem {
                return .failure(problem)
            } catch {
                return .failure(Problem(message: "\(error)"))
            }
        }

        static func parseOrThrow(_ bytes: [UInt8]) throws -> Reply? {
            let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { return nil }
            let value: JSONValue
            do {
                value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            } catch {
                throw Problem(message: "standard output is not JSON: \"\(text.prefix(80))\(text.count > 80 ? "…" : "")\"")
            }
            guard let object = value.objectValue else { throw Problem(message: "expected a JSON object, got \(value.jsonText(pretty: false).prefix(40))") }
            if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
                throw Problem(message: "unknown key \"\(unknown)\" (a reply has \(keys.sorted().joined(separator: ", ")))")
            }
            var reply = Reply()
            switch object["action"] {
            case nil, .some(.string("continue")): reply.action = .continue
            case .some(.string("reject")): reply.action = .reject
            case .some(let other): throw Problem(message: "action must be \"continue\" or \"reject\", got \(other.jsonText(pretty: false))")
            }
            func string(_ key: String) throws -> String? {
                guard let member = object[key], member != .null else { return nil }
                guard let text = member.stringValue else { throw Problem(message: "\(key) must be a string") }
                return text
            }
            reply.fileName = try string("fileName")
            reply.path = try string("path")
            reply.code = try string("code")
            reply.reason = try string("reason")
            if let facts = object["facts"], facts != .null {
                guard let members = facts.objectValue else { throw Problem(message: "facts must be an object") }
                reply.facts = members
            }
            if let placement = object["placement"], placement != .null {
                guard let members = placement.objectValue else { throw Problem(message: "placement must be an object") }
                let folder = members["folderId"]?.stringValue
                let path = members["path"]?.stringValue
                if folder == nil && path == nil { throw Problem(message: "placement needs folderId or path") }
                reply.placement = Placement(folderID: folder, path: path)
            }
            if let name = reply.fileName, name.isEmpty || name.contains("/") || name.contains("\0") || name == "." || name == ".." {
                throw Problem(message: "fileName \"\(name)\" is not a file name")
            }
            if let code = reply.code, code.range(of: #"^[a-z][a-z0-9_]{0,63}$"#, options: .regularExpression) == nil {
                throw Problem(message: "code \"\(code)\" must be lower_snake_case")
            }
            return reply
        }
    }

    func apply(_ reply: Reply?, to asset: Asset, context: StageContext) throws -> StageOutcome {
        guard let reply else { return .next(asset) }
        var asset = asset
        if let facts = reply.facts { asset.facts[context.stageName] = .object(facts) }
        if case .reject = reply.action {
            let reason = reply.reason ?? "rejected by \(displayCommand)"
            return .reject(asset, Rejection(reply.code.map { Rejection.Code(rawValue: $0) } ?? .custom, reason))
        }
        if let name = reply.fileName { asset.fileName = name }
        if let placement = reply.placement { asset.placement = placement }
        if let path = reply.path {
            let resolved = PathResolution.resolve(path, against: directory)
            guard let status = try? FileStatus.of(resolved), status.kind == .regular else {
                return try problem(Self.badReply, "path \(resolved) is not a regular file", asset: asset, context: context)
            }
            asset.contentPath = resolved
            asset.size = status.size
        }
        return .next(asset)
    }

    /// A rejection or a thrown failure, per `onError`.
    func problem(_ code: Rejection.Code, _ message: String, asset: Asset, context: StageContext) throws -> StageOutcome {
        let reason = "\(displayCommand): \(message)"
        context.logger.info("exec problem", metadata: ["file": "\(asset.displayPath)", "code": "\(code)", "reason": "\(reason)"])
        switch errorPolicy {
        case .reject: return .reject(asset, Rejection(code, reason))
        case .fail: throw ExecFailure(failureCode: code.rawValue, failureMessage: reason)
        }
    }

    static func describe(_ stderrTail: String) -> String {
        guard let last = stderrTail.split(whereSeparator: \.isNewline).last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) else { return "" }
        return ": " + last.trimmingCharacters(in: .whitespaces).prefix(300)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    // MARK: What the command sees

    /// The asset as the command reads it on standard input.
    static func assetJSON(_ asset: Asset, context: StageContext) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .int(Int64(asset.id)),
            "fileName": .string(asset.fileName),
            "displayPath": .string(asset.displayPath),
            "pipeline": .string(context.pipeline.pipelineName),
            "runId": .string(context.pipeline.runID),
            "facts": .object(asset.facts),
        ]
        if let path = asset.contentPath { object["path"] = .string(path) }
        switch asset.origin {
        case .file(let path, let root, let relative):
            object["source"] = ["path": .string(path), "root": .string(root), "relativePath": .string(relative)]
        case .url(let url):
            object["source"] = ["url": .string(url)]
        }
        if let size = asset.size { object["size"] = .int(size) }
        if let size = asset.sourceSize { object["sourceSize"] = .int(size) }
        if let date = asset.modificationDate { object["modified"] = .string(ISO8601DateFormatter().string(from: date)) }
        if let mime = asset.mime {
            object["mime"] = .string(mime.mime)
            object["family"] = .string(mime.family.rawValue)
            object["extensions"] = .array(mime.extensions.map { .string($0) })
            object["extensionMatches"] = .bool(mime.extensionMatches)
        }
        if let dimensions = asset.dimensions { object["dimensions"] = ["width": .int(Int64(dimensions.width)), "height": .int(Int64(dimensions.height))] }
        if let sha = asset.sourceSHA256 { object["sha256"] = .string(sha) }
        return .object(object)
    }

    /// The `INGEST_*` variables.
    static func environment(for asset: Asset, context: StageContext) -> [String: String] {
        var environment: [String: String] = [
            "INGEST_ASSET_ID": String(asset.id),
            "INGEST_FILE_NAME": asset.fileName,
            "INGEST_DISPLAY_PATH": asset.displayPath,
            "INGEST_PIPELINE": context.pipeline.pipelineName,
            "INGEST_RUN_ID": context.pipeline.runID,
            "INGEST_WORK_DIR": context.assetWorkDirectory,
        ]
        if let path = asset.contentPath { environment["INGEST_FILE"] = path }
        if let path = asset.origin.path { environment["INGEST_SOURCE"] = path }
        if let url = asset.origin.url { environment["INGEST_URL"] = url }
        if let size = asset.size { environment["INGEST_SIZE"] = String(size) }
        if let mime = asset.mime {
            environment["INGEST_MIME"] = mime.mime
            environment["INGEST_FAMILY"] = mime.family.rawValue
        }
        return environment
    }
}

/// An `exec` problem under `onError: "fail"`: the asset is marked failed and a later run tries again.
struct ExecFailure: Error, AssetFailureDescribing, CustomStringConvertible {
    var failureCode: String
    var failureMessage: String
    var description: String { failureMessage }
}
