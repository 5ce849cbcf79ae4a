import Foundation

/// A secret option value (an API key, a webhook token). It prints as `<redacted>` everywhere — in logs,
/// reports, `ingest check`, errors — and refuses to be written literally in a pipeline file.
///
/// Write it as `{"env": "WIX_API_KEY"}`, `"${WIX_API_KEY}"` or `{"file": "~/.config/wix/key"}`.
/// If you really must keep the secret in the pipeline file, write `{"insecureLiteral": "…"}`.
public struct Secret: OptionValue, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The secret itself. Read it only where it is sent; never log it.
    public let revealed: String
    /// Where the secret came from, for messages (`environment variable WIX_API_KEY`).
    public let origin: String

    /// Creates a secret from a value and a description of its origin.
    public init(_ value: String, origin: String) {
        self.revealed = value
        self.origin = origin
    }

    public static var optionTypeName: String { "secret" }
    public static var optionSchema: JSONValue {
        [
            "anyOf": [
                ["type": "object", "properties": ["env": ["type": "string"]], "required": ["env"]],
                ["type": "object", "properties": ["file": ["type": "string"]], "required": ["file"]],
                [
                    "type": "object", "properties": ["insecureLiteral": ["type": "string"]],
                    "required": ["insecureLiteral"],
                ],
                ["type": "string", "pattern": "\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}"],
            ]
        ]
    }

    public init(option input: OptionInput) throws {
        if let members = input.value.objectValue, members.count == 1, let literal = members["insecureLiteral"] {
            guard let text = literal.stringValue, !text.isEmpty else {
                throw input.child(literal, at: .key("insecureLiteral")).typeMismatch(expected: "a non-empty string")
            }
            self.init(text, origin: "the pipeline file")
            return
        }
        guard let text = input.value.stringValue else {
            throw input.error(
                "expected a secret reference like {\"env\": \"WIX_API_KEY\"}, got \(input.value.kindDescription)")
        }
        switch input.provenance {
        case .literal:
            throw input.error(
                "secrets are not written in pipeline files",
                suggestion:
                    "use {\"env\": \"NAME\"} or {\"file\": \"path\"}; {\"insecureLiteral\": \"…\"} if you insist")
        case .environment(let name):
            guard !text.isEmpty else { throw input.error("environment variable \(name) is empty") }
            self.init(text, origin: "environment variable \(name)")
        case .file(let path):
            guard !text.isEmpty else { throw input.error("secret file \(path) is empty") }
            self.init(text, origin: "file \(path)")
        }
    }

    public var optionJSON: JSONValue { "<redacted>" }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "Secret(<redacted> from \(origin))" }
}
