import Foundation

/// The key of a typed value an asset carries between stages, into the ledger and into reports — the pattern of
/// swift-service-context's keys. A stage that needs to remember something declares a key beside itself:
///
/// ```swift
/// struct WixPendingUpload: AssetValueKey {
///     struct Value: Codable, Sendable, Hashable { var fileName: String; var size: Int64; var startedAt: Date }
///     static let name = "wix.pendingUpload"
///     static let isCheckpointed = true
/// }
///
/// asset.values[WixPendingUpload.self] = .init(fileName: name, size: size, startedAt: Date())
/// try await context.checkpoint(asset)             // the ledger keeps it, whatever the backend
/// // … a killed run's next attempt finds it in asset.recovery?.values[WixPendingUpload.self]
/// ```
///
/// Adding a value touches the file that declares its key and the stages that use it: the ledgers store every
/// checkpointed value in one JSON column, and the manifest and the report show every reported one under `facts`.
public protocol AssetValueKey: Sendable {
    /// The value.
    associatedtype Value: Codable & Sendable & Hashable
    /// The value's name in the ledger's JSON, the manifest and the report (`wix.pendingUpload`): unique, stable.
    static var name: String { get }
    /// Whether ``AssetLedger/checkpoint(_:)`` keeps it, so the next attempt of a killed run finds it in
    /// ``Asset/Recovery/values``. Default `false`.
    static var isCheckpointed: Bool { get }
    /// Whether the manifest and the run report show it (under `facts`, by its name). Default `true`.
    static var isReported: Bool { get }
}

extension AssetValueKey {
    public static var isCheckpointed: Bool { false }
    public static var isReported: Bool { true }
}

/// The typed values of an asset (``Asset/values``), each under its ``AssetValueKey``.
public struct AssetValues: Sendable, Hashable {
    /// A value as JSON (how the ledger and the manifest keep it) and what its key says about it.
    private struct Stored: Sendable, Hashable {
        var json: JSONValue
        var checkpointed: Bool
        var reported: Bool
    }

    private var stored: [String: Stored] = [:]

    /// No values.
    public init() {}

    /// The values a ledger kept (``checkpointJSON``): each is read back by its key's type when asked for.
    public init(checkpointJSON text: String?) {
        guard let text, case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        else { return }
        for (name, json) in object { stored[name] = Stored(json: json, checkpointed: true, reported: false) }
    }

    /// The value of `key`, or `nil` (also when a kept value no longer decodes as the key's type).
    public subscript<Key: AssetValueKey>(key: Key.Type) -> Key.Value? {
        get { try? stored[Key.name]?.json.decode(Key.Value.self) }
        set {
            guard let newValue, let json = try? JSONValue(encoding: newValue) else {
                stored[Key.name] = nil
                return
            }
            stored[Key.name] = Stored(json: json, checkpointed: Key.isCheckpointed, reported: Key.isReported)
        }
    }

    /// Whether there are none.
    public var isEmpty: Bool { stored.isEmpty }

    /// The checkpointed values as one JSON object (`nil` when there are none): what ledgers store, merged key by key
    /// into what the row kept (a value a stage removed stays kept, as a column written with `COALESCE` would).
    public var checkpointJSON: String? {
        let kept = stored.filter(\.value.checkpointed).mapValues(\.json)
        return kept.isEmpty ? nil : JSONValue.object(kept).jsonText(pretty: false)
    }

    /// What a ledger keeps after a checkpoint: the values it `kept` (``checkpointJSON`` text) with each of `new`'s
    /// replacing the one of the same name whole — key by key at the top level, never merged deeper (a value whose
    /// optional field went back to `nil` must not keep the old field) — or `kept` as it was when `new` has none.
    public static func merging(kept: String?, new: String?) -> String? {
        guard let new else { return kept }
        var merged = AssetValues(checkpointJSON: kept)
        for (name, value) in AssetValues(checkpointJSON: new).stored { merged.stored[name] = value }
        return merged.checkpointJSON
    }

    /// The reported values by name, for the manifest and the report.
    public var reported: [String: JSONValue] { stored.filter(\.value.reported).mapValues(\.json) }
}

extension Asset {
    /// What reports show under `facts`: the stages' facts, and beside them every reported typed value by its name (a
    /// fact of the same name wins). The manifest, the run report and `exec` programs see this.
    public var reportedFacts: [String: JSONValue] {
        let reported = values.reported
        return reported.isEmpty ? facts : facts.merging(reported) { fact, _ in fact }
    }
}
