import Foundation

/// A typed, documented stage option: its name, its type, its default, and one line of documentation.
///
/// Declare each option once as a static constant; list them in the stage's ``StageDefinition/options``
/// so that `ingest stages`, the JSON Schema and the decoder all read the same declaration:
///
/// ```swift
/// static let maxBytes = StageOption<ByteSize?>("maxBytes", doc: "Reject files larger than this.")
/// static let onUnsupported = StageOption<Policy>("onUnsupported", default: .reject, doc: "What to do with other formats.")
/// static let options: [OptionSpec] = [maxBytes.spec, onUnsupported.spec]
/// ```
public struct StageOption<Value: OptionValue>: Sendable {
    /// The JSON key under the stage's `with` object.
    public let name: String
    /// One line for the catalogue.
    public let doc: String
    /// The default, or `nil` when the option is required.
    public let defaultValue: Value?

    /// An option with a default value.
    public init(_ name: String, default defaultValue: Value, doc: String) {
        self.name = name
        self.doc = doc
        self.defaultValue = defaultValue
    }

    /// A required option (the pipeline must set it).
    public init(_ name: String, doc: String) {
        self.name = name
        self.doc = doc
        self.defaultValue = nil
    }

    /// `true` when the pipeline must set the option.
    public var isRequired: Bool { defaultValue == nil }

    /// The type-erased declaration used by the catalogue, the schema and the decoder.
    public var spec: OptionSpec {
        OptionSpec(
            name: name, typeName: Value.optionTypeName, schema: Value.optionSchema,
            defaultValue: defaultValue?.optionJSON, doc: doc,
            decode: { input in try Value(option: input) })
    }
}

extension StageOption where Value: OptionalOptionValue {
    /// An optional option whose default is "not set".
    public init(_ name: String, doc: String) {
        self.name = name
        self.doc = doc
        self.defaultValue = Value.optionNone
    }
}

/// The type-erased declaration of one option.
public struct OptionSpec: Sendable {
    /// The JSON key.
    public let name: String
    /// The type as shown in the catalogue.
    public let typeName: String
    /// The JSON Schema fragment.
    public let schema: JSONValue
    /// The default as JSON, or `nil` for a required option. `null` means "not set".
    public let defaultValue: JSONValue?
    /// One line of documentation.
    public let doc: String
    let decode: @Sendable (OptionInput) throws -> any Sendable

    /// `true` when the pipeline must set this option.
    public var isRequired: Bool { defaultValue == nil }
}

/// The decoded options of one stage, checked against its declarations. Stages read them by their
/// typed ``StageOption`` keys.
public struct OptionValues: Sendable {
    private let values: [String: any Sendable]
    private let explicitlySet: Set<String>
    /// The path of the `with` object in the pipeline file (for errors a stage raises itself).
    public let path: JSONPath
    /// The directory relative paths are resolved against.
    public let baseDirectory: String

    init(values: [String: any Sendable], explicitlySet: Set<String>, path: JSONPath, baseDirectory: String) {
        self.values = values
        self.explicitlySet = explicitlySet
        self.path = path
        self.baseDirectory = baseDirectory
    }

    /// The value of `option`: the pipeline's value, or its default.
    /// - Throws: ``ConfigError`` if the stage reads an option it did not declare (a bug in the stage).
    public subscript<Value>(_ option: StageOption<Value>) -> Value {
        get throws {
            if let value = values[option.name] {
                guard let typed = value as? Value else {
                    throw ConfigError(
                        at: path.appending(option.name),
                        "option is declared with another type than it is read with (a bug in the stage)")
                }
                return typed
            }
            if let defaultValue = option.defaultValue { return defaultValue }
            throw ConfigError(at: path.appending(option.name), "option is read but not declared (a bug in the stage)")
        }
    }

    /// `true` when the pipeline file sets `option` itself (rather than relying on the default).
    public func isSet<Value>(_ option: StageOption<Value>) -> Bool {
        explicitlySet.contains(option.name)
    }

    /// An error at `option`'s path, for checks that involve more than one value.
    public func error<Value>(_ option: StageOption<Value>, _ message: String, suggestion: String? = nil) -> ConfigError
    {
        ConfigError(at: path.appending(option.name), message, suggestion: suggestion)
    }

    /// An error at a path below the `with` object, such as `allow[2]`.
    public func error(at relative: String, _ message: String, suggestion: String? = nil) -> ConfigError {
        ConfigError(at: path.appending(JSONPath(parsing: relative)), message, suggestion: suggestion)
    }

    /// Builds values for tests and programmatic pipelines, without a pipeline file.
    /// - Throws: ``PipelineConfigurationError`` listing every mistake.
    public static func decode(
        _ object: [String: JSONValue], specs: [OptionSpec], baseDirectory: String = "/",
        environment: [String: String] = [:]
    ) throws -> OptionValues {
        var errors: [ConfigError] = []
        var warnings: [ConfigWarning] = []
        let resolver = ReferenceResolver(environment: environment, baseDirectory: baseDirectory)
        let values = decodeOptions(
            .object(object), specs: specs, at: .root, resolver: resolver, errors: &errors, warnings: &warnings)
        if !errors.isEmpty || values == nil { throw PipelineConfigurationError(file: "options", errors: errors) }
        return values!
    }

    /// Decodes an options object against its declarations, collecting every error.
    /// Returns `nil` when some value is unresolved (a missing variable tolerated by `ingest check`).
    static func decodeOptions(
        _ value: JSONValue?, specs: [OptionSpec], at path: JSONPath, resolver: ReferenceResolver,
        errors: inout [ConfigError], warnings: inout [ConfigWarning]
    ) -> OptionValues? {
        let members: [String: JSONValue]
        switch value {
        case nil, .null?: members = [:]
        case .object(let object)?: members = object
        case let other?:
            errors.append(ConfigError(at: path, "expected an object of options, got \(other.kindDescription)"))
            return nil
        }
        let known = Dictionary(specs.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var decoded: [String: any Sendable] = [:]
        var complete = true
        for key in members.keys.sorted() where known[key] == nil {
            let suggestion: String?
            if let close = ConfigError.didYouMean(key, among: known.keys) {
                suggestion = close
            } else if known.isEmpty {
                suggestion = "this stage has no options"
            } else {
                suggestion = "options are " + known.keys.sorted().joined(separator: ", ")
            }
            errors.append(ConfigError(at: path.appending(key), "unknown option \"\(key)\"", suggestion: suggestion))
        }
        for spec in specs {
            let optionPath = path.appending(spec.name)
            guard let raw = members[spec.name] else {
                if spec.isRequired {
                    errors.append(
                        ConfigError(
                            at: optionPath, "missing required option \"\(spec.name)\" (\(spec.typeName)): \(spec.doc)"))
                }
                continue
            }
            do {
                switch try resolver.resolve(raw, at: optionPath) {
                case .resolved(let input):
                    decoded[spec.name] = try spec.decode(input)
                case .unresolved(let missing):
                    complete = false
                    warnings.append(
                        ConfigWarning(
                            at: optionPath,
                            "not checked: environment variable\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")) not set here"
                        ))
                }
            } catch let error as ConfigError {
                errors.append(error)
            } catch let list as ConfigErrorList {
                errors.append(contentsOf: list.errors)
            } catch {
                errors.append(ConfigError(at: optionPath, "\(error)"))
            }
        }
        guard complete else { return nil }
        return OptionValues(
            values: decoded, explicitlySet: Set(members.keys), path: path, baseDirectory: resolver.baseDirectory)
    }
}

/// Something in a pipeline file that works but deserves attention, such as stages in an unusual order.
public struct ConfigWarning: Sendable, Hashable, CustomStringConvertible {
    /// Where it is.
    public var path: JSONPath
    /// What to look at.
    public var message: String

    /// Creates a warning at `path`.
    public init(at path: JSONPath, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
