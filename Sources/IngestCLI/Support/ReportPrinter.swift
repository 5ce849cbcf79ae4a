import Foundation
import MediaIngest

/// Renders a run report for people.
enum ReportPrinter {
    /// The summary: one line of totals, then every rejected and failed asset with its reason.
    static func human(_ report: RunReport, verbose: Bool = false) -> String {
        var lines: [String] = []
        let seconds = max(report.durationSeconds, 0.001)
        let processed = report.count(.done) + report.count(.rejected) + report.count(.failed) + report.count(.planned)
        var totals: [String] = []
        if report.dryRun {
            totals.append("\(report.count(.planned)) planned")
        } else {
            totals.append("\(report.count(.done)) done")
        }
        totals.append("\(report.count(.rejected)) rejected")
        totals.append("\(report.count(.failed)) failed")
        if report.count(.skipped) > 0 { totals.append("\(report.count(.skipped)) already done") }
        if report.deferred > 0 { totals.append("\(report.deferred) left for later (too new)") }
        let rate = String(format: "%.1f files/s", Double(processed) / seconds)
        let header = "\(report.dryRun ? "dry run of " : "")\(report.pipeline): " + totals.joined(separator: ", ")
        lines.append(
            header + " — \(ByteSize.format(report.bytesDone)) in \(String(format: "%.2f", seconds)) s (\(rate))")

        let rejected = report.assets.filter { $0.status == .rejected }
        if !rejected.isEmpty {
            lines.append("rejected:")
            for record in rejected {
                lines.append(
                    "  \(record.path.displaySafe) — \(record.code ?? "rejected"): \((record.reason ?? "").displaySafe)"
                        + (record.stage.map { " [\($0)]" } ?? ""))
            }
        }
        let failed = report.assets.filter { $0.status == .failed }
        if !failed.isEmpty {
            lines.append("failed (retried by the next run):")
            for record in failed {
                lines.append(
                    "  \(record.path.displaySafe) — \(record.code ?? "error"): \((record.reason ?? "").displaySafe)"
                        + (record.stage.map { " [\($0)]" } ?? ""))
            }
        }
        if !report.problems.isEmpty {
            lines.append("not accounted for (the exit code says so until fixed):")
            for problem in report.problems { lines.append("  " + problem.summary) }
        }
        if verbose || report.dryRun {
            let shown = report.assets.filter { $0.status == .done || $0.status == .planned }
            if !shown.isEmpty {
                lines.append(report.dryRun ? "would continue to stages with side effects:" : "done:")
                for record in shown {
                    var line = "  \(record.path.displaySafe)"
                    if let mime = record.mime { line += " (\(mime.displaySafe))" }
                    if let target = record.target { line += " → \(target.id.displaySafe)" }
                    lines.append(line)
                }
                if report.assetsOmitted > 0 {
                    lines.append("  … and \(report.assetsOmitted) more, not listed here (the manifest has every file)")
                }
            }
        }
        if let interrupted = report.interrupted { lines.append("interrupted: \(interrupted.displaySafe)") }
        if let aborted = report.aborted { lines.append("aborted: \(aborted.displaySafe)") }
        if report.interrupted != nil || report.aborted != nil {
            var left = "\(report.notStarted) file\(report.notStarted == 1 ? "" : "s") listed but not started"
            if !report.listedEverything { left += "; the source was not listed to the end" }
            lines.append(left + " — the next run takes them")
        }
        for (component, info) in report.info.sorted(by: { $0.key < $1.key }) {
            if let manifest = info["manifest"]?.stringValue { lines.append("manifest (\(component)): \(manifest)") }
            if let library = info["library"]?.stringValue { lines.append("library (\(component)): \(library)") }
        }
        return lines.joined(separator: "\n")
    }

    /// The report as pretty JSON.
    static func json(_ report: RunReport) -> String {
        let encoder = RunReport.makeEncoder(pretty: true)
        guard let data = try? encoder.encode(report), let text = String(data: SafeJSON.escaping(data), encoding: .utf8)
        else {
            return "{}"
        }
        return text
    }
}
