/// A text with `{name}` placeholders from a fixed set, parsed once when a stage is built (so a typo is a configuration
/// error, not a surprise per file) and rendered per asset: `upload.wix`'s `filePath`, `rename.template`'s names.
public struct PlaceholderTemplate: Sendable, Hashable {
    /// A literal run or a placeholder.
    public enum Part: Sendable, Hashable {
        case text(String)
        case placeholder(String)
    }

    /// Why a template does not parse.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        /// Creates a problem.
        public init(message: String) { self.message = message }
    }

    /// The parts, in order.
    public let parts: [Part]

    /// Parses `template`, allowing only `placeholders`.
    /// - Throws: ``Problem`` for an unknown placeholder or an unclosed brace.
    public init(_ template: String, placeholders: [String]) throws(Problem) {
        var parts: [Part] = []
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { parts.append(.text(String(rest[..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw Problem(message: "unclosed \"{\" in \"\(template)\"")
            }
            let name = String(rest[rest.index(after: open)..<close])
            guard placeholders.contains(name) else {
                throw Problem(
                    message:
                        "unknown placeholder {\(name)}; use \(placeholders.map { "{\($0)}" }.joined(separator: " "))")
            }
            parts.append(.placeholder(name))
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        self.parts = parts
    }

    /// `true` when the template uses `name`.
    public func uses(_ name: String) -> Bool { parts.contains(.placeholder(name)) }

    /// `true` when any literal part satisfies `predicate`.
    public func anyText(_ predicate: (String) -> Bool) -> Bool {
        parts.contains {
            if case .text(let text) = $0 { return predicate(text) }
            return false
        }
    }

    /// The text with each placeholder replaced by `value(name)`.
    public func render(_ value: (String) -> String) -> String {
        parts.map { part in
            switch part {
            case .text(let text): return text
            case .placeholder(let name): return value(name)
            }
        }.joined()
    }
}
