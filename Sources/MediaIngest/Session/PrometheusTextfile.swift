import Foundation

/// Writes a run's numbers in the Prometheus text exposition format, for node_exporter's textfile collector:
/// written to a temporary file and renamed, so the collector never reads half a file.
public enum PrometheusTextfile {
    /// The text of the metrics for one run.
    public static func render(_ report: RunReport, exitCode: Int32) -> String {
        let pipeline = report.pipeline.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
            of: "\"", with: "\\\"")
        var lines: [String] = []
        func metric(_ name: String, _ help: String, _ type: String, _ samples: [(String, String)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            for (labels, value) in samples { lines.append("\(name){pipeline=\"\(pipeline)\"\(labels)} \(value)") }
        }
        metric(
            "ingest_last_run_timestamp_seconds", "When the last run finished (Unix time).", "gauge",
            [("", String(Int(report.finishedAt.timeIntervalSince1970)))])
        metric(
            "ingest_last_run_duration_seconds", "How long the last run took.", "gauge",
            [("", String(format: "%.3f", report.durationSeconds))])
        metric(
            "ingest_last_run_exit_code",
            "The exit code of the last run (0 success, 1 some failed, 4 lock held, 5 aborted…).", "gauge",
            [("", String(exitCode))])
        metric(
            "ingest_last_run_assets", "Assets of the last run by outcome.", "gauge",
            AssetStatus.allCases.map { (",status=\"\($0.rawValue)\"", String(report.counts[$0.rawValue] ?? 0)) })
        metric("ingest_last_run_bytes", "Bytes stored by the last run.", "gauge", [("", String(report.bytesDone))])
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the metrics of one run to `path` (creating its folder), atomically.
    public static func write(_ report: RunReport, exitCode: Int32, to path: String) throws {
        try FileSystem.createDirectory((path as NSString).deletingLastPathComponent)
        try FileSystem.writeAtomically(Data(render(report, exitCode: exitCode).utf8), to: path)
    }
}
