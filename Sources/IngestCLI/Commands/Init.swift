import ArgumentParser
import Foundation
import IngestStages
import MediaIngest

extension IngestCommand {
    /// `ingest init [NAME]`.
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new pipeline, pipelines/NAME.json, by asking a few questions (or from flags).",
            discussion: """
                Asks for the inbox (a folder, or an rclone remote such as dropbox:Clients — read by source.remote), the target (Wix or a local library folder), the names of the environment \
                variables that hold the Wix site id and API key, and whether to archive sent files, then writes a \
                pipeline that `ingest check` accepts. Secrets are written as {"env": "NAME"} references: their values \
                never reach the file (a value typed where a name is asked for is refused). With --non-interactive (or \
                when every answer is given as a flag) nothing is asked; standard input that is not a terminal is read \
                for answers, one per line.
                """)

        @Argument(help: "The pipeline's name (letters, digits, . _ -).") var name: String = "photos"
        @OptionGroup var directoryOptions: PipelineDirectoryOptions
        @Flag(help: "Ask nothing: every answer from the flags (or its default).") var nonInteractive = false
        @Option(help: "The folder to ingest, or an rclone remote (NAME:path).") var inbox: String?
        @Option(help: "Where files go: wix or library.") var target: Target?
        @Option(help: "The library folder (target library).") var library: String?
        @Option(help: "The environment variable holding the Wix site id (target wix).") var siteIdEnv: String?
        @Option(help: "The environment variable holding the Wix API key (target wix).") var apiKeyEnv: String?
        @Option(help: "Move files here once their upload is confirmed (\"none\": leave them).") var archive: String?
        @Option(help: "Sidecars (XMP, AAE, Takeout JSON): skip or attach.") var sidecars: String?
        @Flag(help: "Replace an existing pipeline file.") var force = false

        enum Target: String, ExpressibleByArgument, CaseIterable {
            case wix, library
        }

        /// The answers, once asked.
        struct Answers {
            var inbox: String
            var target: Target
            var library: String
            var siteIDEnv: String
            var apiKeyEnv: String
            var archive: String?
            var sidecars: String
        }

        func validate() throws {
            guard PipelineScaffold.isValidName(name) else {
                throw ValidationError("\"\(name)\" is not a pipeline name: use letters, digits, \".\", \"_\" and \"-\"")
            }
            for (flag, value) in [("--site-id-env", siteIdEnv), ("--api-key-env", apiKeyEnv)] {
                if let value, let problem = PipelineScaffold.environmentNameProblem(value) {
                    throw ValidationError("\(flag): \(problem)")
                }
            }
            if let sidecars, !["skip", "attach"].contains(sidecars) {
                throw ValidationError("--sidecars: expected skip or attach, got \"\(sidecars)\"")
            }
        }

        func run() async throws {
            let folder = directoryOptions.directory
            let path = folder + "/" + name + ".json"
            if FileManager.default.fileExists(atPath: path) && !force {
                Console.error("ingest: \(path) exists; use --force to replace it")
                throw IngestExitCode.configurationError.exitCode
            }
            var prompt = Prompt(interactive: !nonInteractive)
            let answers = try ask(&prompt)
            let text = PipelineScaffold.pipeline(name: name, answers: answers)
            // What is written must be what `ingest check` accepts.
            let builder = PipelineBuilder(registry: CLIEnvironment.registry, tolerateMissingEnvironment: true)
            let result = builder.check(
                data: Data(text.utf8), file: path, baseDirectory: (folder as NSString).deletingLastPathComponent)
            guard result.errors.isEmpty else {
                Console.error("ingest: the answers make an invalid pipeline:")
                for error in result.errors { Console.error("  \(error)") }
                throw IngestExitCode.configurationError.exitCode
            }
            do {
                try FileSystem.createDirectory(folder)
                try FileSystem.writeAtomically(Data(text.utf8), to: path)
                let schema = folder + "/pipeline.schema.json"
                if !FileManager.default.fileExists(atPath: schema) {
                    let document = PipelineSchema.make(registry: CLIEnvironment.registry)
                    try FileSystem.writeAtomically(Data(document.jsonText(pretty: true).utf8), to: schema)
                }
            } catch {
                Console.error("ingest: cannot write \(path): \(FileSystem.describe(error))")
                throw IngestExitCode.configurationError.exitCode
            }
            Console.out("wrote \(path)")
            if answers.target == .wix {
                Console.out(
                    "set \(answers.siteIDEnv) and \(answers.apiKeyEnv) in the environment (never in the file), then:")
            } else {
                Console.out("then:")
            }
            Console.out("  ingest doctor \(name)          # checks the folders, the ledger and the credentials")
            Console.out("  ingest run \(name) --dry-run   # shows what would happen")
            Console.out("  ingest run \(name)")
        }

        func ask(_ prompt: inout Prompt) throws -> Answers {
            let inbox = try prompt.ask(
                "Inbox to ingest: a folder, or an rclone remote (NAME:path)", given: self.inbox, default: "inbox")
            let target = try Target(
                rawValue: prompt.ask(
                    "Target (wix or library)", given: self.target?.rawValue, default: "wix",
                    check: { Target(rawValue: $0) == nil ? "answer wix or library" : nil }))!
            var answers = Answers(
                inbox: inbox, target: target, library: "library", siteIDEnv: "WIX_SITE_ID", apiKeyEnv: "WIX_API_KEY",
                archive: nil, sidecars: "skip")
            switch target {
            case .library:
                answers.library = try prompt.ask("Library folder", given: library, default: "library")
            case .wix:
                answers.siteIDEnv = try prompt.ask(
                    "Environment variable holding the Wix site id", given: siteIdEnv, default: "WIX_SITE_ID",
                    check: PipelineScaffold.environmentNameProblem)
                answers.apiKeyEnv = try prompt.ask(
                    "Environment variable holding the Wix API key (its name, not the key)", given: apiKeyEnv,
                    default: "WIX_API_KEY", check: PipelineScaffold.environmentNameProblem)
            }
            let archive = try prompt.ask(
                "Archive folder for sent files (none to leave them)", given: self.archive, default: "none")
            answers.archive = archive == "none" || archive.isEmpty ? nil : archive
            answers.sidecars = try prompt.ask(
                "Sidecars (XMP, AAE, Takeout JSON) — skip, or attach their times and captions", given: sidecars,
                default: "skip", check: { ["skip", "attach"].contains($0) ? nil : "answer skip or attach" })
            return answers
        }
    }
}

/// Questions on the terminal (or answers read from standard input, one per line), with defaults.
struct Prompt {
    let interactive: Bool
    let showsQuestions = Console.stdinIsTerminal

    /// The answer to `question`: the flag's value when given, else what the user types (the default for an empty line
    /// or the end of input), checked by `check` (a problem is shown and the question asked again; without a terminal,
    /// it ends the command).
    mutating func ask(
        _ question: String, given: String?, default fallback: String, check: (String) -> String? = { _ in nil }
    ) throws -> String {
        if let given { return given }
        guard interactive else { return fallback }
        while true {
            if showsQuestions { FileHandle.standardError.write(Data("\(question) [\(fallback)]: ".utf8)) }
            let line = readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces)
            let answer = (line?.isEmpty ?? true) ? fallback : line!
            guard let problem = check(answer) else { return answer }
            Console.error("  \(problem)")
            if !showsQuestions || line == nil { throw IngestExitCode.configurationError.exitCode }
        }
    }
}

/// The pipeline `ingest init` writes.
enum PipelineScaffold {
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 100
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0))
            }
    }

    /// Why `text` is not an environment variable's name (`nil` when it is one). A value pasted where a name was
    /// asked for — an API key — is refused, so it never reaches the file.
    static func environmentNameProblem(_ text: String) -> String? {
        let valid =
            !text.isEmpty && text.count <= 64 && text.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } == true
            && text.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
        guard valid else {
            return
                "\"\(text.prefix(6))…\" is not an environment variable's name (letters, digits and _): give the NAME of the variable that holds the value, never the value"
        }
        return nil
    }

    static func pipeline(name: String, answers: IngestCommand.Init.Answers) -> String {
        func quoted(_ text: String) -> String { JSONValue.string(text).jsonText() }
        var stages: [String] = []
        // A remote (`dropbox:Clients`) is read through rclone; a folder directly.
        var source =
            RemoteName.names(answers.inbox)
            ? #"{"kind": "source.remote", "with": {"remote": \#(quoted(answers.inbox)), "minAge": "60s""#
            : #"{"kind": "source.directory", "with": {"path": \#(quoted(answers.inbox)), "minAge": "60s""#
        if answers.sidecars != "skip", !RemoteName.names(answers.inbox) {
            source += #", "sidecars": \#(quoted(answers.sidecars))"#
        }
        stages.append(source + "}}")
        stages.append(#"{"kind": "detect.mime"}"#)
        stages.append(
            #"{"kind": "strip.metadata", "when": {"mime": ["image/*", "video/*", "audio/mp4", "audio/x-m4a"]}, "with": {"keep": ["orientation", "icc"]}}"#
        )
        stages.append(
            #"{"kind": "validate", "with": {"profile": "wix", "quarantine": \#(quoted(".ingest/\(name)-quarantine"))}}"#
        )
        switch answers.target {
        case .wix:
            let connection =
                #""baseURL": "${WIX_BASE_URL:-https://www.wixapis.com}", "siteId": \#(quoted("${\(answers.siteIDEnv)}")), "apiKey": {"env": \#(quoted(answers.apiKeyEnv))}"#
            stages.append(#"{"kind": "upload.wix", "with": {\#(connection), "filePath": "/ingest/{yyyy}/{mm}"}}"#)
            stages.append(#"{"kind": "wix.await-ready", "with": {\#(connection)}}"#)
        case .library:
            stages.append(#"{"kind": "upload.library", "with": {"path": \#(quoted(answers.library))}}"#)
        }
        if let archive = answers.archive {
            stages.append(#"{"kind": "source.archive", "with": {"to": \#(quoted(archive))}}"#)
        }
        stages.append(#"{"kind": "report.manifest", "with": {"path": \#(quoted(".ingest/\(name)-manifest.jsonl"))}}"#)
        let target = answers.target == .wix ? "the Wix Media Manager" : "the local library \(answers.library)"
        return """
            {
              "$schema": "./pipeline.schema.json",
              "name": \(quoted(name)),
              "description": \(quoted("\(answers.inbox) stripped, validated and sent to \(target) (written by ingest init)")),
              "concurrency": 4,
              "stages": [
                \(stages.joined(separator: ",\n    "))
              ]
            }

            """
    }
}
