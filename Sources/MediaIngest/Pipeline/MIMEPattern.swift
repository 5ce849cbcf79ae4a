import Foundation

/// A MIME type pattern: `image/jpeg`, `image/*`, `*/*` or `*`. Parameters (`; charset=…`) are ignored.
public struct MIMEPattern: OptionValue, Hashable, CustomStringConvertible {
    /// The top-level type, or `*`.
    public let type: String
    /// The subtype, or `*`.
    public let subtype: String

    /// Parses a pattern; `nil` when it is not `type/subtype`, `type/*`, `*/*` or `*`.
    public init?(_ text: String) {
        let lowered = text.trimmingCharacters(in: .whitespaces).lowercased()
        if lowered == "*" {
            type = "*"
            subtype = "*"
            return
        }
        let parts = lowered.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
            parts.allSatisfy({ $0.allSatisfy { $0.isLetter || $0.isNumber || "!#$&^_.+-*".contains($0) } })
        else { return nil }
        if parts[0] == "*" && parts[1] != "*" { return nil }
        if parts[1].contains("*") && parts[1] != "*" {
            // `image/x-*` style prefixes are accepted: the star must be last.
            guard parts[1].last == "*", parts[1].dropLast().contains("*") == false else { return nil }
        }
        type = String(parts[0])
        subtype = String(parts[1])
    }

    /// `true` when `mime` (e.g. `image/jpeg; charset=binary`) matches.
    public func matches(_ mime: String) -> Bool {
        let bare =
            mime.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            ?? ""
        let parts = bare.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { return type == "*" }
        if type != "*" && type != parts[0] { return false }
        if subtype == "*" { return true }
        if subtype.hasSuffix("*") { return parts[1].hasPrefix(subtype.dropLast()) }
        return subtype == parts[1]
    }

    public var description: String { "\(type)/\(subtype)" }

    public static var optionTypeName: String { "mime pattern" }
    public static var optionSchema: JSONValue {
        ["type": "string", "pattern": "^(\\*|[a-z0-9!#$&^_.+-]+/([a-z0-9!#$&^_.+-]*\\*?))$"]
    }
    public init(option input: OptionInput) throws {
        guard let text = input.value.stringValue else {
            throw input.typeMismatch(expected: "a MIME pattern like \"image/*\"")
        }
        guard let pattern = MIMEPattern(text) else {
            throw input.error("expected a MIME pattern like \"image/jpeg\" or \"image/*\", got \"\(text)\"")
        }
        self = pattern
    }
    public var optionJSON: JSONValue { .string(description) }
}

extension Sequence where Element == MIMEPattern {
    /// `true` when any pattern matches `mime`.
    public func matchesAny(_ mime: String) -> Bool { contains { $0.matches(mime) } }
}
