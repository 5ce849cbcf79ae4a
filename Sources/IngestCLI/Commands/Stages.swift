import ArgumentParser
import Foundation
import MediaIngest

extension IngestCommand {
    /// `ingest stages [KIND]`.
    struct Stages: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every stage kind with its options (the catalogue).")

        @Argument(help: "Show only this stage kind.")
        var kind: String?

        @Flag(help: "Print the catalogue as JSON.")
        var json = false

        @Flag(help: "Print the catalogue as Markdown (docs/stages.md is this output).")
        var markdown = false

        func run() async throws {
            let registry = CLIEnvironment.registry
            var entries = registry.allEntries
            if let kind {
                guard let entry = registry.entry(for: kind) else {
                    let hint = ConfigError.didYouMean(kind, among: registry.kinds).map { " (\($0))" } ?? ""
                    Console.error("ingest: no stage kind \"\(kind)\"\(hint)")
                    throw IngestExitCode.configurationError.exitCode
                }
                entries = [entry]
            }
            if json {
                Console.out(JSONValue.array(entries.map(Self.json)).jsonText(pretty: true))
                return
            }
            if markdown {
                Console.out(StageCatalogMarkdown.render(entries))
                return
            }
            var phase: StagePhase?
            var text: [String] = []
            for entry in entries {
                if entry.phase != phase {
                    phase = entry.phase
                    text.append("\(entry.phase.rawValue.uppercased())")
                }
                text.append("  \(entry.kind)" + (entry.hasSideEffects ? "  (side effects; skipped by --dry-run)" : ""))
                text.append("      \(entry.summary)")
                if kind != nil {
                    text.append("      implemented by \(entry.typeName)\(entry.file.map { " in \($0)" } ?? "")")
                } else if entry.module != "IngestStages" {
                    text.append("      from \(entry.module)")
                }
                for option in entry.options {
                    var line = "      \(option.name): \(option.typeName)"
                    if option.isRequired {
                        line += " (required)"
                    } else if let value = option.defaultValue, !value.isNull, value != .array([]) {
                        line += " = \(value.description)"
                    }
                    text.append(line)
                    text.append("          \(option.doc)")
                }
                text.append("")
            }
            Console.out(text.joined(separator: "\n"))
        }

        static func json(_ entry: StageRegistry.Entry) -> JSONValue {
            [
                "kind": .string(entry.kind),
                "phase": .string(entry.phase.rawValue),
                "summary": .string(entry.summary),
                "sideEffects": .bool(entry.hasSideEffects),
                "module": .string(entry.module),
                "type": .string(entry.typeName),
                "file": entry.file.map { .string($0) } ?? .null,
                "options": .array(
                    entry.options.map { option in
                        [
                            "name": .string(option.name),
                            "type": .string(option.typeName),
                            "required": .bool(option.isRequired),
                            "default": option.defaultValue ?? .null,
                            "doc": .string(option.doc),
                        ]
                    }),
            ]
        }
    }

    /// `ingest codes`.
    struct Codes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every rejection and failure code, what it means and which stages give it.")

        @Flag(help: "Print the codes as JSON.") var json = false
        @Flag(help: "Print the codes as Markdown (docs/codes.md is this output).") var markdown = false

        func run() async throws {
            let catalog = CodeCatalog(CLIEnvironment.registry.allEntries)
            Console.out(json ? catalog.json.jsonText(pretty: true) : markdown ? catalog.markdown : catalog.text)
        }
    }

    /// `ingest list`.
    struct ListPipelines: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List the pipelines in the pipelines folder.")

        @OptionGroup var directoryOptions: PipelineDirectoryOptions

        func run() async throws {
            let names = directoryOptions.pipelineNames()
            if names.isEmpty {
                Console.error("no pipelines in \(directoryOptions.directory)")
                return
            }
            let builder = PipelineBuilder(registry: CLIEnvironment.registry, tolerateMissingEnvironment: true)
            let width = names.map(\.count).max() ?? 0
            for name in names {
                let path = directoryOptions.directory + "/" + name + ".json"
                let result = builder.check(fileAt: path)
                let description: String
                if let pipeline = result.pipeline {
                    description =
                        pipeline.description.isEmpty
                        ? (pipeline.sources.map(\.kind) + pipeline.stages.map(\.kind) + pipeline.observers.map(\.kind))
                            .joined(separator: " → ") : pipeline.description
                } else {
                    description =
                        "(invalid: \(result.errors.count) error\(result.errors.count == 1 ? "" : "s"); see `ingest check \(name)`)"
                }
                Console.out(name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + description)
            }
        }
    }

    /// `ingest schema`.
    struct Schema: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the JSON Schema of pipeline files (for editors and CI linting).")

        func run() async throws {
            Console.out(PipelineSchema.make(registry: CLIEnvironment.registry).jsonText(pretty: true))
        }
    }

    /// `ingest version`.
    struct VersionCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "version", abstract: "Print versions of ingest and the libraries it uses.")

        @Flag(help: "Print as JSON.")
        var json = false

        func run() async throws {
            var info: [(String, String)] = [("ingest", IngestVersion.string)]
            info.append(contentsOf: ToolVersions.all)
            if json {
                Console.out(
                    JSONValue.object(
                        Dictionary(info.map { ($0.0, JSONValue.string($0.1)) }, uniquingKeysWith: { a, _ in a })
                    ).jsonText(pretty: true))
            } else {
                for (name, value) in info { Console.out("\(name): \(value)") }
            }
        }
    }
}
