import IngestStages

/// Versions of the libraries `ingest` links, for `ingest version`.
enum ToolVersions {
    static var all: [(String, String)] {
        var result: [(String, String)] = []
        #if swift(>=6.3)
        result.append(("swift", "6.3 or later"))
        #else
        result.append(("swift", "6.x"))
        #endif
        for (key, value) in LibraryVersions.all { result.append((key, value)) }
        return result
    }
}
