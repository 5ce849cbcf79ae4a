import Foundation

/// The systemd units `ingest schedule NAME --systemd` prints or installs: a service for `ingest watch` (SIGHUP via
/// `systemctl reload`, SIGTERM to stop) and, as an alternative to cron, a timer with its one-shot `ingest run`
/// service.
struct SystemdUnits {
    var pipeline: String
    var project: String
    var executable: String
    var onCalendar: String

    /// The units' base name: `ingest-NAME` with anything systemd would not take in a unit name replaced.
    var baseName: String {
        let safe = pipeline.map { $0.isLetter || $0.isNumber || "_.-".contains($0) ? String($0) : "_" }.joined()
        return "ingest-\(safe)"
    }

    /// File name → contents.
    var files: [(name: String, text: String)] {
        let executable = Self.quote(self.executable)
        let name = Self.quote(pipeline)
        return [
            (
                "\(baseName)-watch.service",
                """
                [Unit]
                Description=MediaIngest: watch and ingest pipeline \(pipeline)
                After=network-online.target
                Wants=network-online.target

                [Service]
                Type=exec
                WorkingDirectory=\(project)
                ExecStart=\(executable) watch \(name)
                ExecReload=/bin/kill -HUP $MAINPID
                KillSignal=SIGTERM
                TimeoutStopSec=120
                Restart=on-failure
                RestartSec=10

                [Install]
                WantedBy=default.target

                """
            ),
            (
                "\(baseName).service",
                """
                [Unit]
                Description=MediaIngest: one run of pipeline \(pipeline)
                After=network-online.target
                Wants=network-online.target

                [Service]
                Type=oneshot
                WorkingDirectory=\(project)
                ExecStart=\(executable) run \(name) --quiet --log-file .ingest/\(Self.escapePercent(pipeline)).log
                TimeoutStopSec=120

                """
            ),
            (
                "\(baseName).timer",
                """
                [Unit]
                Description=MediaIngest: run pipeline \(pipeline) on a schedule (instead of cron)

                [Timer]
                OnCalendar=\(onCalendar)
                Persistent=true
                RandomizedDelaySec=30

                [Install]
                WantedBy=timers.target

                """
            ),
        ]
    }

    /// The user's unit folder: `$XDG_CONFIG_HOME/systemd/user` or `~/.config/systemd/user`.
    static var userUnitFolder: String {
        let environment = ProcessInfo.processInfo.environment
        let config = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.config"
        return config + "/systemd/user"
    }

    /// A word of `ExecStart=`: double-quoted when it needs to be, with `\`, `"`, `$` and `%` escaped for systemd.
    static func quote(_ word: String) -> String {
        let escaped = escapePercent(word).replacingOccurrences(of: "$", with: "$$")
        guard escaped.contains(where: { $0 == " " || $0 == "\"" || $0 == "\\" || $0 == "'" || $0 == "\t" }) else {
            return escaped
        }
        return "\"" + escaped.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }

    static func escapePercent(_ text: String) -> String { text.replacingOccurrences(of: "%", with: "%%") }
}
