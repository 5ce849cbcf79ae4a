import Foundation

/// One mistake in a pipeline file: where it is, what is wrong, and, where we can tell, the fix.
///
/// Printed as `stages[3].with.maxBytes: expected a size like "25MB", got true`.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where in the pipeline file the mistake is.
    public var path: JSONPath
    /// What is wrong, in one line.
    public var message: String
    /// A likely fix, such as the closest valid name (`did you mean "maxBytes"?`).
    public var suggestion: String?

    /// Creates an error at `path`.
    public init(at path: JSONPath, _ message: String, suggestion: String? = nil) {
        self.path = path
        self.message = message
        self.suggestion = suggestion
    }

    public var description: String {
        var text = "\(path): \(message)"
        if let suggestion { text += " (\(suggestion))" }
        return text
    }

    /// A "did you mean" suggestion for `name` among `candidates`, or `nil` when nothing is close.
    public static func didYouMean(_ name: String, among candidates: some Sequence<String>) -> String? {
        guard let best = closestMatch(to: name, in: candidates) else { return nil }
        return "did you mean \"\(best)\"?"
    }
}

/// All the mistakes found in one pipeline file, reported together.
public struct PipelineConfigurationError: Error, Sendable, CustomStringConvertible {
    /// The pipeline file (or a description of the input).
    public var file: String
    /// Every mistake found, in document order.
    public var errors: [ConfigError]

    /// Creates the error for `file`.
    public init(file: String, errors: [ConfigError]) {
        self.file = file
        self.errors = errors.sorted { $0.path < $1.path }
    }

    public var description: String {
        let count = errors.count == 1 ? "1 error" : "\(errors.count) errors"
        return "\(file): \(count)\n" + errors.map { "  \($0)" }.joined(separator: "\n")
    }
}

/// The candidate closest to `name` by edit distance (case-insensitive), if it is close enough to be a typo.
public func closestMatch(to name: String, in candidates: some Sequence<String>) -> String? {
    let lowered = name.lowercased()
    var best: (candidate: String, distance: Int)?
    for candidate in candidates {
        let distance = editDistance(lowered, candidate.lowercased())
        if best == nil || distance < best!.distance { best = (candidate, distance) }
    }
    guard let best else { return nil }
    // Accept up to a third of the longer word, at least 2 edits; a prefix or suffix match also counts.
    let limit = max(2, max(name.count, best.candidate.count) / 3)
    if best.distance <= limit { return best.candidate }
    if let prefixed = candidates.first(where: {
        $0.lowercased().hasPrefix(lowered) || lowered.hasPrefix($0.lowercased())
    }) {
        return prefixed
    }
    return nil
}

/// Levenshtein distance with transpositions counted as one edit (optimal string alignment).
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous2 = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                value = min(value, previous2[j - 2] + 1)
            }
            current[j] = value
        }
        (previous2, previous, current) = (previous, current, previous2)
    }
    return previous[b.count]
}
