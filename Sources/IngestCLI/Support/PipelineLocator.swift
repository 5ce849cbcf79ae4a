import ArgumentParser
import Foundation
import MediaIngest

/// Options shared by the commands that work on pipelines.
struct PipelineDirectoryOptions: ParsableArguments {
    @Option(
        name: .customLong("pipelines"),
        help: ArgumentHelp("The folder holding NAME.json pipeline files.", valueName: "folder"))
    var pipelinesDirectory: String = ProcessInfo.processInfo.environment["INGEST_PIPELINES"] ?? "pipelines"

    /// The pipelines folder as an absolute path.
    var directory: String {
        PathResolution.resolve(pipelinesDirectory, against: FileManager.default.currentDirectoryPath)
    }

    /// Resolves `NAME` (a file in the pipelines folder) or a path to a pipeline file.
    func locate(_ nameOrPath: String) throws -> String {
        let cwd = FileManager.default.currentDirectoryPath
        let looksLikePath = nameOrPath.contains("/") || nameOrPath.hasSuffix(".json")
        if looksLikePath {
            let path = PathResolution.resolve(nameOrPath, against: cwd)
            guard FileManager.default.fileExists(atPath: path) else {
                throw CLIError.configuration("no pipeline file at \(path)")
            }
            return path
        }
        let candidate = directory + "/" + nameOrPath + ".json"
        if FileManager.default.fileExists(atPath: candidate) { return candidate }
        let known = pipelineNames()
        var message = "no pipeline named \"\(nameOrPath)\" in \(directory)"
        if let close = closestMatch(to: nameOrPath, in: known) {
            message += " (did you mean \"\(close)\"?)"
        } else if !known.isEmpty {
            message += " (pipelines: \(known.joined(separator: ", ")))"
        }
        throw CLIError.configuration(message)
    }

    /// The names of the pipeline files in the folder.
    func pipelineNames() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasSuffix(".json") && !$0.hasSuffix(".schema.json") && !$0.hasPrefix(".") }
            .map { String($0.dropLast(5)) }
            .sorted()
    }
}

/// An error the CLI reports in one line with a chosen exit code.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var code: IngestExitCode

    static func configuration(_ message: String) -> CLIError { CLIError(message: message, code: .configurationError) }

    var description: String { message }
}
