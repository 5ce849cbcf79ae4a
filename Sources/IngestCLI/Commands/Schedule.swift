import ArgumentParser
import Foundation
import MediaIngest

extension IngestCommand {
    /// `ingest schedule NAME --cron EXPR [--install|--remove]`.
    struct Schedule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print (or install) the cron line, or the systemd units, that run a pipeline.",
            discussion: """
                The line uses the absolute path of this ingest binary, changes into the project folder, runs with \
                --quiet (cron mails any output, so there is output only when something failed) and appends logs to \
                .ingest/NAME.log (rotated at 10 MB). --install adds it to your crontab, replacing an earlier line for \
                the same pipeline and folder; --remove takes it out.

                --systemd prints systemd user units instead: ingest-NAME-watch.service (runs `ingest watch NAME`; \
                `systemctl --user reload` sends SIGHUP) and, as an alternative to cron, ingest-NAME.timer with its \
                one-shot ingest-NAME.service (--on-calendar, default every 15 minutes). With --install they are \
                written to ~/.config/systemd/user and the commands that enable them are printed; --remove deletes them.
                """)

        @Argument(help: "The pipeline: a NAME in the pipelines folder.", completion: .custom(PipelineCompletion.names))
        var pipeline: String
        @OptionGroup var directoryOptions: PipelineDirectoryOptions
        @Option(help: "A cron expression: five fields (minute hour day-of-month month day-of-week) or @hourly, @daily…")
        var cron: String = "*/15 * * * *"
        @Flag(help: "Print systemd user units (a watch service; a timer and its run service) instead of a cron line.")
        var systemd = false
        @Option(help: "With --systemd: the timer's OnCalendar= expression.") var onCalendar: String = "*:0/15"
        @Flag(help: "Add the line to the user's crontab (idempotent).") var install = false
        @Flag(help: "Remove this pipeline's line from the user's crontab.") var remove = false

        func validate() throws {
            if install && remove { throw ValidationError("--install and --remove cannot be combined") }
            do {
                try CronExpression.validate(cron)
            } catch {
                throw ValidationError("--cron \"\(cron)\": \(error.message)")
            }
        }

        func run() async throws {
            let pipeline = try loadPipelineForState(self.pipeline, directoryOptions)
            let executable = URL(
                fileURLWithPath: CommandLine.arguments[0],
                relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            )
            .standardizedFileURL.resolvingSymlinksInPath().path
            let project = pipeline.baseDirectory
            if systemd {
                try runSystemd(
                    SystemdUnits(
                        pipeline: pipeline.name, project: project, executable: executable, onCalendar: onCalendar))
                return
            }
            let marker = "# media-ingest:\(pipeline.name):\(project)"
            let log = ".ingest/\(pipeline.name).log"
            let line =
                "\(cron) cd \(Self.quote(project)) && \(Self.quote(executable)) run \(Self.quote(pipeline.name)) --quiet --log-file \(Self.quote(log)) \(marker)"
            guard install || remove else {
                Console.out(line)
                return
            }
            let current = try Self.readCrontab()
            var lines = current.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter {
                !$0.hasSuffix(marker)
            }
            while lines.last == "" { lines.removeLast() }
            if install { lines.append(line) }
            try Self.writeCrontab(lines.joined(separator: "\n") + "\n")
            Console.out(install ? "installed: \(line)" : "removed the cron line of \(pipeline.name) in \(project)")
        }

        private func runSystemd(_ units: SystemdUnits) throws {
            let folder = SystemdUnits.userUnitFolder
            if remove {
                for file in units.files { try? FileManager.default.removeItem(atPath: folder + "/" + file.name) }
                Console.out("removed \(units.files.map(\.name).joined(separator: ", ")) from \(folder)")
                Console.out("then: systemctl --user daemon-reload")
                return
            }
            guard install else {
                for file in units.files { Console.out("# \(folder)/\(file.name)\n\(file.text)") }
                return
            }
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for file in units.files {
                try file.text.write(toFile: folder + "/" + file.name, atomically: true, encoding: .utf8)
                Console.out("installed \(folder)/\(file.name)")
            }
            Console.out(
                """
                then: systemctl --user daemon-reload
                      systemctl --user enable --now \(units.baseName)-watch.service   # watch the inbox
                   or systemctl --user enable --now \(units.baseName).timer           # scheduled runs instead
                (loginctl enable-linger $USER keeps them running after you log out)
                """)
        }

        static func quote(_ text: String) -> String {
            text.allSatisfy { $0.isLetter || $0.isNumber || "/._-+:@".contains($0) }
                ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }

        static func readCrontab() throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["crontab", "-l"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            // `crontab -l` exits 1 when the user has no crontab yet.
            return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : ""
        }

        static func writeCrontab(_ text: String) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["crontab", "-"]
            let input = Pipe()
            process.standardInput = input
            try process.run()
            input.fileHandleForWriting.write(Data(text.utf8))
            try input.fileHandleForWriting.close()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw CLIError.configuration("crontab refused the new table (exit \(process.terminationStatus))")
            }
        }
    }
}

/// Checks cron expressions (vixie/cronie syntax): five fields with numbers, ranges, steps, lists, `*`, month and
/// weekday names, or an `@` shortcut.
enum CronExpression {
    struct Problem: Error { var message: String }

    static let shortcuts = ["@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]
    static let fields: [(name: String, range: ClosedRange<Int>, names: [String])] = [
        ("minute", 0...59, []), ("hour", 0...23, []), ("day of month", 1...31, []),
        ("month", 1...12, ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]),
        ("day of week", 0...7, ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]),
    ]

    static func validate(_ expression: String) throws(Problem) {
        let trimmed = expression.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("@") {
            guard shortcuts.contains(trimmed.lowercased()) else {
                throw Problem(message: "unknown shortcut; use one of \(shortcuts.joined(separator: " "))")
            }
            return
        }
        let parts = trimmed.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard parts.count == 5 else {
            throw Problem(message: "expected 5 fields (minute hour day-of-month month day-of-week), got \(parts.count)")
        }
        for (part, field) in zip(parts, fields) {
            for item in part.split(separator: ",", omittingEmptySubsequences: false) {
                try check(String(item).lowercased(), field: field)
            }
        }
    }

    static func check(_ item: String, field: (name: String, range: ClosedRange<Int>, names: [String])) throws(Problem) {
        func value(_ text: Substring) -> Int? {
            if let number = Int(text), field.range.contains(number) { return number }
            if let index = field.names.firstIndex(of: String(text)) { return index + field.range.lowerBound }
            return nil
        }
        let pieces = item.split(separator: "/", omittingEmptySubsequences: false)
        guard pieces.count <= 2, let base = pieces.first, !base.isEmpty else {
            throw Problem(message: "\(field.name): \"\(item)\" is not valid")
        }
        if pieces.count == 2 {
            guard let step = Int(pieces[1]), step >= 1, step <= field.range.upperBound else {
                throw Problem(message: "\(field.name): bad step in \"\(item)\"")
            }
        }
        if base == "*" { return }
        let bounds = base.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count <= 2 else { throw Problem(message: "\(field.name): \"\(item)\" is not valid") }
        let values = bounds.map(value)
        if let bad = zip(bounds, values).first(where: { $0.1 == nil }) {
            throw Problem(
                message: "\(field.name): \"\(bad.0)\" is outside \(field.range.lowerBound)-\(field.range.upperBound)")
        }
        if values.count == 2, let low = values[0], let high = values[1], high < low {
            throw Problem(message: "\(field.name): range \"\(base)\" runs backwards")
        }
    }
}
