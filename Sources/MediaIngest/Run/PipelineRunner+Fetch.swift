import Foundation
import Logging

extension PipelineRunner {
    /// Brings the bytes of an asset whose source keeps them out of reach (a ``FetchingSource``: remote storage) into
    /// its work folder, before the first stage. Runs after the ledger said the asset needs processing, so an unchanged
    /// object costs no download; what the fetch throws goes through ``ErrorPolicy`` under the source's kind. In a dry
    /// run too: the plan shows what the stages would say of the bytes.
    func fetch(_ asset: Asset, worker: Int, context: PipelineContext, workFolders: WorkFolders) async -> Step {
        guard asset.contentPath == nil, pipeline.sources.indices.contains(asset.sourceIndex),
            let source = pipeline.sources[asset.sourceIndex].value as? any FetchingSource
        else { return .next(asset, ran: false) }
        let component = pipeline.sources[asset.sourceIndex]
        var logger = context.logger
        logger[metadataKey: "asset"] = "\(asset.displayPath)"
        logger[metadataKey: "stage"] = "\(component.name)"
        if Task.isCancelled {
            return .finished(
                AssetResult(
                    asset: asset, status: .failed, stage: component.name,
                    failure: AssetFailure(
                        code: .interrupted, message: "interrupted before it was fetched", stage: component.kind)))
        }
        let stageContext = StageContext(
            pipeline: context, logger: logger, worker: worker, stageName: component.name,
            assetWorkDirectory: context.workDirectory + "/\(asset.id)", ledger: options.ledger,
            workFolders: workFolders)
        do {
            return .next(try await source.fetch(asset, context: stageContext), ran: false)
        } catch {
            return .finished(
                Self.result(
                    of: error, asset: asset, stage: (component.name, component.kind), logger: logger,
                    control: context.control))
        }
    }
}
