import Foundation

/// Where a pipeline's ledger lives: a SQLite file on this machine (the default), or a PostgreSQL database that
/// several hosts share (`postgresql://user@host:5432/db?sslmode=require`, or the `postgres://` spelling).
public enum LedgerLocation: OptionValue, Hashable, CustomStringConvertible {
    /// A SQLite file (absolute path).
    case file(String)
    /// A PostgreSQL connection URL, as written after `${VAR}` expansion. It may hold a password; print
    /// ``description``, which never shows it.
    case postgres(String)

    public static var optionTypeName: String { "path or postgresql:// URL" }
    public static var optionSchema: JSONValue { ["type": "string", "minLength": 1] }

    public init(option input: OptionInput) throws {
        guard let text = input.value.stringValue else { throw input.typeMismatch(expected: "a path or a URL") }
        guard !text.isEmpty else { throw input.error("expected a path or a postgresql:// URL, got an empty string") }
        guard !text.contains("\0") else { throw input.error("a ledger location cannot contain a NUL character") }
        if Self.isPostgresURL(text) {
            guard let components = URLComponents(string: text),
                components.host?.isEmpty == false || text.contains("host=")
            else {
                throw input.error(
                    "not a valid PostgreSQL URL (expected postgresql://user@host:5432/database)",
                    suggestion: "percent-encode special characters in the user name or password")
            }
            _ = components
            self = .postgres(text)
        } else if text.contains("://") {
            throw input.error(
                "unsupported ledger URL scheme (expected a file path or postgresql://…)")
        } else {
            self = .file(PathResolution.resolve(text, against: input.baseDirectory))
        }
    }

    /// Whether `text` is a PostgreSQL connection URL.
    public static func isPostgresURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://")
    }

    public var optionJSON: JSONValue {
        switch self {
        case .file(let path): return .string(path)
        case .postgres: return .string(description)
        }
    }

    /// The path, or the URL without its password.
    public var description: String {
        switch self {
        case .file(let path): return path
        case .postgres(let url): return Self.redacted(url)
        }
    }

    /// `url` with any password replaced by `***`.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "postgresql://(unparsable URL)" }
        if components.password != nil { components.password = "***" }
        if let items = components.queryItems {
            components.queryItems = items.map {
                $0.name == "password" ? URLQueryItem(name: "password", value: "***") : $0
            }
        }
        return components.string ?? "postgresql://(unparsable URL)"
    }
}
