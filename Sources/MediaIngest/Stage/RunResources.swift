import Synchronization

/// Something several components of one run share — one HTTP connection pool, request pacer and retry budget per
/// Wix site, say — closed by the runner when the run ends.
public protocol RunResource: AnyObject, Sendable {
    /// Releases what the resource holds (connections). Called once, after every component's `finish`.
    func close() async
}

/// The resources the components of one run share, by key: the first component that asks for a key creates the
/// resource, later ones get the same instance. Keys name what makes two uses the same resource
/// (`"wix|https://www.wixapis.com|site-id|key-fingerprint"`); a component that wants its own uses its own key.
public final class RunResources: Sendable {
    // A dictionary behind a lock: components ask from `prepare`, which the runner calls one after another, but
    // nothing in the contract forbids asking later, from concurrent `process` calls.
    private let entries = Mutex<[String: any RunResource]>([:])

    /// An empty set.
    public init() {}

    /// The resource for `key`, made by `make` if there is none yet.
    /// - Throws: what `make` throws (nothing is stored then).
    public func shared<Resource: RunResource>(_ key: String, make: () throws -> Resource) throws -> Resource {
        try entries.withLock { entries in
            if let existing = entries[key] as? Resource { return existing }
            let created = try make()
            entries[key] = created
            return created
        }
    }

    /// Closes every resource and forgets them (the runner calls it at the end of the run).
    public func closeAll() async {
        let all = entries.withLock { entries in
            defer { entries = [:] }
            return Array(entries.values)
        }
        for resource in all { await resource.close() }
    }
}
