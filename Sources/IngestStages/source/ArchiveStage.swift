import Foundation
import Logging
import MediaIngest

/// `source.archive`: moves (or deletes) each source file, but only once its upload is confirmed — READY at Wix (so
/// `wix.await-ready` must run before it) or stored in the library. An unconfirmed asset fails with `not_confirmed`
/// and stays where it is; the next run looks the upload up through the ledger instead of uploading it again.
///
/// The asset's sidecars (XMP, AAE, Takeout JSON, a Live Photo video left out) go with it, to the same relative place,
/// right after it: the media's move is the one that counts; a sidecar that cannot be moved stays (with a warning and
/// a fact), and the next run reports it as an orphan.
public struct ArchiveStage: Stage, StageDefinition {
    public static let kind = "source.archive"
    public static let sourceFile: String? = #filePath
    public static let codes: [DocumentedCode] = [
        .failure("not_confirmed", "no confirmed upload to archive after")
    ]
    public static let phase = StagePhase.post
    public static let summary =
        "After the upload is confirmed (READY), move the source file to an archive folder keeping its relative path, or delete it."

    public enum Mode: String, OptionEnum {
        case move
        case delete
    }

    static let mode = StageOption<Mode>(
        "mode", default: .move,
        doc: "\"move\" into `to`, keeping the path relative to the source folder; \"delete\" removes the source.")
    static let destination = StageOption<PathOption?>(
        "to",
        doc:
            "The archive folder (required for mode \"move\"). For a source.remote object: `remote:path`, or a path on the source's own remote."
    )
    public static let options = [mode.spec, destination.spec]

    let archiveMode: Mode
    let archivePath: String?
    /// `to` as written: for a remote object, `remote:path` or a path on the source's own remote.
    let archiveWritten: String?

    public init(options: OptionValues, context: StageBuildContext) throws {
        archiveMode = try options[Self.mode]
        archivePath = try options[Self.destination]?.path
        archiveWritten = try options[Self.destination]?.written
        if archiveMode == .move && archivePath == nil {
            throw options.error(
                Self.destination, "mode \"move\" needs a destination folder", suggestion: "add \"to\": \"archive\"")
        }
    }

    public func process(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        let path: String
        let relativePath: String
        switch asset.origin {
        case .file(let file, _, let relative):
            (path, relativePath) = (file, relative)
        case .remote:
            return try await archiveRemote(asset, context: context)
        case .url:
            return .next(asset)
        }
        try await confirm(asset, context: context)
        var asset = asset
        switch archiveMode {
        case .delete:
            try FileSystem.removeItem(path)
            asset.facts["archive"] = ["deleted": .bool(true)]
            asset.sourceArchived = true
            context.logger.debug("deleted source", metadata: ["file": "\(asset.displayPath)"])
        case .move:
            guard let archivePath else { return .next(asset) }
            let destination = try Self.place(path, relativePath: relativePath, under: archivePath)
            asset.facts["archive"] = ["movedTo": .string(destination)]
            asset.sourceArchived = true
            context.logger.debug("archived source", metadata: ["file": "\(asset.displayPath)", "to": "\(destination)"])
        }
        if !asset.sidecars.isEmpty { archiveSidecars(of: &asset, context: context) }
        // The source is gone from the source folder: the ledger must say done now, not when the pipeline ends, or a
        // crash in between would leave a row in flight that no later run can see again.
        try await context.checkpoint(asset)
        return .next(asset)
    }

    /// Only a confirmed upload lets a source go; and only the run that holds the asset moves it: a process frozen past
    /// its lease must not archive a file another host took over.
    func confirm(_ asset: Asset, context: StageContext) async throws {
        guard let target = asset.target, target.confirmed else {
            throw NotConfirmed(path: asset.displayPath, status: asset.target?.status)
        }
        try await context.pipeline.ledger?.confirmClaim(asset)
    }

    /// A remote object: its source moves it (to `to` as written — `remote:path`, or a path on the source's remote) or
    /// deletes it. A failed move leaves it where it is and fails the asset (retried); it never deletes.
    func archiveRemote(_ asset: Asset, context: StageContext) async throws -> StageOutcome {
        guard let source = context.pipeline.source(of: asset) as? any FetchingSource else {
            throw IOFailure("\(asset.displayPath.displaySafe): no source to archive this remote object through")
        }
        try await confirm(asset, context: context)
        var asset = asset
        let destination = archiveMode == .move ? archiveWritten : nil
        if archiveMode == .move && destination == nil { return .next(asset) }
        let placed = try await source.archive(asset, to: destination, context: context)
        asset.facts["archive"] = placed.map { ["movedTo": .string($0)] } ?? ["deleted": .bool(true)]
        asset.sourceArchived = true
        try await context.checkpoint(asset)
        return .next(asset)
    }

    /// Moves `path` to its place under the archive (its relative path, never overwriting); returns where it went.
    static func place(_ path: String, relativePath: String, under archivePath: String) throws -> String {
        let destination = try freeDestination(for: archivePath + "/" + relativePath)
        try FileSystem.createDirectory((destination as NSString).deletingLastPathComponent)
        try FileSystem.move(path, to: destination)
        return destination
    }

    /// Moves or deletes the asset's sidecars after the asset itself; what cannot be is logged and left.
    func archiveSidecars(of asset: inout Asset, context: StageContext) {
        var done: [JSONValue] = []
        var left: [JSONValue] = []
        for sidecar in asset.sidecars {
            do {
                switch archiveMode {
                case .delete:
                    try FileSystem.removeItem(sidecar.path)
                    done.append(.string(sidecar.relativePath))
                case .move:
                    guard let archivePath else { continue }
                    done.append(
                        .string(try Self.place(sidecar.path, relativePath: sidecar.relativePath, under: archivePath)))
                }
            } catch {
                left.append(.string(sidecar.relativePath))
                context.logger.warning(
                    "cannot archive a sidecar with its media; it stays in the source folder",
                    metadata: ["sidecar": "\(sidecar.relativePath)", "reason": "\(FileSystem.describe(error))"])
            }
        }
        var facts = asset.facts["archive"]?.objectValue ?? [:]
        facts[archiveMode == .delete ? "sidecarsDeleted" : "sidecarsMovedTo"] = .array(done)
        if !left.isEmpty { facts["sidecarsLeft"] = .array(left) }
        asset.facts["archive"] = .object(facts)
    }

    /// `path`, or `name (1).ext`, `name (2).ext`… when something is already there: an archive never overwrites.
    static func freeDestination(for path: String) throws -> String {
        for index in 0..<10_000 {
            let candidate = NumberedName.candidate(path, index)
            if !FileSystem.exists(candidate) { return candidate }
        }
        throw FileError(path: path, operation: "find a free name in the archive for", code: EEXIST)
    }
}

/// The upload of an asset is not confirmed (READY), so its source must stay.
struct NotConfirmed: Error, AssetFailureDescribing {
    var path: String
    var status: String?
    var failureCode: AssetFailure.Code { "not_confirmed" }
    var failureMessage: String {
        "\(path) stays in place: its upload is not confirmed (status \(status ?? "none")); put wix.await-ready before source.archive"
    }
}
