import Foundation

/// What makes an SVG unsafe to store and serve: DTD tricks that make XML parsers read files, fetch URLs or expand
/// entities without bound (XXE, parameter entities, "billion laughs"), and active content (scripts, event handlers,
/// `javascript:` URLs, embedded HTML, XInclude).
///
/// The DTD rule is strict: a `DOCTYPE` may name one of the W3C's own SVG DTDs by its public identifier (what SVG 1.0
/// and 1.1 files carry, and what no browser fetches) and nothing more. An internal subset — where entities are
/// declared — or any other external DTD is refused outright, so no parser downstream, however it is configured, gets
/// the chance to resolve one. A document whose declared encoding would hide markup from a byte-level reading
/// (UTF-7, EBCDIC…) is refused too.
public enum SVGSafety {
    /// The public identifiers of the W3C SVG DTDs that may appear in a DOCTYPE.
    static let allowedPublicIDs = [
        "-//w3c//dtd svg 1.0//en", "-//w3c//dtd svg 20010904//en", "-//w3c//dtd svg 1.1//en",
        "-//w3c//dtd svg 1.1 basic//en",
        "-//w3c//dtd svg 1.1 tiny//en", "-//w3c//dtd svg 1.2 tiny//en",
    ]
    static let allowedEncodings: Set<String> = [
        "utf-8", "utf8", "utf-16", "utf-16le", "utf-16be", "us-ascii", "ascii", "iso-8859-1", "latin1", "windows-1252",
    ]

    /// What is wrong with an SVG.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        /// Which kind of danger it is.
        public enum Kind: Sendable, Hashable {
            /// XML-level: entity declarations, external DTDs, internal subsets, XInclude, a hiding encoding.
            case declarations
            /// Browser-level: scripts, event handlers, `javascript:` URLs, embedded HTML.
            case activeContent
        }

        public var kind: Kind
        /// A phrase: "an entity declaration (<!ENTITY: XXE or entity expansion)".
        public var description: String

        /// Creates a problem.
        public init(kind: Kind, description: String) {
            self.kind = kind
            self.description = description
        }
    }

    /// The first problem found in an SVG's text, or `nil` when it is safe.
    public static func problem(in text: String) -> Problem? {
        let lowered = text.lowercased()
        func declarations(_ text: String) -> Problem { Problem(kind: .declarations, description: text) }
        func active(_ text: String) -> Problem { Problem(kind: .activeContent, description: text) }
        if let problem = declarationProblem(lowered) { return declarations(problem) }
        if lowered.contains("<!entity") {
            return declarations("an entity declaration (<!ENTITY: XXE or entity expansion)")
        }
        if lowered.contains("http://www.w3.org/2001/xinclude") || lowered.contains(":include ")
            || lowered.contains("<include ")
        {
            return declarations("an XInclude element (makes XML processors read other files)")
        }
        if lowered.contains("<script") { return active("a <script> element") }
        if lowered.range(of: #"\son[a-z]+\s*="#, options: .regularExpression) != nil {
            return active("an event handler attribute (on…=)")
        }
        if lowered.contains("javascript:") { return active("a javascript: URL") }
        if lowered.contains("<foreignobject") { return active("a <foreignObject> element (embedded HTML)") }
        return nil
    }

    /// The XML declaration's encoding and the DOCTYPE.
    static func declarationProblem(_ text: String) -> String? {
        if text.hasPrefix("<?xml"), let end = text.range(of: "?>") {
            let declaration = text[..<end.lowerBound]
            if let encoding = declaration.range(of: #"encoding\s*=\s*["'][^"']*["']"#, options: .regularExpression) {
                let value =
                    declaration[encoding].split(whereSeparator: { $0 == "\"" || $0 == "'" }).dropFirst().first.map(
                        String.init) ?? ""
                if !allowedEncodings.contains(value.trimmingWhitespace) {
                    return "an XML encoding (\(value)) that hides markup from checks"
                }
            }
        }
        var searchFrom = text.startIndex
        var doctypes = 0
        while let start = text.range(of: "<!doctype", range: searchFrom..<text.endIndex) {
            doctypes += 1
            guard doctypes == 1 else { return "more than one DOCTYPE" }
            var cursor = start.upperBound
            func skipSpace() {
                while cursor < text.endIndex, text[cursor].isWhitespace { cursor = text.index(after: cursor) }
            }
            func word() -> String {
                let begin = cursor
                while cursor < text.endIndex, !text[cursor].isWhitespace, !"[>\"'".contains(text[cursor]) {
                    cursor = text.index(after: cursor)
                }
                return String(text[begin..<cursor])
            }
            func quoted() -> String? {
                guard cursor < text.endIndex, let quote = "\"'".first(where: { $0 == text[cursor] }) else { return nil }
                let begin = text.index(after: cursor)
                guard let close = text[begin...].firstIndex(of: quote) else { return nil }
                cursor = text.index(after: close)
                return String(text[begin..<close])
            }
            skipSpace()
            _ = word()  // the root element's name
            skipSpace()
            switch word() {
            case "":
                break
            case "public":
                skipSpace()
                guard let publicID = quoted() else { return "a malformed DOCTYPE" }
                skipSpace()
                let systemID = quoted() ?? ""
                let normalized = publicID.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                guard allowedPublicIDs.contains(normalized),
                    systemID.isEmpty || systemID.hasPrefix("http://www.w3.org/")
                else {
                    return "an external DTD (PUBLIC \"\(publicID)\"), which XML parsers may fetch"
                }
            case "system":
                skipSpace()
                return "an external DTD (SYSTEM \"\(quoted() ?? "")\"), which XML parsers may read or fetch"
            default:
                return "a malformed DOCTYPE"
            }
            skipSpace()
            guard cursor < text.endIndex else { return "a DOCTYPE that does not end" }
            if text[cursor] == "[" {
                return "a DOCTYPE with an internal subset (entity or DTD declarations: XXE, entity expansion)"
            }
            guard text[cursor] == ">" else { return "a malformed DOCTYPE" }
            searchFrom = cursor
        }
        return nil
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
