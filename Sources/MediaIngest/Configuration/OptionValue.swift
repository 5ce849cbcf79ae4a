import Foundation

/// A type a stage option can have. It knows how to read itself from the pipeline JSON, how it is
/// described in `ingest stages` and in the JSON Schema, and how its default prints.
///
/// Conform your own types to accept richer values (see ``ByteSize`` and ``DurationValue``).
public protocol OptionValue: Sendable {
    /// How the type is named in the stage catalogue, e.g. `size`, `[string]`, `"reject" | "pass"`.
    static var optionTypeName: String { get }
    /// The JSON Schema fragment for values of this type.
    static var optionSchema: JSONValue { get }
    /// Reads a value.
    /// - Throws: ``ConfigError`` naming `input.path` and the reason.
    init(option input: OptionInput) throws
    /// The value as JSON (used to print defaults).
    var optionJSON: JSONValue { get }
}

/// Marks `Optional` so that an option of optional type is not required.
public protocol OptionalOptionValue: OptionValue {
    /// The empty value.
    static var optionNone: Self { get }
}

// MARK: - Standard types

extension String: OptionValue {
    public static var optionTypeName: String { "string" }
    public static var optionSchema: JSONValue { ["type": "string"] }
    public init(option input: OptionInput) throws {
        guard let text = input.value.stringValue else { throw input.typeMismatch(expected: "a string") }
        self = text
    }
    public var optionJSON: JSONValue { .string(self) }
}

extension Int: OptionValue {
    public static var optionTypeName: String { "integer" }
    public static var optionSchema: JSONValue { ["type": "integer"] }
    public init(option input: OptionInput) throws {
        if let value = input.value.intValue, let int = Int(exactly: value) {
            self = int
        } else if input.isIndirect, let text = input.value.stringValue,
            let int = Int(text.trimmingCharacters(in: .whitespaces))
        {
            self = int
        } else {
            throw input.typeMismatch(expected: "an integer")
        }
    }
    public var optionJSON: JSONValue { .int(Int64(self)) }
}

extension Double: OptionValue {
    public static var optionTypeName: String { "number" }
    public static var optionSchema: JSONValue { ["type": "number"] }
    public init(option input: OptionInput) throws {
        if let value = input.value.doubleValue {
            self = value
        } else if input.isIndirect, let text = input.value.stringValue,
            let value = Double(text.trimmingCharacters(in: .whitespaces))
        {
            self = value
        } else {
            throw input.typeMismatch(expected: "a number")
        }
    }
    public var optionJSON: JSONValue { .double(self) }
}

extension Bool: OptionValue {
    public static var optionTypeName: String { "boolean" }
    public static var optionSchema: JSONValue { ["type": "boolean"] }
    public init(option input: OptionInput) throws {
        if let value = input.value.boolValue {
            self = value
            return
        }
        if input.isIndirect, let text = input.value.stringValue?.lowercased() {
            if ["true", "1", "yes", "on"].contains(text) {
                self = true
                return
            }
            if ["false", "0", "no", "off", ""].contains(text) {
                self = false
                return
            }
        }
        throw input.typeMismatch(expected: "true or false")
    }
    public var optionJSON: JSONValue { .bool(self) }
}

extension JSONValue: OptionValue {
    public static var optionTypeName: String { "any JSON" }
    public static var optionSchema: JSONValue { [:] }
    public init(option input: OptionInput) throws { self = input.value }
    public var optionJSON: JSONValue { self }
}

extension Array: OptionValue where Element: OptionValue {
    public static var optionTypeName: String { "[\(Element.optionTypeName)]" }
    public static var optionSchema: JSONValue {
        ["anyOf": [["type": "array", "items": Element.optionSchema], Element.optionSchema]]
    }
    /// Accepts an array, or a single element as a one-element array (`"include": "*.jpg"`).
    public init(option input: OptionInput) throws {
        guard let elements = input.value.arrayValue else {
            self = [try Element(option: input)]
            return
        }
        var result: [Element] = []
        var errors: [ConfigError] = []
        for (index, element) in elements.enumerated() {
            do {
                result.append(try Element(option: input.child(element, at: .index(index))))
            } catch let error as ConfigError {
                errors.append(error)
            }
        }
        if let first = errors.first {
            if errors.count == 1 { throw first }
            throw ConfigErrorList(errors: errors)
        }
        self = result
    }
    public var optionJSON: JSONValue { .array(map(\.optionJSON)) }
}

extension Dictionary: OptionValue where Key == String, Value: OptionValue {
    public static var optionTypeName: String { "{string: \(Value.optionTypeName)}" }
    public static var optionSchema: JSONValue { ["type": "object", "additionalProperties": Value.optionSchema] }
    public init(option input: OptionInput) throws {
        guard let members = input.value.objectValue else { throw input.typeMismatch(expected: "an object") }
        var result: [String: Value] = [:]
        for (key, member) in members {
            result[key] = try Value(option: input.child(member, at: .key(key)))
        }
        self = result
    }
    public var optionJSON: JSONValue { .object(mapValues(\.optionJSON)) }
}

extension Optional: OptionValue where Wrapped: OptionValue {
    public static var optionTypeName: String { Wrapped.optionTypeName }
    public static var optionSchema: JSONValue { ["anyOf": [Wrapped.optionSchema, ["type": "null"]]] }
    public init(option input: OptionInput) throws {
        if input.value.isNull { self = nil } else { self = try Wrapped(option: input) }
    }
    public var optionJSON: JSONValue { self?.optionJSON ?? .null }
}

extension Optional: OptionalOptionValue where Wrapped: OptionValue {
    public static var optionNone: Wrapped? { nil }
}

/// Several errors found in one option value (for example two bad elements of a list).
public struct ConfigErrorList: Error, Sendable {
    /// The errors, each with its own path.
    public var errors: [ConfigError]
    /// Creates the list.
    public init(errors: [ConfigError]) { self.errors = errors }
}

// MARK: - Enumerations

/// Conform a `String`-backed `CaseIterable` enum to use it as an option: `"reject" | "pass"`.
public protocol OptionEnum: OptionValue, RawRepresentable, CaseIterable where RawValue == String {}

extension OptionEnum {
    public static var optionTypeName: String { allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " | ") }
    public static var optionSchema: JSONValue { ["enum": .array(allCases.map { .string($0.rawValue) })] }
    public init(option input: OptionInput) throws {
        let names = Self.allCases.map(\.rawValue)
        guard let text = input.value.stringValue else {
            throw input.typeMismatch(expected: "one of " + names.map { "\"\($0)\"" }.joined(separator: ", "))
        }
        guard let value = Self(rawValue: text) else {
            throw input.error(
                "expected one of " + names.map { "\"\($0)\"" }.joined(separator: ", ") + ", got \"\(text)\"",
                suggestion: ConfigError.didYouMean(text, among: names))
        }
        self = value
    }
    public var optionJSON: JSONValue { .string(rawValue) }
}

// MARK: - Paths

/// A file-system path written in a pipeline: `~` expands, relative paths are taken against the project folder.
public struct PathOption: OptionValue, Hashable, CustomStringConvertible {
    /// The absolute, standardized path.
    public var path: String
    /// The text as written (printed as the default).
    public var written: String

    /// Creates a path option from a written path resolved against `base`.
    public init(_ written: String, base: String) {
        self.written = written
        self.path = PathResolution.resolve(written, against: base)
    }

    public static var optionTypeName: String { "path" }
    public static var optionSchema: JSONValue { ["type": "string", "minLength": 1] }
    public init(option input: OptionInput) throws {
        guard let text = input.value.stringValue else { throw input.typeMismatch(expected: "a path") }
        guard !text.isEmpty else { throw input.error("expected a path, got an empty string") }
        guard !text.contains("\0") else { throw input.error("a path cannot contain a NUL character") }
        self.init(text, base: input.baseDirectory)
    }
    public var optionJSON: JSONValue { .string(written) }
    public var description: String { path }
}
