import ArgumentParser
import Foundation
import IngestStages
import IngestState
import Logging
import MediaIngest

extension IngestCommand {
    /// `ingest doctor [NAME]`.
    struct Doctor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that a pipeline can run here: libraries, the pipeline file, ledger, lock, folders, Wix.",
            discussion: """
                Each check prints a line (pass, warn, fail or skip) and, when something is to be done, how to fix \
                it: libmagic loads its database, libexif is there, no ffmpeg is needed, the pipeline parses (with \
                this environment), the ledger opens (SQLite, or PostgreSQL with the server's version), the lock is \
                free or who holds it, the inbox is readable, the archive is on the inbox's file system (or is copied \
                to), the Wix credentials are accepted (one List Folders call; 401 and 403 explained) and the clock \
                agrees with Wix's. Nothing is uploaded, moved or created at Wix. Without NAME, the machine's checks \
                and whether each pipeline parses.

                Exit codes: 0 every check passed (warnings allowed); 1 a check failed; 64 bad command line.
                """)

        @Argument(
            help: "The pipeline: a NAME in the pipelines folder, or a path to a .json file.",
            completion: .custom(PipelineCompletion.names))
        var pipeline: String?
        @OptionGroup var directoryOptions: PipelineDirectoryOptions
        @Flag(help: "Print the checks as JSON.") var json = false

        func run() async throws {
            var checks = MachineDiagnostics.checks()
            if let name = pipeline {
                checks += await Self.checks(name, directoryOptions)
            } else {
                checks += Self.parseAll(directoryOptions)
            }
            Self.print(checks, pipeline: pipeline, json: json)
            if checks.contains(where: { $0.status == .fail }) { throw ExitCode(1) }
        }

        /// Whether each pipeline of the folder parses.
        static func parseAll(_ options: PipelineDirectoryOptions) -> [Diagnosis] {
            let names = options.pipelineNames()
            guard !names.isEmpty else {
                return [
                    Diagnosis(
                        "pipelines", .warn, "no pipelines in \(options.directory)",
                        fix: "ingest init NAME writes one")
                ]
            }
            let builder = PipelineBuilder(registry: CLIEnvironment.registry, tolerateMissingEnvironment: true)
            return names.map { name in
                let result = builder.check(fileAt: options.directory + "/" + name + ".json")
                return result.errors.isEmpty
                    ? Diagnosis("pipeline \(name)", .pass, "parses")
                    : Diagnosis(
                        "pipeline \(name)", .fail, result.errors.map(\.description).joined(separator: "; "),
                        fix: "ingest check \(name)")
            }
        }

        /// The checks of one pipeline: it parses; its ledger and lock; each component's own checks.
        static func checks(_ name: String, _ options: PipelineDirectoryOptions) async -> [Diagnosis] {
            let path: String
            do {
                path = try options.locate(name)
            } catch {
                return [Diagnosis("pipeline", .fail, "\(error)", fix: "ingest init \(name) writes one")]
            }
            let pipeline: Pipeline
            do {
                pipeline = try PipelineBuilder(registry: CLIEnvironment.registry).build(fileAt: path)
            } catch let error as PipelineConfigurationError {
                let missing = error.description.contains("environment variable")
                return [
                    Diagnosis(
                        "pipeline", .fail, error.description.replacingOccurrences(of: "\n", with: "; "),
                        fix: missing
                            ? "set the environment variables it names (secrets stay in the environment, never in the file)"
                            : "ingest check \(name) lists every mistake with its JSON path")
                ]
            } catch {
                return [Diagnosis("pipeline", .fail, "\(error)")]
            }
            var checks = [
                Diagnosis("pipeline", .pass, "\(path) parses: \(pipeline.componentNames.joined(separator: " → "))")
            ]
            checks += await ledger(pipeline)
            checks.append(lock(pipeline))
            let context = DiagnosisContext(
                pipelineName: pipeline.name, baseDirectory: pipeline.baseDirectory,
                sourceRoots: pipeline.sources.compactMap { ($0.value as? any FolderReading)?.readRoot },
                logger: Logger(label: "ingest") { _ in SwiftLogNoOpLogHandler() })
            for component in pipeline.components {
                if let diagnosable = component as? any Diagnosable { checks += await diagnosable.diagnose(context) }
            }
            return checks
        }

        /// The ledger opens: SQLite (its folder writable, the file readable), or PostgreSQL (with the server's version).
        static func ledger(_ pipeline: Pipeline) async -> [Diagnosis] {
            guard pipeline.state.enabled else { return [Diagnosis("ledger", .skip, "state.enabled is false")] }
            return [await StateBackends.backend(for: pipeline).diagnose(pipeline)]
        }

        /// The lock is free, or who holds it.
        static func lock(_ pipeline: Pipeline) -> Diagnosis {
            guard pipeline.state.enabled else { return Diagnosis("lock", .skip, "state.enabled is false") }
            do {
                let lock = try PipelineLock(path: pipeline.state.lockPath)
                lock.release()
                return Diagnosis("lock", .pass, "\(pipeline.state.lockPath) is free")
            } catch let failure {
                if failure.code == .held {
                    return Diagnosis(
                        "lock", .warn,
                        "a run holds it now (\(failure.detail.isEmpty ? "owner unknown" : failure.detail))",
                        fix: "wait for it, or run with --wait SECONDS")
                }
                return Diagnosis("lock", .fail, failure.description, fix: "set state.lock to a writable place")
            }
        }

        static func print(_ checks: [Diagnosis], pipeline: String?, json: Bool) {
            let ok = !checks.contains { $0.status == .fail }
            if json {
                let object: JSONValue = [
                    "pipeline": pipeline.map { .string($0) } ?? .null, "ok": .bool(ok),
                    "checks": .array(
                        checks.map { check in
                            [
                                "check": .string(check.check), "status": .string(check.status.rawValue),
                                "detail": .string(check.detail), "fix": check.fix.map { .string($0) } ?? .null,
                            ]
                        }),
                ]
                Console.out(object.jsonText(pretty: true))
                return
            }
            let width = min(18, checks.map(\.check.count).max() ?? 0)
            for check in checks {
                let name = check.check.padding(toLength: max(width, check.check.count), withPad: " ", startingAt: 0)
                Console.out(
                    "\(check.status.rawValue.uppercased().padding(toLength: 4, withPad: " ", startingAt: 0))  \(name)  \(check.detail.displaySafe)"
                )
                if let fix = check.fix, check.status != .pass { Console.out("      fix: \(fix.displaySafe)") }
            }
            let failed = checks.filter { $0.status == .fail }.count
            let warned = checks.filter { $0.status == .warn }.count
            Console.out(
                ok
                    ? "ingest doctor: every check passed\(warned > 0 ? " (\(warned) warning\(warned == 1 ? "" : "s"))" : "")"
                    : "ingest doctor: \(failed) check\(failed == 1 ? "" : "s") failed")
        }
    }
}
