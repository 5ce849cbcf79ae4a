import Foundation
import Glibc
import Logging
import MediaFormats
import MediaIngest
import Subprocess
import Synchronization
import SystemPackage

/// Running the command: its own process group, the timeout, bounded output.
extension ExecStage {
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

    func run(input: Data, environment: [String: String], context: StageContext, asset: Asset) async throws -> RunOutcome
    {
        var platform = PlatformOptions()
        // Its own session and process group: the teardown signals reach whatever the command started.
        platform.createSession = true
        platform.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .seconds(2))]
        let configuration = Configuration(
            executable: executable, arguments: Arguments(arguments),
            environment: .inherit.updating(
                Dictionary(
                    uniqueKeysWithValues: environment.map {
                        (Environment.Key(stringLiteral: $0.key), Optional($0.value))
                    })),
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
                    let result = try await Subprocess.run(
                        configuration, input: .inputWriter, output: .sequence, error: .sequence
                    ) { execution in
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
                    return .finished(
                        result.terminationStatus, stdout: result.closureResult.stdout, stderrTail: errorTail.text,
                        overflow: result.closureResult.overflow)
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
}
