import Foundation

/// Shell completion of pipeline names: the `NAME.json` files of the pipelines folder — the one `--pipelines` names on
/// the command line being completed, else `$INGEST_PIPELINES`, else `pipelines/` in the current folder.
enum PipelineCompletion {
    /// The candidates for the word at `index` of `words` that starts with `prefix`.
    @Sendable static func names(_ words: [String], _ index: Int, _ prefix: String) -> [String] {
        var folder = ProcessInfo.processInfo.environment["INGEST_PIPELINES"] ?? "pipelines"
        for (position, word) in words.enumerated() {
            if word == "--pipelines", position + 1 < words.count, position + 1 != index {
                folder = words[position + 1]
            } else if word.hasPrefix("--pipelines=") {
                folder = String(word.dropFirst("--pipelines=".count))
            }
        }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return files.filter { $0.hasSuffix(".json") && !$0.hasSuffix(".schema.json") && !$0.hasPrefix(".") }
            .map { String($0.dropLast(5)) }
            .filter { $0.hasPrefix(prefix) }
            .sorted()
    }
}
