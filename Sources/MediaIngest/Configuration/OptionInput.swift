import Foundation

/// One option value as written in a pipeline file, after `${ENV}`, `{"env": …}` and `{"file": …}`
/// references are resolved, with where it came from.
public struct OptionInput: Sendable {
    /// Where a value came from. Secrets refuse literal values unless the user insists.
    public enum Provenance: Sendable, Hashable {
        /// Written in the pipeline file.
        case literal
        /// Read from an environment variable (whole value or `${NAME}` interpolation).
        case environment(String)
        /// Read from a file.
        case file(String)
    }

    /// The resolved value.
    public var value: JSONValue
    /// Where the value is in the pipeline file.
    public var path: JSONPath
    /// Where the value came from.
    public var provenance: Provenance
    /// The directory relative paths in the pipeline are resolved against.
    public var baseDirectory: String

    /// Creates an input.
    public init(value: JSONValue, path: JSONPath, provenance: Provenance = .literal, baseDirectory: String) {
        self.value = value
        self.path = path
        self.provenance = provenance
        self.baseDirectory = baseDirectory
    }

    /// An error at this input's path.
    public func error(_ message: String, suggestion: String? = nil) -> ConfigError {
        ConfigError(at: path, message, suggestion: suggestion)
    }

    /// The standard "expected X, got Y" error.
    public func typeMismatch(expected: String) -> ConfigError {
        error("expected \(expected), got \(describe(value))")
    }

    /// An input for a member or element of this value, keeping provenance and base directory.
    public func child(_ value: JSONValue, at component: JSONPath.Component) -> OptionInput {
        var child = self
        child.value = value
        child.path = JSONPath(components: path.components + [component])
        return child
    }

    /// Resolves a path written in the pipeline against the base directory.
    public func resolvePath(_ text: String) -> String {
        PathResolution.resolve(text, against: baseDirectory)
    }

    /// `true` when the value came from the environment or a file rather than from the pipeline text.
    public var isIndirect: Bool {
        if case .literal = provenance { return false }
        return true
    }
}

/// Short rendering of a value for error messages (long strings are cut, secrets never pass here).
func describe(_ value: JSONValue) -> String {
    switch value {
    case .string(let text):
        let cut = text.count > 40 ? String(text.prefix(37)) + "…" : text
        return "\"\(cut)\""
    case .array(let values): return "an array of \(values.count)"
    case .object: return "an object"
    default: return value.description
    }
}

/// Path helpers shared by options and stages.
public enum PathResolution {
    /// `~` expands to `$HOME`; relative paths are taken against `base`; the result is standardized.
    public static func resolve(_ text: String, against base: String) -> String {
        var text = text
        if text == "~" || text.hasPrefix("~/") {
            let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
            text = home + text.dropFirst()
        }
        let absolute = text.hasPrefix("/") ? text : (base.hasSuffix("/") ? base + text : base + "/" + text)
        return standardize(absolute)
    }

    /// Removes `.` and `..` components and duplicate slashes, without touching the file system.
    public static func standardize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if !parts.isEmpty { parts.removeLast() }
                continue
            }
            parts.append(part)
        }
        return "/" + parts.joined(separator: "/")
    }
}

/// Resolves `{"env": "NAME"}`, `{"env": "NAME", "default": …}`, `{"file": "path"}` and `${NAME}` inside strings.
///
/// `$$` writes a literal dollar sign; `${NAME:-fallback}` uses `fallback` when `NAME` is unset or empty.
public struct ReferenceResolver: Sendable {
    /// The variables references are read from.
    public var environment: [String: String]
    /// The directory `{"file": …}` paths are resolved against.
    public var baseDirectory: String
    /// When `true`, a missing variable is reported as a warning and the option is left unresolved
    /// (`ingest check` on a machine without the secrets); when `false` it is an error (`ingest run`).
    public var tolerateMissing: Bool

    /// Creates a resolver.
    public init(environment: [String: String], baseDirectory: String, tolerateMissing: Bool = false) {
        self.environment = environment
        self.baseDirectory = baseDirectory
        self.tolerateMissing = tolerateMissing
    }

    /// The outcome of resolving one option.
    public enum Resolution: Sendable {
        case resolved(OptionInput)
        /// Some referenced variables are not set and `tolerateMissing` is on.
        case unresolved(missing: [String])
    }

    /// Resolves every reference inside `value`.
    /// - Throws: `ConfigError` for a missing variable (unless tolerated), an unreadable file, or a malformed reference.
    public func resolve(_ value: JSONValue, at path: JSONPath) throws -> Resolution {
        var missing: [String] = []
        var provenance = OptionInput.Provenance.literal
        let resolved = try resolveValue(value, at: path, missing: &missing, provenance: &provenance)
        if !missing.isEmpty { return .unresolved(missing: missing) }
        return .resolved(OptionInput(value: resolved, path: path, provenance: provenance, baseDirectory: baseDirectory))
    }

    private func resolveValue(
        _ value: JSONValue, at path: JSONPath, missing: inout [String], provenance: inout OptionInput.Provenance
    ) throws -> JSONValue {
        switch value {
        case .object(let members):
            if let name = members["env"], members.keys.allSatisfy({ $0 == "env" || $0 == "default" }) {
                guard let name = name.stringValue, isVariableName(name) else {
                    throw ConfigError(
                        at: path.appending("env"), "expected an environment variable name like \"WIX_API_KEY\"")
                }
                provenance = .environment(name)
                if let text = environment[name] { return .string(text) }
                if let fallback = members["default"] { return fallback }
                if tolerateMissing {
                    missing.append(name)
                    return .null
                }
                throw ConfigError(
                    at: path, "environment variable \(name) is not set",
                    suggestion: "export \(name)=… or add \"default\"")
            }
            if let file = members["file"], members.count == 1 {
                guard let file = file.stringValue, !file.isEmpty else {
                    throw ConfigError(at: path.appending("file"), "expected a file path")
                }
                let resolvedPath = PathResolution.resolve(file, against: baseDirectory)
                provenance = .file(resolvedPath)
                do {
                    let text = try String(contentsOfFile: resolvedPath, encoding: .utf8)
                    return .string(text.trimmingCharacters(in: .newlines))
                } catch {
                    throw ConfigError(at: path.appending("file"), "cannot read \(resolvedPath): \(Self.reason(error))")
                }
            }
            var result: [String: JSONValue] = [:]
            for (key, member) in members {
                result[key] = try resolveValue(
                    member, at: path.appending(key), missing: &missing, provenance: &provenance)
            }
            return .object(result)
        case .array(let elements):
            return .array(
                try elements.enumerated().map { index, element in
                    try resolveValue(
                        element, at: path.appending(index: index), missing: &missing, provenance: &provenance)
                })
        case .string(let text) where text.contains("$"):
            return .string(try interpolate(text, at: path, missing: &missing, provenance: &provenance))
        default:
            return value
        }
    }

    private func interpolate(
        _ text: String, at path: JSONPath, missing: inout [String], provenance: inout OptionInput.Provenance
    ) throws -> String {
        var output = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            let next = text.index(after: index)
            guard character == "$", next < text.endIndex else {
                output.append(character)
                index = next
                continue
            }
            if text[next] == "$" {
                output.append("$")
                index = text.index(after: next)
                continue
            }
            guard text[next] == "{" else {
                output.append(character)
                index = next
                continue
            }
            guard let close = text[next...].firstIndex(of: "}") else {
                throw ConfigError(
                    at: path, "unclosed \"${\" in \(describe(.string(text)))",
                    suggestion: "write $$ for a literal dollar sign")
            }
            let inside = String(text[text.index(after: next)..<close])
            var name = inside
            var fallback: String?
            if let range = inside.range(of: ":-") {
                name = String(inside[..<range.lowerBound])
                fallback = String(inside[range.upperBound...])
            }
            guard isVariableName(name) else {
                throw ConfigError(at: path, "\"${\(inside)}\" is not an environment variable reference")
            }
            provenance = .environment(name)
            if let value = environment[name], !(value.isEmpty && fallback != nil) {
                output += value
            } else if let fallback {
                output += fallback
            } else if tolerateMissing {
                missing.append(name)
            } else {
                throw ConfigError(at: path, "environment variable \(name) is not set", suggestion: "export \(name)=…")
            }
            index = text.index(after: close)
        }
        return output
    }

    private func isVariableName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || isASCIILetter(first) else { return false }
        return name.utf8.allSatisfy {
            $0 == UInt8(ascii: "_") || isASCIILetter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
        }
    }

    private func isASCIILetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    static func reason(_ error: any Error) -> String { FileSystem.describe(error) }
}
