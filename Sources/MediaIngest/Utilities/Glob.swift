import Foundation

/// A file-name pattern, matched against paths relative to a source root (`2024/trip/IMG_0001.JPG`).
///
/// - `*` matches any run of characters except `/`; `?` one character except `/`.
/// - `**` matches any run of whole path segments, including none: `**/*.jpg`, `raw/**`.
/// - `[abc]`, `[a-z]`, `[!abc]` match one character from (or not from) a set.
/// - `{jpg,jpeg,png}` matches any of the alternatives.
/// - A pattern without `/` matches the file name at any depth (`*.jpg` matches `a/b/c.jpg`), as in `.gitignore`.
/// - Matching is case-sensitive unless the pattern is created with `caseInsensitive: true`.
public struct Glob: OptionValue, Hashable, CustomStringConvertible {
    /// The pattern as written.
    public let pattern: String
    /// Whether letters match regardless of case.
    public let caseInsensitive: Bool
    private let alternatives: [[Character]]
    private let anchored: Bool

    /// Compiles a pattern.
    /// - Throws: ``GlobError`` for an unclosed `[` or `{`.
    public init(_ pattern: String, caseInsensitive: Bool = false) throws {
        self.pattern = pattern
        self.caseInsensitive = caseInsensitive
        var text = pattern
        if text.hasPrefix("./") { text.removeFirst(2) }
        if text.hasPrefix("/") { text.removeFirst() }
        self.anchored = text.contains("/")
        let expanded = try Glob.expandBraces(text)
        self.alternatives = expanded.map { Array(caseInsensitive ? $0.lowercased() : $0) }
        for alternative in alternatives {
            var index = 0
            while index < alternative.count {
                if alternative[index] == "[" {
                    guard let close = Glob.classEnd(alternative, from: index) else {
                        throw GlobError(pattern: pattern, reason: "unclosed \"[\"")
                    }
                    index = close
                }
                index += 1
            }
        }
    }

    public var description: String { pattern }

    /// `true` when `path` (relative, `/`-separated) matches.
    public func matches(_ path: String) -> Bool {
        let subject = caseInsensitive ? path.lowercased() : path
        let target: [Character]
        if anchored {
            target = Array(subject)
        } else {
            target = Array(subject.split(separator: "/").last.map(String.init) ?? subject)
        }
        return alternatives.contains { Glob.match(Array($0), 0, target, 0) }
    }

    private static func match(_ pattern: [Character], _ p: Int, _ text: [Character], _ t: Int) -> Bool {
        var p = p, t = t
        while p < pattern.count {
            let character = pattern[p]
            if character == "*" {
                let isDouble = p + 1 < pattern.count && pattern[p + 1] == "*"
                if isDouble {
                    var next = p + 2
                    // A trailing `**` matches whatever is left.
                    if next >= pattern.count { return true }
                    if pattern[next] == "/" {
                        // `**/` matches zero or more whole segments.
                        next += 1
                        if match(pattern, next, text, t) { return true }
                        var position = t
                        while let slash = text[position...].firstIndex(of: "/") {
                            if match(pattern, next, text, slash + 1) { return true }
                            position = slash + 1
                        }
                        return false
                    }
                    // `**` inside a segment behaves like a `*` that also crosses "/".
                    for position in t...text.count where match(pattern, next, text, position) { return true }
                    return false
                }
                // single star: any run without "/"
                var position = t
                while true {
                    if match(pattern, p + 1, text, position) { return true }
                    if position >= text.count || text[position] == "/" { return false }
                    position += 1
                }
            }
            guard t < text.count else { return false }
            switch character {
            case "?":
                if text[t] == "/" { return false }
            case "[":
                guard let close = classEnd(pattern, from: p) else { return false }
                if text[t] == "/" || !classMatches(pattern[(p + 1)..<close], text[t]) { return false }
                p = close
            case "\\" where p + 1 < pattern.count:
                p += 1
                if pattern[p] != text[t] { return false }
            default:
                if character != text[t] { return false }
            }
            p += 1
            t += 1
        }
        return t == text.count
    }

    private static func classEnd(_ pattern: [Character], from start: Int) -> Int? {
        var index = start + 1
        if index < pattern.count && (pattern[index] == "!" || pattern[index] == "^") { index += 1 }
        if index < pattern.count && pattern[index] == "]" { index += 1 }
        while index < pattern.count {
            if pattern[index] == "]" { return index }
            index += 1
        }
        return nil
    }

    private static func classMatches(_ set: ArraySlice<Character>, _ character: Character) -> Bool {
        var set = set
        var negate = false
        if let first = set.first, first == "!" || first == "^" {
            negate = true
            set = set.dropFirst()
        }
        let items = Array(set)
        var matched = false
        var index = 0
        while index < items.count {
            if index + 2 < items.count && items[index + 1] == "-" {
                if items[index] <= character && character <= items[index + 2] { matched = true }
                index += 3
            } else {
                if items[index] == character { matched = true }
                index += 1
            }
        }
        return matched != negate
    }

    /// Expands `{a,b}` alternatives (nested braces allowed).
    static func expandBraces(_ text: String) throws -> [String] {
        let characters = Array(text)
        guard let open = characters.firstIndex(of: "{") else { return [text] }
        var depth = 0
        var close: Int?
        var commas: [Int] = []
        for index in open..<characters.count {
            switch characters[index] {
            case "{": depth += 1
            case "}":
                depth -= 1
                if depth == 0 { close = index }
            case "," where depth == 1: commas.append(index)
            default: break
            }
            if close != nil { break }
        }
        guard let close else { throw GlobError(pattern: text, reason: "unclosed \"{\"") }
        let prefix = String(characters[..<open])
        let suffix = String(characters[(close + 1)...])
        let bounds = [open] + commas + [close]
        var options: [String] = []
        for index in 0..<(bounds.count - 1) {
            options.append(String(characters[(bounds[index] + 1)..<bounds[index + 1]]))
        }
        var results: [String] = []
        for option in options {
            for tail in try expandBraces(option + suffix) { results.append(prefix + tail) }
        }
        return results
    }

    public static var optionTypeName: String { "glob" }
    public static var optionSchema: JSONValue { ["type": "string", "minLength": 1] }
    public init(option input: OptionInput) throws {
        guard let text = input.value.stringValue, !text.isEmpty else {
            throw input.typeMismatch(expected: "a glob pattern like \"**/*.jpg\"")
        }
        do {
            try self.init(text)
        } catch let error as GlobError {
            throw input.error("invalid pattern \"\(text)\": \(error.reason)")
        }
    }
    public var optionJSON: JSONValue { .string(pattern) }
}

/// A malformed glob pattern.
public struct GlobError: Error, Sendable, Hashable {
    /// The pattern.
    public var pattern: String
    /// What is wrong.
    public var reason: String
}
