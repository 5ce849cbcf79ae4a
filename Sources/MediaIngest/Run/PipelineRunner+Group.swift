import Foundation

extension PipelineRunner {
    /// One member of a group on its way through the stages.
    private struct Member {
        var asset: Asset
        /// Set once the member left the pipeline (skipped by the ledger, rejected, failed).
        var result: AssetResult?
        var lastStage: String?
        let workFolders = WorkFolders()
    }

    /// Takes the members of a group (a Live Photo's still and video) through the stages side by side, in one worker:
    /// each stage runs for every member still going before the next stage starts.
    ///
    /// The group is one unit for the user, so no member is reported done while another failed:
    /// - A member that **fails** (trouble that may pass) stops the others before any post-processing stage (the
    ///   archive), and fails them with `pair_incomplete`: the next run retries the whole group, and what was already
    ///   uploaded is found again through the ledger instead of being sent twice.
    /// - A member that is **rejected** (a verdict about its bytes) does not hold the others back: they finish, and the
    ///   manifest says the group is incomplete.
    /// - Members the ledger skips (done in an earlier run) count as done; their target is read from the ledger for the
    ///   links.
    ///
    /// Every member that leaves gets `facts.<group kind>` (`facts.livePhoto`): its role, its partner's path and target
    /// id (`pair`), and whether the group is complete.
    func processGroup(
        _ assets: [Asset], worker: Int, context: PipelineContext, observer: (any RunObserver)?
    ) async -> [AssetResult] {
        let began = ContinuousClock.now
        var members: [Member] = []
        for asset in assets {
            switch await begin(asset, context: context) {
            case .finished(let result):
                members.append(Member(asset: asset, result: result))
            case .next(let started, _):
                observer?.assetStarted(started)
                members.append(Member(asset: started))
            }
        }
        defer {
            for member in members { removeWorkFolders(of: member.asset, member.workFolders, context: context) }
        }

        for index in members.indices where members[index].result == nil {
            switch await fetch(
                members[index].asset, worker: worker, context: context, workFolders: members[index].workFolders)
            {
            case .next(let fetched, _): members[index].asset = fetched
            case .finished(let result): members[index].result = result
            }
        }
        stages: for stage in pipeline.stages {
            // Nothing is archived (or otherwise post-processed) while a partner failed.
            if stage.phase >= .post, members.contains(where: { $0.result?.status == .failed }) { break stages }
            for index in members.indices where members[index].result == nil {
                switch await step(
                    stage, members[index].asset, worker: worker, context: context,
                    workFolders: members[index].workFolders)
                {
                case .next(let next, let ran):
                    members[index].asset = next
                    if ran { members[index].lastStage = stage.name }
                case .finished(let result):
                    members[index].result = result
                }
            }
        }

        let failure = members.lazy.compactMap(\.result).first { $0.status == .failed }
        for index in members.indices where members[index].result == nil {
            let member = members[index]
            if let failure {
                let partner = failure.asset.displayPath
                members[index].result = AssetResult(
                    asset: member.asset, status: .failed, stage: member.lastStage,
                    failure: AssetFailure(
                        code: "pair_incomplete",
                        message:
                            "\(member.asset.displayPath.displaySafe) waits for \(partner.displaySafe), which failed (\(failure.failure?.description.displaySafe ?? "?")); the next run retries both",
                        stage: member.lastStage))
            } else {
                members[index].result = Self.leaving(member.asset, stage: member.lastStage, logger: context.logger)
            }
        }

        var results = members.compactMap(\.result)
        var recordedTargets: [String: String] = [:]
        for result in results where result.status == .skipped && result.asset.duplicateOf == nil {
            if let id = try? await options.ledger?.recordedTargetID(forKey: result.asset.ledgerKey) {
                recordedTargets[result.asset.ledgerKey] = id
            }
        }
        for index in results.indices where results[index].wasProcessed {
            guard let kind = results[index].asset.group?.kind else { continue }
            results[index].asset.facts[kind.rawValue] = Self.groupFacts(
                for: results[index], among: results, recordedTargets: recordedTargets)
            results[index] = results[index].took(since: began)
        }
        return results
    }

    /// `facts.<group kind>` of one member: its role, how the group was found, and each partner's path, target id and
    /// status (`pair` is the partner's target id when there is one partner).
    static func groupFacts(
        for result: AssetResult, among results: [AssetResult], recordedTargets: [String: String]
    ) -> JSONValue {
        let partners = results.filter { $0.asset.id != result.asset.id }
        func targetID(_ partner: AssetResult) -> String? {
            partner.asset.duplicateOf ?? partner.asset.target?.id ?? recordedTargets[partner.asset.ledgerKey]
        }
        func isComplete(_ partner: AssetResult) -> Bool {
            partner.status == .done || partner.status == .planned
                || (partner.status == .skipped && (partner.asset.duplicateOf != nil || targetID(partner) != nil))
        }
        var facts: [String: JSONValue] = [
            "role": .string(result.asset.group?.role ?? "member"),
            "pairedBy": .string(result.asset.group?.pairedBy ?? "?"),
            "complete": .bool(
                result.status != .failed && result.status != .rejected && partners.allSatisfy(isComplete)),
        ]
        let described: [JSONValue] = partners.map { partner in
            var entry: [String: JSONValue] = [
                "path": .string(partner.asset.displayPath), "status": .string(partner.status.rawValue),
                "role": .string(partner.asset.group?.role ?? "member"),
            ]
            if let id = targetID(partner) { entry["id"] = .string(id) }
            if let reason = partner.rejection?.description ?? partner.failure?.description {
                entry["reason"] = .string(reason)
            }
            return .object(entry)
        }
        if partners.count == 1, let partner = partners.first {
            facts["pair"] = targetID(partner).map { .string($0) } ?? .null
            facts["pairPath"] = .string(partner.asset.displayPath)
        }
        facts["members"] = .array(described)
        return .object(facts)
    }
}
