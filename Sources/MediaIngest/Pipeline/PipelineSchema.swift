import Foundation

/// Generates the JSON Schema (draft 2020-12) of pipeline files from a registry's declarations — the same
/// declarations the decoder and `ingest stages` read, so the three never disagree.
///
/// Editors pick it up with `"$schema": "./pipeline.schema.json"` in a pipeline file (`ingest schema > pipelines/pipeline.schema.json`).
public enum PipelineSchema {
    /// The schema for pipelines that may use the kinds in `registry`.
    public static func make(registry: StageRegistry) -> JSONValue {
        let entries = registry.allEntries
        var variants: [JSONValue] = []
        for entry in entries {
            variants.append([
                "if": ["properties": ["kind": ["const": .string(entry.kind)]], "required": ["kind"]],
                "then": ["properties": ["with": optionsSchema(entry.options, description: entry.summary)]],
            ])
        }
        let stage: JSONValue = [
            "type": "object",
            "required": ["kind"],
            "additionalProperties": false,
            "properties": [
                "kind": [
                    "enum": .array(entries.map { .string($0.kind) }),
                    "description": "The stage kind (see `ingest stages`).",
                ],
                "name": [
                    "type": "string", "pattern": "^[A-Za-z0-9._-]{1,100}$",
                    "description": "A name for this stage instance (defaults to its kind).",
                ],
                "with": ["type": "object", "description": "The stage's options."],
                "when": optionsSchema(StageCondition.specs, description: "Run the stage only for some assets."),
            ],
            "allOf": .array(variants),
        ]
        return [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://github.com/media-ingest/media-ingest/pipeline.schema.json",
            "title": "MediaIngest pipeline",
            "type": "object",
            "required": ["stages"],
            "additionalProperties": false,
            "properties": [
                "$schema": ["type": "string"],
                "name": ["type": "string", "pattern": "^[A-Za-z0-9._-]{1,100}$"],
                "description": ["type": "string"],
                "concurrency": ["type": "integer", "minimum": 1, "maximum": 256, "default": 4],
                "state": optionsSchema(StateSettings.specs, description: "Ledger and lock settings."),
                "stages": ["type": "array", "minItems": 1, "items": stage],
            ],
        ]
    }

    static func optionsSchema(_ specs: [OptionSpec], description: String) -> JSONValue {
        var properties: [String: JSONValue] = [:]
        for spec in specs {
            var schema = spec.schema.objectValue ?? [:]
            let reference: JSONValue = [
                "type": "object",
                "properties": ["env": ["type": "string"], "default": [:], "file": ["type": "string"]],
                "minProperties": 1, "maxProperties": 2,
            ]
            // Every option may also be written as an environment or file reference.
            let typed: JSONValue = .object(schema)
            schema = ["anyOf": [typed, reference], "description": .string(spec.doc)]
            if let defaultValue = spec.defaultValue, !defaultValue.isNull { schema["default"] = defaultValue }
            properties[spec.name] = .object(schema)
        }
        let required = specs.filter(\.isRequired).map { JSONValue.string($0.name) }
        var object: [String: JSONValue] = [
            "type": "object", "additionalProperties": false, "properties": .object(properties),
            "description": .string(description),
        ]
        if !required.isEmpty { object["required"] = .array(required) }
        return .object(object)
    }
}
