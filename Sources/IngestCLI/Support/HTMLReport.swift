import Foundation
import IngestState
import MediaIngest

/// One run's report as a single HTML file to open in a browser: counts, throughput over time (an inline SVG chart),
/// the slowest files, rejections and failures grouped by code with examples, retries by kind, and the tools' versions.
///
/// Self-contained: inline CSS and SVG, no script, no font, no image, nothing fetched. Every name and reason in it goes
/// through the one display rule (``Swift/String/displaySafe``) and is then HTML-escaped, so a file named `<script>`
/// shows as text. Figures carry `data-` attributes for tools (and the tests) to read back.
enum HTMLReport {
    static func render(pipeline: String, run: RecordedRun) -> String {
        var page = Page()
        let report = run.report
        let title = "ingest report — \(pipeline) — run \(run.id)"
        page.add("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        page.add("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        page.add("<title>\(escape(title))</title><style>\(style)</style></head><body>")
        page.add("<h1>\(escape(pipeline)) <small>run \(escape(run.id))</small></h1>")
        let ended = run.finishedAt.map { ISO8601.string(from: $0) } ?? "did not finish"
        var facts: [(String, String)] = [
            ("started", ISO8601.string(from: run.startedAt)), ("finished", ended),
            ("exit code", run.exitCode.map(String.init) ?? "—"),
        ]
        if let host = run.host { facts.append(("host", host)) }
        if let report {
            facts.append(("duration", String(format: "%.1f s", report.durationSeconds)))
            facts.append(("outcome", report.outcome.rawValue))
            if let reason = report.aborted ?? report.interrupted { facts.append(("stopped because", reason)) }
        }
        page.add("<dl class=\"facts\">")
        for (key, value) in facts { page.add("<dt>\(escape(key))</dt><dd>\(escape(value))</dd>") }
        page.add("</dl>")
        guard let report else {
            page.add("<p class=\"note\">This run kept no report (it did not finish, or an older ingest ran it).</p>")
            page.add("</body></html>")
            return page.text
        }
        counts(report, into: &page)
        timeline(report, into: &page)
        slowest(report, into: &page)
        problems(report, into: &page)
        retries(report, into: &page)
        tools(report, into: &page)
        page.add("<footer>Written by ingest \(escape(IngestVersion.string)) from the ledger.</footer></body></html>")
        return page.text
    }

    struct Page {
        var lines: [String] = []
        mutating func add(_ line: String) { lines.append(line) }
        var text: String { lines.joined(separator: "\n") + "\n" }
    }

    static func counts(_ report: RunReport, into page: inout Page) {
        let seconds = max(report.durationSeconds, 0.001)
        page.add("<h2>Counts</h2><table class=\"counts\"><tr>")
        let shown = ["done", "rejected", "failed", "skipped", "planned"]
        for status in shown { page.add("<th>\(status)</th>") }
        page.add("<th>deferred</th><th>not started</th><th>bytes done</th><th>files/s</th><th>MB/s</th></tr><tr>")
        for status in shown {
            let count = report.counts[status] ?? 0
            page.add("<td id=\"count-\(status)\" data-count=\"\(count)\">\(count)</td>")
        }
        let finished = (report.counts["done"] ?? 0) + (report.counts["rejected"] ?? 0) + (report.counts["failed"] ?? 0)
        page.add("<td id=\"count-deferred\" data-count=\"\(report.deferred)\">\(report.deferred)</td>")
        page.add("<td id=\"count-not-started\" data-count=\"\(report.notStarted)\">\(report.notStarted)</td>")
        page.add("<td id=\"bytes-done\" data-bytes=\"\(report.bytesDone)\">\(bytes(report.bytesDone))</td>")
        page.add("<td>\(String(format: "%.1f", Double(finished) / seconds))</td>")
        page.add("<td>\(String(format: "%.2f", Double(report.bytesDone) / 1e6 / seconds))</td></tr></table>")
    }

    /// Files done (and rejected, failed) per interval, as an SVG chart: up to 120 bars over the run.
    static func timeline(_ report: RunReport, into page: inout Page) {
        let points = report.summary.timeline
        page.add("<h2>Throughput</h2>")
        guard let last = points.last?.second else {
            page.add("<p class=\"note\">No file left the pipeline.</p>")
            return
        }
        let span = max(last + 1, Int(report.durationSeconds.rounded(.up)), 1)
        let width = max(1, Int((Double(span) / 120).rounded(.up)))
        var bins = [(done: Int, other: Int, bytes: Int64)](repeating: (0, 0, 0), count: span / width + 1)
        for point in points {
            let bin = point.second / width
            bins[bin].done += point.done
            bins[bin].other += point.rejected + point.failed
            bins[bin].bytes += point.bytes
        }
        let peak = max(1, bins.map { $0.done + $0.other }.max() ?? 1)
        let (chartWidth, chartHeight) = (720.0, 180.0)
        let barWidth = chartWidth / Double(bins.count)
        let done = points.reduce(0) { $0 + $1.done }
        page.add(
            "<svg class=\"timeline\" role=\"img\" viewBox=\"0 0 \(Int(chartWidth)) \(Int(chartHeight) + 24)\" width=\"\(Int(chartWidth))\" data-seconds-per-bar=\"\(width)\" data-total-done=\"\(done)\">"
        )
        page.add("<title>files leaving the pipeline per \(width) s</title>")
        for (index, bin) in bins.enumerated() {
            let x = Double(index) * barWidth
            let doneHeight = chartHeight * Double(bin.done) / Double(peak)
            let otherHeight = chartHeight * Double(bin.other) / Double(peak)
            if bin.done > 0 {
                page.add(
                    "<rect class=\"done\" x=\"\(format(x))\" y=\"\(format(chartHeight - doneHeight))\" width=\"\(format(max(barWidth - 1, 0.5)))\" height=\"\(format(doneHeight))\"><title>\(index * width)–\((index + 1) * width) s: \(bin.done) done, \(bytes(bin.bytes))</title></rect>"
                )
            }
            if bin.other > 0 {
                page.add(
                    "<rect class=\"problem\" x=\"\(format(x))\" y=\"\(format(chartHeight - doneHeight - otherHeight))\" width=\"\(format(max(barWidth - 1, 0.5)))\" height=\"\(format(otherHeight))\"><title>\(index * width)–\((index + 1) * width) s: \(bin.other) rejected or failed</title></rect>"
                )
            }
        }
        page.add("<text x=\"0\" y=\"\(Int(chartHeight) + 18)\">0 s</text>")
        page.add("<text x=\"\(Int(chartWidth))\" y=\"\(Int(chartHeight) + 18)\" text-anchor=\"end\">\(span) s</text>")
        page.add("<text x=\"4\" y=\"14\">\(peak) files per \(width) s</text></svg>")
    }

    static func slowest(_ report: RunReport, into page: inout Page) {
        page.add("<h2>Slowest files</h2>")
        guard !report.summary.slowest.isEmpty else {
            page.add("<p class=\"note\">None.</p>")
            return
        }
        page.add("<table class=\"slowest\"><tr><th>file</th><th>status</th><th>seconds</th><th>size</th></tr>")
        for slow in report.summary.slowest {
            page.add(
                "<tr class=\"slow\" data-ms=\"\(slow.durationMs)\"><td>\(escape(slow.path.displaySafe))</td><td>\(slow.status.rawValue)</td><td>\(String(format: "%.2f", Double(slow.durationMs) / 1000))</td><td>\(slow.size.map(bytes) ?? "—")</td></tr>"
            )
        }
        page.add("</table>")
    }

    static func problems(_ report: RunReport, into page: inout Page) {
        for status in [AssetStatus.rejected, .failed] {
            page.add("<h2>\(status == .rejected ? "Rejections" : "Failures") by code</h2>")
            let groups = report.summary.problems.filter { $0.status == status }
            guard !groups.isEmpty else {
                page.add("<p class=\"note\">None.</p>")
                continue
            }
            page.add("<table class=\"problems\"><tr><th>code</th><th>files</th><th>examples</th></tr>")
            for group in groups {
                let examples = group.examples.map {
                    "<li><span class=\"path\">\(escape($0.path.displaySafe))</span> — \(escape($0.reason.displaySafe))</li>"
                }.joined()
                page.add(
                    "<tr class=\"problem\" data-status=\"\(status.rawValue)\" data-code=\"\(escape(group.code))\" data-count=\"\(group.count)\"><td><code>\(escape(group.code))</code></td><td>\(group.count)</td><td><ul>\(examples)</ul></td></tr>"
                )
            }
            page.add("</table>")
        }
    }

    static func retries(_ report: RunReport, into page: inout Page) {
        page.add("<h2>Retries by kind</h2>")
        let retries = report.summary.retries.sorted { $0.value == $1.value ? $0.key < $1.key : $0.value > $1.value }
        guard !retries.isEmpty else {
            page.add("<p class=\"note\">None.</p>")
            return
        }
        page.add("<table class=\"retries\"><tr><th>kind</th><th>retries</th></tr>")
        for (kind, count) in retries {
            page.add(
                "<tr class=\"retry\" data-kind=\"\(escape(kind))\" data-count=\"\(count)\"><td><code>\(escape(kind))</code></td><td>\(count)</td></tr>"
            )
        }
        page.add("</table>")
    }

    static func tools(_ report: RunReport, into page: inout Page) {
        guard !report.info.isEmpty else { return }
        page.add("<h2>Components</h2><dl class=\"facts\">")
        for (name, value) in report.info.sorted(by: { $0.key < $1.key }) {
            page.add("<dt>\(escape(name))</dt><dd><code>\(escape(value.jsonText()))</code></dd>")
        }
        page.add("</dl>")
    }

    /// HTML-escapes text for element content and attribute values alike.
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.append(character)
            }
        }
        return result
    }

    static func bytes(_ count: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func format(_ value: Double) -> String { String(format: "%.1f", value) }

    static let style = """
        body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1d2330}
        h1 small{font-weight:400;color:#667}h2{margin-top:2rem;border-bottom:1px solid #dde;padding-bottom:.2rem}
        table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eef;vertical-align:top}
        th{background:#f5f6fa}td ul{margin:0;padding-left:1.1rem}.path{font-family:ui-monospace,monospace;word-break:break-all}
        dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{color:#667}dd{margin:0;word-break:break-all}
        svg.timeline{max-width:100%;height:auto;background:#fafbfe}rect.done{fill:#3b7ddd}rect.problem{fill:#d9534f}
        svg text{font-size:12px;fill:#556}.note{color:#667}footer{margin-top:3rem;color:#99a;font-size:13px}
        """
}
