/// A source whose files live where stages cannot open them — remote storage — so it brings each asset's bytes into
/// the work folder itself, and moves or deletes the original for `source.archive`.
///
/// The runner calls ``fetch(_:context:)`` after the ledger said the asset needs processing (an unchanged object costs
/// no download) and before the first stage; what it throws goes through ``ErrorPolicy`` like a stage's error, under
/// the source's kind. The fetched copy is the asset's ``Asset/contentPath``; the original is never changed, and is
/// moved or deleted only by ``archive(_:to:context:)``, which `source.archive` calls after a confirmed upload.
public protocol FetchingSource: AssetSource {
    /// The asset with its bytes in a work file (``StageContext/makeWorkFile(named:sizeHint:)``) as its content.
    /// A copy whose size or digest disagrees with what the listing said must throw (trouble that may pass: the object
    /// changed meanwhile), never be returned.
    func fetch(_ asset: Asset, context: StageContext) async throws -> Asset

    /// Moves the original under `destination` (its relative path kept, never overwriting), or deletes it when
    /// `destination` is `nil`. Returns where it went (`nil` after a delete). A move that fails must leave the
    /// original where it was.
    func archive(_ asset: Asset, to destination: String?, context: StageContext) async throws -> String?
}

extension PipelineContext {
    /// The source that listed `asset` (``Asset/sourceIndex``), when the runner gave the context its sources.
    public func source(of asset: Asset) -> (any AssetSource)? {
        sources.indices.contains(asset.sourceIndex) ? sources[asset.sourceIndex] : nil
    }
}
